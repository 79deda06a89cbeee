package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// History returns one page of versions in the order (last_updated DESC,
// seq DESC). The first page records the largest seq as its snapshot, and
// every cursor carries it, so later pages ignore rows written since.
func (s *Store) History(ctx context.Context, q storage.HistoryQuery) (storage.HistoryPage, error) {
	if err := validateHistoryQuery(q); err != nil {
		return storage.HistoryPage{}, err
	}
	fingerprint := queryFingerprint(q)

	var c cursor
	if q.Cursor != "" {
		var err error
		if c, err = decodeCursor(q.Cursor, fingerprint); err != nil {
			return storage.HistoryPage{}, err
		}
	}

	// One read transaction reads from one WAL snapshot, so the snapshot
	// bound, the count and the page agree with each other.
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return storage.HistoryPage{}, fmt.Errorf("sqlite: history: begin: %w", err)
	}
	defer tx.Rollback()

	if q.Cursor == "" {
		c.query = fingerprint
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM history`).Scan(&c.snapshotSeq); err != nil {
			return storage.HistoryPage{}, fmt.Errorf("sqlite: history: read snapshot bound: %w", err)
		}
	}
	where, args := historyFilter(q, c.snapshotSeq)

	if q.Cursor == "" {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+historySource(q)+` WHERE `+where, args...).Scan(&c.total); err != nil {
			return storage.HistoryPage{}, fmt.Errorf("sqlite: history: count: %w", err)
		}
	}

	rows, more, err := queryPage(ctx, tx, q, c, where, args)
	if err != nil {
		return storage.HistoryPage{}, err
	}

	page := storage.HistoryPage{Total: int(c.total)}
	page.NextCursor, page.PrevCursor = pageCursors(q.Cursor != "", c, rows, more)
	for _, r := range rows {
		page.Versions = append(page.Versions, r.Resource)
	}
	return page, nil
}

func validateHistoryQuery(q storage.HistoryQuery) error {
	if q.Count <= 0 {
		return fmt.Errorf("sqlite: history: count %d is invalid, want a positive page size", q.Count)
	}
	if q.Type == "" && q.ID != "" {
		return fmt.Errorf("sqlite: history: id %q given without a resource type", q.ID)
	}
	if q.AtLow.IsZero() != q.AtHigh.IsZero() {
		return fmt.Errorf("sqlite: history: _at range [%s, %s] is half set, want both ends or neither",
			q.AtLow.Format(time.RFC3339Nano), q.AtHigh.Format(time.RFC3339Nano))
	}
	if q.AtHigh.Before(q.AtLow) {
		return fmt.Errorf("sqlite: history: _at range [%s, %s] ends before it starts",
			q.AtLow.Format(time.RFC3339Nano), q.AtHigh.Format(time.RFC3339Nano))
	}
	return nil
}

// sinceMillis returns the smallest stored millisecond at or after q.Since,
// or math.MinInt64 when Since is unset.
func sinceMillis(q storage.HistoryQuery) int64 {
	if q.Since.IsZero() {
		return math.MinInt64
	}
	millis := q.Since.UnixMilli()
	if q.Since.Nanosecond()%int(time.Millisecond) != 0 {
		millis++
	}
	return millis
}

// atMillis returns t in milliseconds, rounded down, or math.MinInt64 when t
// is unset. Rounding down is exact for both ends of _at because stored
// times are whole milliseconds: last_updated <= t holds exactly when it
// holds for floor(t), and so does ended > t.
func atMillis(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

// historyFilter returns the WHERE clause, without ORDER BY or paging, that
// selects the versions of q within the snapshot.
func historyFilter(q storage.HistoryQuery, snapshotSeq int64) (string, []any) {
	conds := []string{"seq <= ?"}
	args := []any{snapshotSeq}

	if q.Type != "" {
		conds = append(conds, "type = ?")
		args = append(args, q.Type)
	}
	if q.ID != "" {
		conds = append(conds, "id = ?")
		args = append(args, q.ID)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "last_updated >= ?")
		args = append(args, sinceMillis(q))
	}
	if !q.AtLow.IsZero() {
		// A version is current over [last_updated, ended). A next version
		// written after the snapshot does not end it, so pages keep the
		// validity the first page saw.
		conds = append(conds, "last_updated <= ?", "(ended IS NULL OR ended > ? OR next_seq > ?)")
		args = append(args, atMillis(q.AtHigh), atMillis(q.AtLow), snapshotSeq)
	}
	return strings.Join(conds, " AND "), args
}

// historySource names the history table with the index that serves q in
// history order. Without it, SQLite chooses a scan of the primary key for
// "seq <= ?", which reads every body to count system history, or the type
// index for instance history, which reads every version of the type.
func historySource(q storage.HistoryQuery) string {
	switch {
	case q.ID != "":
		return "history INDEXED BY history_by_instance"
	case q.Type != "":
		return "history INDEXED BY history_by_type"
	default:
		return "history INDEXED BY history_by_time"
	}
}

// historyRow is a version with its position in history order.
type historyRow struct {
	storage.Resource
	millis int64
	seq    int64
}

// queryPage reads up to q.Count rows on c's side of its anchor, in history
// order, and reports whether more rows lie beyond them on that side.
func queryPage(ctx context.Context, tx *sql.Tx, q storage.HistoryQuery, c cursor, where string, args []any) ([]historyRow, bool, error) {
	order := "last_updated DESC, seq DESC"
	if q.Cursor != "" {
		switch c.dir {
		case older:
			where += " AND (last_updated, seq) < (?, ?)"
		case newer:
			// Read towards newer rows from the anchor, nearest first, and
			// reverse afterwards.
			where += " AND (last_updated, seq) > (?, ?)"
			order = "last_updated ASC, seq ASC"
		}
		args = append(args, c.anchorMillis, c.anchorSeq)
	}
	args = append(args, q.Count+1)

	// #nosec G202 -- historySource, where and order are SQL that Ward writes; values are bound in args
	rs, err := tx.QueryContext(ctx,
		`SELECT type, id, version, last_updated, op, body, seq FROM `+historySource(q)+` WHERE `+where+
			` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: history: query page: %w", err)
	}
	defer rs.Close()

	var rows []historyRow
	for rs.Next() {
		var row historyRow
		var op string
		var body []byte
		if err := rs.Scan(&row.Type, &row.ID, &row.VersionID, &row.millis, &op, &body, &row.seq); err != nil {
			return nil, false, fmt.Errorf("sqlite: history: scan row: %w", err)
		}
		row.LastUpdated = time.UnixMilli(row.millis).UTC()
		row.Op = storage.Operation(op)
		row.Deleted = row.Op == storage.OpDelete
		if !row.Deleted {
			row.JSON = body
		}
		rows = append(rows, row)
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, false, fmt.Errorf("sqlite: history: read page: %w", err)
	}

	more := len(rows) > q.Count
	if more {
		rows = rows[:q.Count]
	}
	if q.Cursor != "" && c.dir == newer {
		slices.Reverse(rows)
	}
	return rows, more, nil
}

