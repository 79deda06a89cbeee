package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// SearchLimits bound the cost of one search. A plan over a limit is
// rejected with an error wrapping storage.ErrTooCostly before it runs. A
// search that runs longer than Timeout is interrupted and fails the same
// way.
type SearchLimits struct {
	// MaxClauses counts the clauses of the whole plan, those inside chains
	// and _has included.
	MaxClauses int

	// MaxValues counts the OR-ed values of the whole plan, composite
	// components included.
	MaxValues int

	// MaxDepth is the deepest nesting of chains and _has:
	// subject:Patient.organization.name is 2.
	MaxDepth int

	// MaxSortKeys is the number of _sort keys.
	MaxSortKeys int

	// Timeout bounds the SQL statements of one Search call.
	Timeout time.Duration
}

// DefaultSearchLimits are the limits of a Store opened without
// WithSearchLimits. The depth allows one more link than the search
// package's default chain depth of 3.
var DefaultSearchLimits = SearchLimits{
	MaxClauses:  64,
	MaxValues:   1000,
	MaxDepth:    4,
	MaxSortKeys: 8,
	Timeout:     30 * time.Second,
}

func (l SearchLimits) withDefaults() SearchLimits {
	d := DefaultSearchLimits
	if l.MaxClauses > 0 {
		d.MaxClauses = l.MaxClauses
	}
	if l.MaxValues > 0 {
		d.MaxValues = l.MaxValues
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxSortKeys > 0 {
		d.MaxSortKeys = l.MaxSortKeys
	}
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	return d
}

// DefaultSnapshotTTL is how long the cursors of a paged search stay valid
// when WithSnapshotTTL is not given.
const DefaultSnapshotTTL = 30 * time.Minute

// errSearchTimeout is the cause of a search context whose Timeout passed.
var errSearchTimeout = errors.New("search timeout")

// Search runs a plan against the current versions. A first page that
// holds every match is read on a read-only connection. When more pages
// follow, the write connection stores the ordered matches as a snapshot
// (see docs/storage-sqlite.md) and every page, the first included, is read
// from it.
func (s *Store) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.limits.Timeout, errSearchTimeout)
	defer cancel()
	page, err := s.search(ctx, q)
	return page, s.searchError(ctx, err)
}

func (s *Store) search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	if err := s.checkQuery(q); err != nil {
		return storage.SearchPage{}, err
	}

	reader, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: begin: %w", err)
	}
	defer reader.Rollback()

	if q.Cursor != "" {
		return s.pageFromCursor(ctx, reader, q)
	}
	page, more, err := s.firstPage(ctx, reader, q)
	if err != nil || !more {
		return page, err
	}
	if err := reader.Rollback(); err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: end read: %w", err)
	}

	writer, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: begin snapshot: %w", err)
	}
	defer writer.Rollback()
	page, err = s.snapshotFirstPage(ctx, writer, q)
	if err != nil {
		return storage.SearchPage{}, err
	}
	if err := writer.Commit(); err != nil {
		return storage.SearchPage{}, fmt.Errorf("sqlite: search: commit snapshot: %w", err)
	}
	return page, nil
}

// searchInTx is Search inside a write transaction, which it reads and
// stores its snapshot in.
func (s *Store) searchInTx(ctx context.Context, tx *sql.Tx, q storage.Query) (storage.SearchPage, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.limits.Timeout, errSearchTimeout)
	defer cancel()

	page, err := func() (storage.SearchPage, error) {
		if err := s.checkQuery(q); err != nil {
			return storage.SearchPage{}, err
		}
		if q.Cursor != "" {
			return s.pageFromCursor(ctx, tx, q)
		}
		page, more, err := s.firstPage(ctx, tx, q)
		if err != nil || !more {
			return page, err
		}
		return s.snapshotFirstPage(ctx, tx, q)
	}()
	return page, s.searchError(ctx, err)
}

// searchError turns an interruption by the search timeout into
// storage.ErrTooCostly.
func (s *Store) searchError(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errSearchTimeout) {
		return fmt.Errorf("sqlite: search ran longer than %s (%v): %w", s.limits.Timeout, err, storage.ErrTooCostly)
	}
	return err
}

