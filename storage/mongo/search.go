package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
)

// SearchLimits bound the cost of one search. A plan over a limit is
// rejected with an error wrapping storage.ErrTooCostly before it runs. A
// chain or _has step or a paged result set that grows over its limit
// fails the same way, and so does a search that runs longer than Timeout.
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

	// MaxLinked bounds the resources that one chain or _has step may
	// match: the targets of subject:Patient.name=x, or the referring
	// resources of _has. The step reads them before the main query runs.
	MaxLinked int

	// MaxSnapshot bounds the matches of a search with more than one page,
	// whose ordered ids the first page stores.
	MaxSnapshot int

	// Timeout bounds one Search call. The driver sends what is left of it
	// to the server as maxTimeMS with every command.
	Timeout time.Duration
}

// DefaultSearchLimits are the limits of a Store opened without
// WithSearchLimits. The depth allows one more link than the search
// package's default chain depth of 3. MaxLinked and MaxSnapshot are
// estimates of what one search can read and store within the timeout on
// a small replica set, not measured numbers.
var DefaultSearchLimits = SearchLimits{
	MaxClauses:  64,
	MaxValues:   1000,
	MaxDepth:    4,
	MaxSortKeys: 8,
	MaxLinked:   10_000,
	MaxSnapshot: 1_000_000,
	Timeout:     30 * time.Second,
}

func (l SearchLimits) withDefaults() SearchLimits {
	d := DefaultSearchLimits
	for _, f := range []struct{ dst, src *int }{
		{&d.MaxClauses, &l.MaxClauses},
		{&d.MaxValues, &l.MaxValues},
		{&d.MaxDepth, &l.MaxDepth},
		{&d.MaxSortKeys, &l.MaxSortKeys},
		{&d.MaxLinked, &l.MaxLinked},
		{&d.MaxSnapshot, &l.MaxSnapshot},
	} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
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

// errCodeMaxTimeMSExpired is the server's error code for a command that
// ran out of its maxTimeMS.
const errCodeMaxTimeMSExpired = 50

// Search runs a plan against the current versions. A first page that
// holds every match is read with one query. When more pages follow, the
// ordered ids of all matches are stored as a snapshot (see
// docs/storage-mongo.md) and every page, the first included, is read from
// it.
func (s *Store) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.limits.Timeout, errSearchTimeout)
	defer cancel()
	page, err := s.search(ctx, q)
	return page, s.searchError(ctx, err)
}

// search runs Search on ctx, which carries the session of a transaction
// when a Tx calls it.
func (s *Store) search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	if err := s.checkQuery(q); err != nil {
		return storage.SearchPage{}, err
	}
	if q.Cursor != "" {
		return s.pageFromCursor(ctx, q)
	}
	page, more, err := s.firstPage(ctx, q)
	if err != nil || !more {
		return page, err
	}
	return s.snapshotFirstPage(ctx, q)
}

// searchError turns the search timeout, passed on the client or on the
// server, into storage.ErrTooCostly.
func (s *Store) searchError(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, storage.ErrTooCostly) {
		return err
	}
	var serverErr mongo.ServerError
	if errors.Is(context.Cause(ctx), errSearchTimeout) ||
		(errors.As(err, &serverErr) && serverErr.HasErrorCode(errCodeMaxTimeMSExpired)) {
		return fmt.Errorf("mongo: search ran longer than %s (%v): %w", s.limits.Timeout, err, storage.ErrTooCostly)
	}
	return err
}

// checkQuery validates q and applies the cost limits.
func (s *Store) checkQuery(q storage.Query) error {
	if q.Count <= 0 {
		return fmt.Errorf("mongo: search: count %d is invalid, want a positive page size", q.Count)
	}
	switch q.Total {
	case "", storage.TotalNone, storage.TotalEstimate, storage.TotalAccurate:
	default:
		return fmt.Errorf("mongo: search: _total %q is not none, estimate or accurate", q.Total)
	}
	if len(q.Sort) > s.limits.MaxSortKeys {
		return fmt.Errorf("mongo: search has %d sort keys, more than the limit of %d: %w", len(q.Sort), s.limits.MaxSortKeys, storage.ErrTooCostly)
	}

	var cost planCost
	if err := cost.add(q.Filter, 0); err != nil {
		return err
	}
	switch {
	case cost.clauses > s.limits.MaxClauses:
		return fmt.Errorf("mongo: search has %d clauses, more than the limit of %d: %w", cost.clauses, s.limits.MaxClauses, storage.ErrTooCostly)
	case cost.values > s.limits.MaxValues:
		return fmt.Errorf("mongo: search has %d values, more than the limit of %d: %w", cost.values, s.limits.MaxValues, storage.ErrTooCostly)
	case cost.depth > s.limits.MaxDepth:
		return fmt.Errorf("mongo: search nests chains and _has %d deep, more than the limit of %d: %w", cost.depth, s.limits.MaxDepth, storage.ErrTooCostly)
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
				return fmt.Errorf("mongo: search: _has on %s needs a resource type and a parameter", cl.Param)
			}
			if err := validateParam(cl.Has.Param); err != nil {
				return fmt.Errorf("mongo: search: _has:%s: %w", cl.Has.Type, err)
			}
			if err := pc.add(cl.Has.Filter, depth+1); err != nil {
				return err
			}
		}
		if conditions != 1 {
			return fmt.Errorf("mongo: search: clause %s has %d of values, missing, chain and _has, want exactly one", cl.Param, conditions)
		}
		if cl.Has == nil {
			if err := validateParam(cl.Param); err != nil {
				return fmt.Errorf("mongo: search: %w", err)
			}
		}
	}
	return nil
}