// pageCursors returns the NextCursor and PrevCursor of a page. viaCursor
// is false on the first page; more reports rows beyond the page on the
// side c.dir points to.
func pageCursors(viaCursor bool, c cursor, rows []historyRow, more bool) (next, prev string) {
	at := func(dir direction, millis, seq int64) string {
		return cursor{dir: dir, snapshotSeq: c.snapshotSeq, total: c.total,
			anchorMillis: millis, anchorSeq: seq, query: c.query}.encode()
	}

	if len(rows) == 0 {
		// Only a cursor pointing past the end of its side reaches here. The
		// way back starts just beyond the anchor so that it includes it.
		switch {
		case !viaCursor:
			return "", ""
		case c.dir == older:
			return "", at(newer, c.anchorMillis, c.anchorSeq-1)
		default:
			return at(older, c.anchorMillis, c.anchorSeq+1), ""
		}
	}

	first, last := rows[0], rows[len(rows)-1]
	olderLeft := more
	newerLeft := viaCursor
	if viaCursor && c.dir == newer {
		// Going back, the anchor lies on the older side and "more" counts
		// the newer side.
		olderLeft, newerLeft = true, more
	}

	if olderLeft {
		next = at(older, last.millis, last.seq)
	}
	if newerLeft {
		prev = at(newer, first.millis, first.seq)
	}
	return next, prev
}