// checkQuery validates q and applies the cost limits.
func (s *Store) checkQuery(q storage.Query) error {
	if q.Count <= 0 {
		return fmt.Errorf("sqlite: search: count %d is invalid, want a positive page size", q.Count)
	}
	switch q.Total {
	case "", storage.TotalNone, storage.TotalEstimate, storage.TotalAccurate:
	default:
		return fmt.Errorf("sqlite: search: _total %q is not none, estimate or accurate", q.Total)
	}
	if len(q.Sort) > s.limits.MaxSortKeys {
		return fmt.Errorf("sqlite: search has %d sort keys, more than the limit of %d: %w", len(q.Sort), s.limits.MaxSortKeys, storage.ErrTooCostly)
	}

	var cost planCost
	if err := cost.add(q.Filter, 0); err != nil {
		return err
	}
	switch {
	case cost.clauses > s.limits.MaxClauses:
		return fmt.Errorf("sqlite: search has %d clauses, more than the limit of %d: %w", cost.clauses, s.limits.MaxClauses, storage.ErrTooCostly)
	case cost.values > s.limits.MaxValues:
		return fmt.Errorf("sqlite: search has %d values, more than the limit of %d: %w", cost.values, s.limits.MaxValues, storage.ErrTooCostly)
	case cost.depth > s.limits.MaxDepth:
		return fmt.Errorf("sqlite: search nests chains and _has %d deep, more than the limit of %d: %w", cost.depth, s.limits.MaxDepth, storage.ErrTooCostly)
	}
	return nil
}

// planCost counts what SearchLimits bound.
type planCost struct {
	clauses, values, depth int
}

func (pc *planCost) add(filter []storage.Clause, depth int) error {
	pc.depth = max(pc.depth, depth)
	for _, cl := range filter {
		pc.clauses++
		for _, v := range cl.Values {
			pc.values += max(1, len(v.Components))
		}

		conditions := 0
		if len(cl.Values) > 0 {
			conditions++
		}
		if cl.Missing != nil {
			conditions++
		}
		if cl.Chain != nil {
			conditions++
			if err := pc.add(cl.Chain.Filter, depth+1); err != nil {
				return err
			}
		}
		if cl.Has != nil {
			conditions++
			if cl.Has.Type == "" || cl.Has.Param == "" {
				return fmt.Errorf("sqlite: search: _has on %s needs a resource type and a parameter", cl.Param)
			}
			if err := pc.add(cl.Has.Filter, depth+1); err != nil {
				return err
			}
		}
		if conditions != 1 {
			return fmt.Errorf("sqlite: search: clause %s has %d of values, missing, chain and _has, want exactly one", cl.Param, conditions)
		}
		if cl.Param == "" && cl.Has == nil {
			return fmt.Errorf("sqlite: search: a clause has no parameter code")
		}
	}
	return nil
}

// resultColumns are the columns every page query reads, for scanMatch,
// from the resources row r and its current history row h (joined with
// withBody).
const resultColumns = "r.type, r.id, r.version, r.last_updated, r.op, h.body"

// withBody joins the history row of the current version, which holds the
// body, to a FROM clause with the resources row r.
func withBody(from string) string {
	return from + " CROSS JOIN history h ON h.seq = r.seq"
}

// compileMatches returns the FROM and WHERE of q's matches, with r the
// resources alias, and the ORDER BY list that gives their order.
func (s *Store) compileMatches(c *compiler, q storage.Query) (from, where, order string, err error) {
	from, where, err = c.scope(q.Types, q.Filter, "r")
	if err != nil {
		return "", "", "", err
	}
	order, err = c.orderBy(q.Types, q.Sort, "r")
	if err != nil {
		return "", "", "", err
	}
	return from, where, order, nil
}

// firstPage reads all of q's matches, in order, when they fit in one page.
// Otherwise it returns more = true and no page.
func (s *Store) firstPage(ctx context.Context, tx *sql.Tx, q storage.Query) (storage.SearchPage, bool, error) {
	// An unordered probe stops after Count+1 matches, where an ordered
	// query would have to find and sort every match first.
	probe := &compiler{now: s.now()}
	from, where, err := probe.scope(q.Types, q.Filter, "r")
	if err != nil {
		return storage.SearchPage{}, false, err
	}
	var found int
	err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM "+from+" WHERE "+where+" LIMIT "+probe.bind(q.Count+1)+")",
		probe.args...).Scan(&found)
	if err != nil {
		return storage.SearchPage{}, false, fmt.Errorf("sqlite: search: probe: %w", err)
	}
	if found > q.Count {
		return storage.SearchPage{}, true, nil
	}

	c := &compiler{now: probe.now}
	from, where, order, err := s.compileMatches(c, q)
	if err != nil {
		return storage.SearchPage{}, false, err
	}
	query := "SELECT " + resultColumns + " FROM " + withBody(from) + " WHERE " + where + " ORDER BY " + order
	matches, err := queryMatches(ctx, tx, query, c.args)
	if err != nil {
		return storage.SearchPage{}, false, err
	}

	page := storage.SearchPage{Matches: matches, Total: -1}
	if wantsTotal(q) {
		page.Total = len(matches)
	}
	return page, false, nil
}