// matchStages returns the aggregation stages that select q's matches in
// q's order, without projection.
func (s *Store) matchStages(ctx context.Context, q storage.Query) (bson.A, error) {
	c := &compiler{store: s, now: s.now()}
	filter, err := c.scope(ctx, q.Types, q.Filter)
	if err != nil {
		return nil, err
	}
	flags, order, err := sortKeys(q.Sort)
	if err != nil {
		return nil, err
	}

	stages := bson.A{bson.D{{Key: "$match", Value: filter}}}
	if len(flags) > 0 {
		stages = append(stages, bson.D{{Key: "$addFields", Value: flags}})
	}
	return append(stages, bson.D{{Key: "$sort", Value: order}}), nil
}

// sortKeys returns the fields that _sort needs computed and the $sort
// document. A parameter sorts by its values under srt, which MongoDB
// orders by the smallest element ascending and the largest descending.
// Each such key is preceded by a flag, the $type of the values: "array"
// sorts before "missing", so a resource without a value comes last in
// either direction. Type and id break ties.
func sortKeys(sorts []storage.Sort) (flags, order bson.D, err error) {
	seen := map[string]bool{}
	add := func(field string, direction int) {
		if !seen[field] {
			seen[field] = true
			order = append(order, bson.E{Key: field, Value: direction})
		}
	}

	for i, srt := range sorts {
		direction := 1
		if srt.Descending {
			direction = -1
		}
		switch srt.Param {
		case paramID:
			add("id", direction)
			continue
		case paramLastUpdated:
			add("lastUpdated", direction)
			continue
		}

		switch srt.Type {
		case storage.TypeString, storage.TypeToken, storage.TypeReference, storage.TypeDate,
			storage.TypeNumber, storage.TypeQuantity, storage.TypeURI:
		default:
			return nil, nil, fmt.Errorf("mongo: cannot sort by %s parameter %s", srt.Type, srt.Param)
		}
		if err := validateParam(srt.Param); err != nil {
			return nil, nil, fmt.Errorf("mongo: sort: %w", err)
		}
		field := "srt." + srt.Param
		if seen[field] {
			continue
		}
		flag := sortFlag(i)
		flags = append(flags, bson.E{Key: flag, Value: bson.D{{Key: "$type", Value: "$" + field}}})
		add(flag, 1)
		add(field, direction)
	}
	add("type", 1)
	add("id", 1)
	return flags, order, nil
}

// sortFlag names the computed field that orders resources without a value
// for sort key i last.
func sortFlag(i int) string { return fmt.Sprintf("_missing%d", i) }

// withoutSearchFields is the $project stage that leaves the search index
// and the sort flags out of a page's documents.
func withoutSearchFields(sorts int) bson.D {
	project := unsetSearchFields()
	for i := range project {
		project[i].Value = 0
	}
	for i := range sorts {
		project = append(project, bson.E{Key: sortFlag(i), Value: 0})
	}
	return bson.D{{Key: "$project", Value: project}}
}

// firstPage reads up to q.Count matches in order and reports whether
// there are more, in which case it returns no page.
func (s *Store) firstPage(ctx context.Context, q storage.Query) (storage.SearchPage, bool, error) {
	stages, err := s.matchStages(ctx, q)
	if err != nil {
		return storage.SearchPage{}, false, err
	}
	stages = append(stages,
		bson.D{{Key: "$limit", Value: int64(q.Count) + 1}},
		withoutSearchFields(len(q.Sort)))

	cur, err := s.resources.Aggregate(ctx, stages)
	if err != nil {
		return storage.SearchPage{}, false, fmt.Errorf("mongo: search: query: %w", err)
	}
	var docs []currentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return storage.SearchPage{}, false, fmt.Errorf("mongo: search: read matches: %w", err)
	}
	if len(docs) > q.Count {
		return storage.SearchPage{}, true, nil
	}

	page := storage.SearchPage{Matches: make([]storage.Resource, 0, len(docs)), Total: -1}
	for _, doc := range docs {
		page.Matches = append(page.Matches, doc.resource())
	}
	if wantsTotal(q) {
		page.Total = len(docs)
	}
	return page, false, nil
}

func wantsTotal(q storage.Query) bool {
	return q.Total == storage.TotalAccurate || q.Total == storage.TotalEstimate
}

// readManyBatch bounds the keys of one $in.
const readManyBatch = 500

// ReadMany returns the current, not deleted versions of refs that exist.
func (s *Store) ReadMany(ctx context.Context, refs []storage.Ref) ([]storage.Resource, error) {
	var out []storage.Resource
	for start := 0; start < len(refs); start += readManyBatch {
		batch := refs[start:min(start+readManyBatch, len(refs))]
		keys := make(bson.A, 0, len(batch))
		for _, ref := range batch {
			// Such a type can never be written, and its key could name
			// another resource, as Read explains.
			if !strings.Contains(ref.Type, "/") {
				keys = append(keys, resourceKey(ref.Type, ref.ID))
			}
		}
		if len(keys) == 0 {
			continue
		}
		docs, err := s.findLive(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("mongo: read many: %w", err)
		}
		for _, doc := range docs {
			out = append(out, doc.resource())
		}
	}
	return out, nil
}

// findLive returns the current documents with the given keys that are not
// deletions, without their search index, in no particular order.
func (s *Store) findLive(ctx context.Context, keys bson.A) ([]currentDoc, error) {
	project := withoutSearchFields(0)[0].Value
	cur, err := s.resources.Find(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}, {Key: "deleted", Value: false}},
		options.Find().SetProjection(project))
	if err != nil {
		return nil, err
	}
	var docs []currentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}
