package mongo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
)

// History returns one page of versions in the order (lastUpdated DESC,
// seq DESC). The first page takes the largest seq in history as its
// snapshot, and its cursors carry it, so later pages ignore versions
// written since.
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
	} else {
		snapshot, err := s.historySnapshot(ctx)
		if err != nil {
			return storage.HistoryPage{}, err
		}
		c = cursor{query: fingerprint, snapshotSeq: snapshot}

		c.total, err = s.history.CountDocuments(ctx, historyFilter(q, snapshot))
		if err != nil {
			return storage.HistoryPage{}, fmt.Errorf("mongo: history: count versions: %w", err)
		}
	}

	rows, more, err := s.queryPage(ctx, q, c)
	if err != nil {
		return storage.HistoryPage{}, err
	}

	page := storage.HistoryPage{Total: int(c.total)}
	page.NextCursor, page.PrevCursor = pageCursors(q.Cursor != "", c, rows, more)
	for _, row := range rows {
		page.Versions = append(page.Versions, row.resource())
	}
	return page, nil
}

func validateHistoryQuery(q storage.HistoryQuery) error {
	if q.Count <= 0 {
		return fmt.Errorf("mongo: history: count %d is invalid, want a positive page size", q.Count)
	}
	if q.Type == "" && q.ID != "" {
		return fmt.Errorf("mongo: history: id %q given without a resource type", q.ID)
	}
	if q.AtLow.IsZero() != q.AtHigh.IsZero() {
		return fmt.Errorf("mongo: history: _at range [%s, %s] is half set, want both ends or neither",
			q.AtLow.Format(time.RFC3339Nano), q.AtHigh.Format(time.RFC3339Nano))
	}
	if q.AtHigh.Before(q.AtLow) {
		return fmt.Errorf("mongo: history: _at range [%s, %s] ends before it starts",
			q.AtLow.Format(time.RFC3339Nano), q.AtHigh.Format(time.RFC3339Nano))
	}
	return nil
}

// historySnapshot returns the sequence number that bounds a new paging
// snapshot, and every version up to it is complete when it is read. With
// transactions that holds because each commit writes the counter document,
// so commits happen in seq order. Without them, holding the write lock keeps
// this process's writes from being in flight meanwhile.
func (s *Store) historySnapshot(ctx context.Context) (int64, error) {
	if !s.transactions {
		select {
		case s.writeLock <- struct{}{}:
		case <-ctx.Done():
			return 0, fmt.Errorf("mongo: history: wait for the write lock: %w", ctx.Err())
		}
		defer func() { <-s.writeLock }()
	}

	seq, err := s.maxHistorySeq(ctx)
	if err != nil {
		return 0, fmt.Errorf("mongo: history: %w", err)
	}
	return seq, nil
}

// sinceMillis returns the smallest whole millisecond at or after since, or
// math.MinInt64 when since is unset. Stored times are whole milliseconds,
// so lastUpdated >= since holds exactly when it holds for this value.
func sinceMillis(since time.Time) int64 {
	if since.IsZero() {
		return math.MinInt64
	}
	millis := since.UnixMilli()
	if since.Nanosecond()%int(time.Millisecond) != 0 {
		millis++
	}
	return millis
}

// atMillis returns t in whole milliseconds, rounded down, or math.MinInt64
// when t is unset. Rounding down is exact for both ends of _at, because
// lastUpdated <= t and ended > t hold for a whole millisecond value exactly
// when they hold for floor(t).
func atMillis(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

// historyFilter selects the versions of q within the snapshot, without
// regard to paging.
func historyFilter(q storage.HistoryQuery, snapshotSeq int64) bson.D {
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$lte", Value: snapshotSeq}}}}
	if q.Type != "" {
		filter = append(filter, bson.E{Key: "type", Value: q.Type})
	}
	if q.ID != "" {
		filter = append(filter, bson.E{Key: "id", Value: q.ID})
	}

	var lastUpdated bson.D
	if !q.Since.IsZero() {
		lastUpdated = append(lastUpdated, bson.E{Key: "$gte", Value: bson.DateTime(sinceMillis(q.Since))})
	}
	if !q.AtLow.IsZero() {
		lastUpdated = append(lastUpdated, bson.E{Key: "$lte", Value: bson.DateTime(atMillis(q.AtHigh))})

		// A version is current over [lastUpdated, ended). A next version
		// written after the snapshot does not end it, so every page keeps
		// the validity that the first page saw.
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "ended", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "ended", Value: bson.D{{Key: "$gt", Value: bson.DateTime(atMillis(q.AtLow))}}}},
			bson.D{{Key: "nextSeq", Value: bson.D{{Key: "$gt", Value: snapshotSeq}}}},
		}})
	}
	if lastUpdated != nil {
		filter = append(filter, bson.E{Key: "lastUpdated", Value: lastUpdated})
	}
	return filter
}

// queryPage reads up to q.Count versions on c's side of its anchor, in
// history order, and reports whether more versions lie beyond them on that
// side.
func (s *Store) queryPage(ctx context.Context, q storage.HistoryQuery, c cursor) ([]historyDoc, bool, error) {
	filter := historyFilter(q, c.snapshotSeq)
	order := -1
	if q.Cursor != "" {
		compare := "$lt"
		if c.dir == newer {
			// Read towards newer versions from the anchor, nearest first,
			// and reverse afterwards.
			compare, order = "$gt", 1
		}
		anchor := bson.DateTime(c.anchorMillis)
		filter = bson.D{{Key: "$and", Value: bson.A{filter, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "lastUpdated", Value: bson.D{{Key: compare, Value: anchor}}}},
			bson.D{{Key: "lastUpdated", Value: anchor}, {Key: "_id", Value: bson.D{{Key: compare, Value: c.anchorSeq}}}},
		}}}}}}
	}

	cur, err := s.history.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "lastUpdated", Value: order}, {Key: "_id", Value: order}}).
		SetLimit(int64(q.Count)+1))
	if err != nil {
		return nil, false, fmt.Errorf("mongo: history: query page: %w", err)
	}
	var rows []historyDoc
	if err := cur.All(ctx, &rows); err != nil {
		return nil, false, fmt.Errorf("mongo: history: read page: %w", err)
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

// pageCursors returns the NextCursor and PrevCursor of a page. viaCursor is
// false on the first page; more reports versions beyond the page on the
// side that c.dir points to.
func pageCursors(viaCursor bool, c cursor, rows []historyDoc, more bool) (next, prev string) {
	at := func(dir direction, millis, seq int64) string {
		return cursor{dir: dir, snapshotSeq: c.snapshotSeq, total: c.total,
			anchorMillis: millis, anchorSeq: seq, query: c.query}.encode()
	}

	if len(rows) == 0 {
		// Only a cursor that points past the end of its side gets here. The
		// way back starts one seq beyond the anchor, so it includes the
		// anchor.
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
	olderLeft, newerLeft := more, viaCursor
	if viaCursor && c.dir == newer {
		// Going back, the anchor lies on the older side, and more counts
		// the newer side.
		olderLeft, newerLeft = true, more
	}
	if olderLeft {
		next = at(older, int64(last.LastUpdated), last.Seq)
	}
	if newerLeft {
		prev = at(newer, int64(first.LastUpdated), first.Seq)
	}
	return next, prev
}