func wantsTotal(q storage.Query) bool {
	return q.Total == storage.TotalAccurate || q.Total == storage.TotalEstimate
}

// queryMatches runs a query whose columns are resultColumns.
func queryMatches(ctx context.Context, tx *sql.Tx, query string, args []any) ([]storage.Resource, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: query: %w", err)
	}
	defer rows.Close()

	var matches []storage.Resource
	for rows.Next() {
		r, err := scanMatch(rows)
		if err != nil {
			return nil, err
		}
		matches = append(matches, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("sqlite: search: read matches: %w", err)
	}
	return matches, nil
}

// scanMatch reads resultColumns and any columns after them into extra.
func scanMatch(row scanner, extra ...any) (storage.Resource, error) {
	var r storage.Resource
	var millis int64
	var op string
	var body []byte
	dest := append([]any{&r.Type, &r.ID, &r.VersionID, &millis, &op, &body}, extra...)
	if err := row.Scan(dest...); err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: search: scan match: %w", err)
	}
	r.LastUpdated = time.UnixMilli(millis).UTC()
	r.Op = storage.Operation(op)
	r.JSON = body
	return r, nil
}

// orderBy returns the ORDER BY list for sorts on the resources row r. A
// resource without a value for a key sorts last in both directions. A
// resource with several values sorts by its lowest ascending and by its
// highest descending. Type and id break ties.
func (c *compiler) orderBy(types []string, sorts []storage.Sort, r string) (string, error) {
	var keys []string
	for _, sort := range sorts {
		expr, err := c.sortExpr(types, sort, r)
		if err != nil {
			return "", err
		}
		direction := " ASC"
		if sort.Descending {
			direction = " DESC"
		}
		keys = append(keys, expr+direction+" NULLS LAST")
	}
	keys = append(keys, r+".type", r+".id")
	return strings.Join(keys, ", "), nil
}

// sortExpr returns the value that a resource sorts by for one key.
func (c *compiler) sortExpr(types []string, sort storage.Sort, r string) (string, error) {
	if sort.Param == paramID {
		return r + ".id", nil
	}
	t := sort.Type
	if sort.Param == paramLastUpdated {
		t = storage.TypeDate
	}

	aggregate := "MIN"
	if sort.Descending {
		aggregate = "MAX"
	}
	e := c.alias("e")
	var column, filter string
	switch t {
	case storage.TypeString:
		column = e + ".text"
	case storage.TypeToken:
		column = e + ".code"
	case storage.TypeReference:
		column = "CASE WHEN " + e + ".ref_id != '' THEN " + e + ".ref_type || '/' || " + e + ".ref_id ELSE " + e + ".url END"
	case storage.TypeDate:
		column = e + ".lo"
		if sort.Descending {
			column = e + ".hi"
		}
	case storage.TypeNumber:
		column = e + ".num"
	case storage.TypeQuantity:
		// Quantities sort by the value as written, which every quantity
		// has, and not by the canonical copy.
		column = e + ".num"
		filter = " AND " + e + ".canonical = 0"
	case storage.TypeURI:
		column = e + ".uri"
	default:
		return "", fmt.Errorf("sqlite: cannot sort by %s parameter %s", t, sort.Param)
	}
	table, _ := tableOf(t)
	return "(SELECT " + aggregate + "(" + column + ") FROM " + table + " " + e + " WHERE " + e + ".rid = " + r + ".rid AND " + e + ".pid IN " +
		c.pids(types, sort.Param) + filter + ")", nil
}

// ReadMany returns the current, not deleted versions of refs that exist.
func (s *Store) ReadMany(ctx context.Context, refs []storage.Ref) ([]storage.Resource, error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read many: begin: %w", err)
	}
	defer tx.Rollback()
	return readMany(ctx, tx, refs)
}

// readManyBatch bounds the refs of one statement.
const readManyBatch = 200

func readMany(ctx context.Context, tx *sql.Tx, refs []storage.Ref) ([]storage.Resource, error) {
	var out []storage.Resource
	for start := 0; start < len(refs); start += readManyBatch {
		batch := refs[start:min(start+readManyBatch, len(refs))]
		var terms []string
		var args []any
		for _, ref := range batch {
			terms = append(terms, "(r.type = ? AND r.id = ?)")
			args = append(args, ref.Type, ref.ID)
		}
		query := "SELECT " + resultColumns + " FROM " + withBody("resources r") + " WHERE r.deleted = 0 AND (" + strings.Join(terms, " OR ") + ")"
		matches, err := queryMatches(ctx, tx, query, args)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read many: %w", err)
		}
		out = append(out, matches...)
	}
	return out, nil
}
