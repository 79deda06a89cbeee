package mongo

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/ward-fhir/ward/storage"
)

// cursorFormat is the first byte of an encoded cursor. A new layout takes a
// new number, so that cursors of the old one are rejected, not misread.
const cursorFormat = 1

// direction is the side of the anchor that a page lies on, in history order
// (newest first).
type direction byte

const (
	older direction = 1 // the page after the anchor, reached by NextCursor
	newer direction = 2 // the page before the anchor, reached by PrevCursor
)

// cursor is a decoded history page cursor. The anchor is the
// (lastUpdated, seq) key of the version next to the requested page; the
// page does not include the anchor.
type cursor struct {
	dir          direction
	snapshotSeq  int64  // versions with a larger seq were written after the first page
	total        int64  // HistoryPage.Total of the first page
	anchorMillis int64  // the anchor's lastUpdated in Unix milliseconds
	anchorSeq    int64  // the anchor's seq
	query        uint64 // queryFingerprint of the query that issued the cursor
}

// encode returns the cursor as unpadded base64url, which needs no escaping
// in a query string.
func (c cursor) encode() string {
	b := make([]byte, 0, 40)
	b = append(b, cursorFormat, byte(c.dir))
	// The seqs come from the version counter, which starts at 1, and total
	// is a document count, so none is negative. decodeCursor rejects values
	// above 1<<62.
	b = binary.AppendUvarint(b, uint64(c.snapshotSeq)) // #nosec G115 -- a seq, never negative (see above)
	b = binary.AppendUvarint(b, uint64(c.total))       // #nosec G115 -- a count, never negative
	b = binary.AppendVarint(b, c.anchorMillis)
	b = binary.AppendUvarint(b, uint64(c.anchorSeq)) // #nosec G115 -- a seq, never negative (see above)
	b = binary.BigEndian.AppendUint64(b, c.query)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses s and checks that it was issued for a query with the
// fingerprint query.
func decodeCursor(s string, query uint64) (cursor, error) {
	invalid := func(reason string) error {
		return fmt.Errorf("mongo: history cursor %q %s: %w", s, reason, storage.ErrInvalidCursor)
	}

	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, invalid("is not base64url")
	}
	if len(b) < 2 || b[0] != cursorFormat {
		return cursor{}, invalid("has an unknown format")
	}
	c := cursor{dir: direction(b[1])}
	if c.dir != older && c.dir != newer {
		return cursor{}, invalid("has an unknown direction")
	}
	rest := b[2:]

	var ok bool
	if c.snapshotSeq, rest, ok = readUvarint(rest); !ok {
		return cursor{}, invalid("has a truncated snapshot")
	}
	if c.total, rest, ok = readUvarint(rest); !ok {
		return cursor{}, invalid("has a truncated total")
	}
	millis, n := binary.Varint(rest)
	if n <= 0 {
		return cursor{}, invalid("has a truncated anchor time")
	}
	c.anchorMillis, rest = millis, rest[n:]
	if c.anchorSeq, rest, ok = readUvarint(rest); !ok {
		return cursor{}, invalid("has a truncated anchor")
	}
	if len(rest) != 8 {
		return cursor{}, invalid(fmt.Sprintf("ends with %d bytes, want the 8-byte query fingerprint", len(rest)))
	}
	c.query = binary.BigEndian.Uint64(rest)

	if c.query != query {
		return cursor{}, invalid("was issued for another history query")
	}
	// An empty page's cursor points one past the snapshot, so that the way
	// back includes the anchor itself.
	if c.anchorSeq > c.snapshotSeq+1 {
		return cursor{}, invalid("has an anchor outside its snapshot")
	}
	return c, nil
}

// readUvarint reads one uvarint that fits in an int64 with room to spare.
func readUvarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || v > 1<<62 {
		return 0, b, false
	}
	return int64(v), b[n:], true
}

// queryFingerprint hashes the parts of a query that select versions, so a
// cursor cannot be replayed against another selection. Count is not part of
// it, because a client may change the page size from page to page.
func queryFingerprint(q storage.HistoryQuery) uint64 {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(q.Type)))
	b = append(b, q.Type...)
	b = binary.AppendUvarint(b, uint64(len(q.ID)))
	b = append(b, q.ID...)
	for _, millis := range []int64{sinceMillis(q.Since), atMillis(q.AtLow), atMillis(q.AtHigh)} {
		b = binary.AppendVarint(b, millis)
	}

	h := fnv.New64a()
	_, _ = h.Write(b) // hash.Hash.Write never returns an error
	return h.Sum64()
}
