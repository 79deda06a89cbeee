package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ward-fhir/ward/storage"
)

// searchCursorFormat is the first byte of a search cursor. History cursors
// start with cursorFormat, so neither is mistaken for the other.
const searchCursorFormat = 0x53

// secretSize is the length of a snapshot's random secret. A cursor must
// carry it, so that a client cannot read another client's snapshot by
// guessing its number.
const secretSize = 16

// searchCursor points into a snapshot: the page after position anchor
// (next), or the page before it (prev).
type searchCursor struct {
	dir      direction
	searchID int64
	secret   []byte
	anchor   int64
}

func (c searchCursor) encode() string {
	b := make([]byte, 0, 32)
	b = append(b, searchCursorFormat, byte(c.dir))
	b = binary.AppendUvarint(b, uint64(c.searchID)) // #nosec G115 -- search ids are SQLite rowids, which are positive
	b = append(b, c.secret...)
	b = binary.AppendUvarint(b, uint64(c.anchor)) // #nosec G115 -- positions start at 0; a negative one is only in a forged cursor, which then fails to match
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSearchCursor(s string) (searchCursor, error) {
	invalid := func(reason string) error {
		return fmt.Errorf("sqlite: search cursor %q %s: %w", s, reason, storage.ErrInvalidCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return searchCursor{}, invalid("is not base64url")
	}
	if len(b) < 2 || b[0] != searchCursorFormat {
		return searchCursor{}, invalid("has an unknown format")
	}
	c := searchCursor{dir: direction(b[1])}
	if c.dir != older && c.dir != newer {
		return searchCursor{}, invalid("has an unknown direction")
	}
	rest := b[2:]

	var ok bool
	if c.searchID, rest, ok = readUvarint(rest); !ok {
		return searchCursor{}, invalid("has a truncated search number")
	}
	if len(rest) < secretSize {
		return searchCursor{}, invalid("has a truncated secret")
	}
	c.secret, rest = rest[:secretSize], rest[secretSize:]
	if c.anchor, rest, ok = readUvarint(rest); !ok {
		return searchCursor{}, invalid("has a truncated position")
	}
	if len(rest) != 0 {
		return searchCursor{}, invalid(fmt.Sprintf("has %d trailing bytes", len(rest)))
	}
	return c, nil
}

// queryHash identifies the matches and order of q: its types, filter and
// sort, not its page size, cursor or _total.
func queryHash(q storage.Query) ([]byte, error) {
	b, err := json.Marshal(struct {
		Types  []string
		Filter []storage.Clause
		Sort   []storage.Sort
	}{q.Types, q.Filter, q.Sort})
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: hash query: %w", err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// snapshot is one row of search_snapshots.
type snapshot struct {
	id     int64
	secret []byte
	total  int64
}

// maxExpiredPerCleanup bounds how many expired snapshots one new snapshot
// removes, so that the cost of cleaning up is spread over many searches.
const maxExpiredPerCleanup = 4

// snapshotFirstPage stores q's ordered matches as a new snapshot in tx and
// returns its first page.
func (s *Store) snapshotFirstPage(ctx context.Context, tx *sql.Tx, q storage.Query) (storage.SearchPage, error) {
	now := s.now()
	if err := removeExpiredSnapshots(ctx, tx, now.UnixMilli()); err != nil {
		return storage.SearchPage{}, err
	}

	hash, err := queryHash(q)
	if err != nil {
		return storage.SearchPage{}, err
	}
	snap := snapshot{secret: make([]byte, secretSize)}
	rand.Read(snap.secret)
	err = tx.QueryRowContext(ctx,
		`INSERT INTO search_snapshots (secret, query_hash, total, expires) VALUES (?, ?, 0, ?) RETURNING search_id`,
		snap.secret, hash, now.Add(s.snapshotTTL).UnixMilli()).Scan(&snap.id)
	if err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: create snapshot: %w", err)
	}

	c := &compiler{now: now}
	from, where, order, err := s.compileMatches(c, q)
	if err != nil {
		return storage.SearchPage{}, err
	}
	// #nosec G202 -- the compiled parts hold only SQL that Ward writes; every client value is a bound parameter in c.args
	insert := "INSERT INTO search_results (search_id, pos, rid) SELECT " + c.bind(snap.id) +
		", row_number() OVER (ORDER BY " + order + "), r.rid FROM " + from + " WHERE " + where
	result, err := tx.ExecContext(ctx, insert, c.args...)
	if err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: fill snapshot: %w", err)
	}
	if snap.total, err = result.RowsAffected(); err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: count snapshot: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE search_snapshots SET total = ? WHERE search_id = ?`, snap.total, snap.id); err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: record snapshot total: %w", err)
	}

	return readSnapshotPage(ctx, tx, q, snap, searchCursor{dir: older, anchor: 0}, false)
}

// removeExpiredSnapshots deletes a few snapshots that expired before
// nowMillis, with their results.
func removeExpiredSnapshots(ctx context.Context, tx *sql.Tx, nowMillis int64) error {
	rows, err := tx.QueryContext(ctx,
		`SELECT search_id FROM search_snapshots WHERE expires < ? ORDER BY expires LIMIT ?`, nowMillis, maxExpiredPerCleanup)
	if err != nil {
		return fmt.Errorf("sqlite: search: find expired snapshots: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close() // the scan error is the one to report
			return fmt.Errorf("sqlite: search: find expired snapshots: %w", err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("sqlite: search: find expired snapshots: %w", err)
	}

	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_results WHERE search_id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: search: remove expired snapshot %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_snapshots WHERE search_id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: search: remove expired snapshot %d: %w", id, err)
		}
	}
	return nil
}

// pageFromCursor reads the page that q.Cursor points to.
func (s *Store) pageFromCursor(ctx context.Context, tx *sql.Tx, q storage.Query) (storage.SearchPage, error) {
	c, err := decodeSearchCursor(q.Cursor)
	if err != nil {
		return storage.SearchPage{}, err
	}
	hash, err := queryHash(q)
	if err != nil {
		return storage.SearchPage{}, err
	}

	snap := snapshot{id: c.searchID}
	var storedHash []byte
	var expires int64
	err = tx.QueryRowContext(ctx,
		`SELECT secret, query_hash, total, expires FROM search_snapshots WHERE search_id = ?`, c.searchID).
		Scan(&snap.secret, &storedHash, &snap.total, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.SearchPage{}, fmt.Errorf("sqlite: search cursor %q: its search has expired or never existed: %w", q.Cursor, storage.ErrInvalidCursor)
	case err != nil:
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: read snapshot %d: %w", c.searchID, err)
	}
	switch {
	case !bytes.Equal(snap.secret, c.secret):
		return storage.SearchPage{}, fmt.Errorf("sqlite: search cursor %q: its search has expired or never existed: %w", q.Cursor, storage.ErrInvalidCursor)
	case !bytes.Equal(storedHash, hash):
		return storage.SearchPage{}, fmt.Errorf("sqlite: search cursor %q was issued for another query: %w", q.Cursor, storage.ErrInvalidCursor)
	case expires < s.now().UnixMilli():
		return storage.SearchPage{}, fmt.Errorf("sqlite: search cursor %q has expired: %w", q.Cursor, storage.ErrInvalidCursor)
	case c.anchor > snap.total+1:
		return storage.SearchPage{}, fmt.Errorf("sqlite: search cursor %q points beyond its %d matches: %w", q.Cursor, snap.total, storage.ErrInvalidCursor)
	}
	return readSnapshotPage(ctx, tx, q, snap, c, true)
}

// readSnapshotPage reads up to q.Count matches on c's side of c.anchor, in
// snapshot order, and builds the cursors around them. Resources deleted
// since the snapshot was taken are left out; the others show their
// current version.
func readSnapshotPage(ctx context.Context, tx *sql.Tx, q storage.Query, snap snapshot, c searchCursor, viaCursor bool) (storage.SearchPage, error) {
	cond, order := "sr.pos > ?", "sr.pos ASC"
	if c.dir == newer {
		cond, order = "sr.pos < ?", "sr.pos DESC"
	}
	// #nosec G202 -- cond and order are fixed strings chosen above; values are bound
	rows, err := tx.QueryContext(ctx,
		"SELECT "+resultColumns+", sr.pos FROM "+withBody("search_results sr CROSS JOIN resources r ON r.rid = sr.rid")+
			" WHERE sr.search_id = ? AND "+cond+" AND r.deleted = 0 ORDER BY "+order+" LIMIT ?",
		snap.id, c.anchor, q.Count+1)
	if err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: read snapshot %d: %w", snap.id, err)
	}
	defer rows.Close()

	var matches []storage.Resource
	var positions []int64
	for rows.Next() {
		var pos int64
		r, err := scanMatch(rows, &pos)
		if err != nil {
			return storage.SearchPage{}, err
		}
		matches = append(matches, r)
		positions = append(positions, pos)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: read snapshot %d: %w", snap.id, err)
	}

	more := len(matches) > q.Count
	if more {
		matches, positions = matches[:q.Count], positions[:q.Count]
	}
	if c.dir == newer {
		slices.Reverse(matches)
		slices.Reverse(positions)
	}

	page := storage.SearchPage{Matches: matches, Total: -1}
	if wantsTotal(q) {
		page.Total = int(snap.total)
	}
	at := func(dir direction, anchor int64) string {
		return searchCursor{dir: dir, searchID: snap.id, secret: snap.secret, anchor: anchor}.encode()
	}

	if len(matches) == 0 {
		// Only a cursor past the end of its side gets here; the way back
		// starts beyond the anchor so that it includes the anchor.
		switch {
		case !viaCursor:
		case c.dir == older:
			page.PrevCursor = at(newer, c.anchor+1)
		default:
			page.NextCursor = at(older, c.anchor-1)
		}
		return page, nil
	}

	laterLeft, earlierLeft := more, viaCursor && c.anchor > 0
	if c.dir == newer {
		laterLeft, earlierLeft = true, more
	}
	if laterLeft {
		page.NextCursor = at(older, positions[len(positions)-1])
	}
	if earlierLeft {
		page.PrevCursor = at(newer, positions[0])
	}
	return page, nil
}
