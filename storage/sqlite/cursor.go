package sqlite

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/ward-fhir/ward/storage"
)

// cursorFormat is the first byte of every encoded cursor; a new layout gets
// a new number so old cursors are rejected rather than misread.
const cursorFormat = 1

// direction is the side of the anchor that a page lies on, in history order
// (newest first).
type direction byte

const (
	older direction = 1 // the page after the anchor: NextCursor
	newer direction = 2 // the page before the anchor: PrevCursor
)

// cursor is the decoded form of a history page cursor. The anchor is the
// (last_updated, seq) key of the row next to the requested page, and the
// page excludes the anchor itself.
type cursor struct {
	dir          direction
	snapshotSeq  int64  // rows with a larger seq were written after the first page
	total        int64  // HistoryPage.Total of the first page
	anchorMillis int64  // anchor's last_updated
	anchorSeq    int64  // anchor's seq
	query        uint32 // queryFingerprint of the query that issued the cursor
}

// encode returns the cursor as unpadded URL-safe base64, so it can sit in a
// query string without escaping.
func (c cursor) encode() string {
	b := make([]byte, 0, 48)
	b = append(b, cursorFormat, byte(c.dir))
	b = binary.AppendUvarint(b, uint64(c.snapshotSeq)) // #nosec G115 -- seq values are positive SQLite rowids
	b = binary.AppendUvarint(b, uint64(c.total))       // #nosec G115 -- a total is a row count, never negative
	b = binary.AppendVarint(b, c.anchorMillis)
	b = binary.AppendUvarint(b, uint64(c.anchorSeq)) // #nosec G115 -- seq values are positive SQLite rowids
	b = binary.BigEndian.AppendUint32(b, c.query)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses s and checks that it belongs to a query with the
// fingerprint query.
func decodeCursor(s string, query uint32) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("sqlite: cursor %q is not base64url: %w", s, storage.ErrInvalidCursor)
	}
	if len(b) < 2 || b[0] != cursorFormat {
		return cursor{}, fmt.Errorf("sqlite: cursor %q has an unknown format: %w", s, storage.ErrInvalidCursor)
	}

	c := cursor{dir: direction(b[1])}
	if c.dir != older && c.dir != newer {
		return cursor{}, fmt.Errorf("sqlite: cursor %q has an unknown direction: %w", s, storage.ErrInvalidCursor)
	}
	rest := b[2:]

	var ok bool
	if c.snapshotSeq, rest, ok = readUvarint(rest); !ok {
		return cursor{}, fmt.Errorf("sqlite: cursor %q: snapshot is truncated: %w", s, storage.ErrInvalidCursor)
	}
	if c.total, rest, ok = readUvarint(rest); !ok {
		return cursor{}, fmt.Errorf("sqlite: cursor %q: total is truncated: %w", s, storage.ErrInvalidCursor)
	}
	millis, n := binary.Varint(rest)
	if n <= 0 {
		return cursor{}, fmt.Errorf("sqlite: cursor %q: anchor time is truncated: %w", s, storage.ErrInvalidCursor)
	}
	c.anchorMillis, rest = millis, rest[n:]
	if c.anchorSeq, rest, ok = readUvarint(rest); !ok {
		return cursor{}, fmt.Errorf("sqlite: cursor %q: anchor is truncated: %w", s, storage.ErrInvalidCursor)
	}
	if len(rest) != 4 {
		return cursor{}, fmt.Errorf("sqlite: cursor %q has %d trailing bytes, want 4: %w", s, len(rest), storage.ErrInvalidCursor)
	}
	c.query = binary.BigEndian.Uint32(rest)

	if c.query != query {
		return cursor{}, fmt.Errorf("sqlite: cursor %q was issued for another history query: %w", s, storage.ErrInvalidCursor)
	}
	// An anchor one past the snapshot is legal: an empty page's cursor uses
	// seq+1 so that the anchor row itself is included.
	if c.anchorSeq > c.snapshotSeq+1 {
		return cursor{}, fmt.Errorf("sqlite: cursor %q: anchor lies outside its snapshot: %w", s, storage.ErrInvalidCursor)
	}
	return c, nil
}

// readUvarint reads one uvarint that must fit in an int64.
func readUvarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || v > 1<<62 {
		return 0, b, false
	}
	return int64(v), b[n:], true
}

// queryFingerprint hashes the parts of a query that select versions, so a
// cursor cannot be replayed against another selection. Count is left out
// because a client may change the page size between pages.
func queryFingerprint(q storage.HistoryQuery) uint32 {
	h := fnv.New32a()
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(q.Type)))
	b = append(b, q.Type...)
	b = binary.AppendUvarint(b, uint64(len(q.ID)))
	b = append(b, q.ID...)
	for _, t := range []int64{sinceMillis(q), atMillis(q.AtLow), atMillis(q.AtHigh)} {
		b = binary.AppendVarint(b, t)
	}
	_, _ = h.Write(b) // hash.Hash writes never fail
	return h.Sum32()
}
