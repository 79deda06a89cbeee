package search

import (
	"context"
	"fmt"
	"slices"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

// Defaults of Runner's limits, used when a field is zero.
const (
	DefaultMaxIncluded          = 1000
	DefaultMaxIncludeIterations = 3
	DefaultMaxCompartment       = 1000
)

// Runner runs plans: the backend's search for the matches, then the steps
// around it that the storage query cannot express (compartments,
// _include, _revinclude).
type Runner struct {
	Store   storage.Searcher
	Indexer *Indexer

	// MaxIncluded caps the resources that _include and _revinclude add to
	// one page; past it the page carries a warning instead of the rest.
	MaxIncluded int

	// MaxIncludeIterations bounds the rounds of :iterate after the first.
	MaxIncludeIterations int

	// MaxCompartment caps the resources of one type that a compartment
	// search lists by id, which it does when several parameters place
	// resources in the compartment. Past it the search fails with
	// storage.ErrTooCostly.
	MaxCompartment int
}

// Result is one page of a search.
type Result struct {
	Page storage.SearchPage

	// Included are the resources that _include and _revinclude added, none
	// of them a match of the page.
	Included []storage.Resource

	// Warnings report limits that cut the result short.
	Warnings []*ParamError
}

// Run executes a plan and returns one page.
func (r *Runner) Run(ctx context.Context, plan *Plan) (*Result, error) {
	q := plan.Query
	if plan.Compartment != nil {
		members, err := r.compartmentMembers(ctx, plan)
		if err != nil {
			return nil, err
		}
		if len(members.Values) == 0 {
			return &Result{Page: storage.SearchPage{Total: 0}}, nil
		}
		q.Filter = append([]storage.Clause{members}, q.Filter...)
	}

	page, err := r.Store.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	result := &Result{Page: page}
	if plan.CountOnly || len(page.Matches) == 0 || (len(plan.Include) == 0 && len(plan.RevInclude) == 0) {
		return result, nil
	}
	if err := r.include(ctx, plan, result); err != nil {
		return nil, err
	}
	return result, nil
}

// CompartmentParams returns the codes of the parameters of resourceType
// that place a resource in a compartment of compartmentType, and false
// when the type is not in such a compartment. Only the Patient
// compartment is defined.
func CompartmentParams(compartmentType, resourceType string) ([]string, bool) {
	if compartmentType != "Patient" {
		return nil, false
	}
	codes, ok := definitions.PatientCompartment()[resourceType]
	if resourceType == "Patient" {
		return codes, true
	}
	return codes, ok && len(codes) > 0
}

// compartmentMembers returns a clause that keeps the resources of the
// plan's type in the compartment: those whose compartment parameters refer
// to the compartment's resource, and for a Patient compartment the patient
// itself. When only one parameter places any resource there, the clause is
// that parameter's reference. Otherwise it lists the members' ids, because
// the storage query has no OR across parameters; the list is capped by
// MaxCompartment.
//
// NOTE: an id list is computed again for each page, so a resource that
// joins the compartment between two pages changes the query that the
// backend's cursor was issued for.
func (r *Runner) compartmentMembers(ctx context.Context, plan *Plan) (storage.Clause, error) {
	c := plan.Compartment
	limit := r.MaxCompartment
	if limit <= 0 {
		limit = DefaultMaxCompartment
	}
	if len(plan.Query.Types) != 1 {
		return storage.Clause{}, fmt.Errorf("a compartment search covers one resource type, not %d", len(plan.Query.Types))
	}
	resourceType := plan.Query.Types[0]
	codes, ok := CompartmentParams(c.Type, resourceType)
	if !ok {
		return storage.Clause{}, fmt.Errorf("%s is not in the %s compartment", resourceType, c.Type)
	}

	refersTo := func(code string) storage.Clause {
		return storage.Clause{
			Param:  code,
			Type:   storage.TypeReference,
			Values: []storage.Value{{Prefix: "eq", RefType: c.Type, RefID: c.ID}},
		}
	}
	var used []string
	for _, code := range codes {
		if _, ok := LookupParam(resourceType, code); !ok {
			continue
		}
		page, err := r.Store.Search(ctx, storage.Query{Types: []string{resourceType}, Filter: []storage.Clause{refersTo(code)}, Count: 1, Total: storage.TotalNone})
		if err != nil {
			return storage.Clause{}, err
		}
		if len(page.Matches) > 0 {
			used = append(used, code)
		}
	}
	if len(used) == 1 && resourceType != c.Type {
		return refersTo(used[0]), nil
	}

	ids := storage.Clause{Param: "_id", Type: storage.TypeToken}
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids.Values = append(ids.Values, storage.Value{Prefix: "eq", Code: id, AnySystem: true})
		}
	}
	if resourceType == c.Type {
		add(c.ID)
	}
	for _, code := range used {
		page, err := r.Store.Search(ctx, storage.Query{Types: []string{resourceType}, Filter: []storage.Clause{refersTo(code)}, Count: limit + 1, Total: storage.TotalNone})
		if err != nil {
			return storage.Clause{}, err
		}
		for _, m := range page.Matches {
			add(m.ID)
		}
		if len(seen) > limit || page.NextCursor != "" {
			return storage.Clause{}, fmt.Errorf("the %s/%s compartment contains more than %d %s resources that several parameters place there: %w", c.Type, c.ID, limit, resourceType, storage.ErrTooCostly)
		}
	}
	return ids, nil
}

// include adds the resources that _include and _revinclude name, round by
// round: the first round starts from the matches, and each :iterate round
// from the resources the round before added.
func (r *Runner) include(ctx context.Context, plan *Plan, result *Result) error {
	limit := r.MaxIncluded
	if limit <= 0 {
		limit = DefaultMaxIncluded
	}
	rounds := r.MaxIncludeIterations
	if rounds <= 0 {
		rounds = DefaultMaxIncludeIterations
	}

	seen := map[storage.Ref]bool{}
	for _, m := range result.Page.Matches {
		seen[storage.Ref{Type: m.Type, ID: m.ID}] = true
	}
	added := func(found []storage.Resource) ([]storage.Resource, bool) {
		var fresh []storage.Resource
		for _, res := range found {
			ref := storage.Ref{Type: res.Type, ID: res.ID}
			if seen[ref] {
				continue
			}
			if len(result.Included) >= limit {
				return fresh, false
			}
			seen[ref] = true
			fresh = append(fresh, res)
			result.Included = append(result.Included, res)
		}
		return fresh, true
	}

	from := result.Page.Matches
	for round := 0; round <= rounds && len(from) > 0; round++ {
		includes := plan.Include
		revIncludes := plan.RevInclude
		if round > 0 {
			includes = iterating(plan.Include)
			revIncludes = iterating(plan.RevInclude)
		}

		var next []storage.Resource
		complete := true
		if len(includes) > 0 {
			found, err := r.forward(ctx, includes, from)
			if err != nil {
				return err
			}
			fresh, ok := added(found)
			next, complete = append(next, fresh...), ok
		}
		for _, inc := range revIncludes {
			if !complete {
				break
			}
			found, err := r.reverse(ctx, inc, from, limit-len(result.Included)+1)
			if err != nil {
				return err
			}
			fresh, ok := added(found)
			next, complete = append(next, fresh...), ok
		}
		if !complete {
			result.Warnings = append(result.Warnings, &ParamError{
				Param:   "_include",
				Code:    "incomplete",
				Message: fmt.Sprintf("the page includes only the first %d resources that _include and _revinclude name, the limit of this server", limit),
			})
			return nil
		}
		from = next
	}
	return nil
}

func iterating(includes []Include) []Include {
	var out []Include
	for _, inc := range includes {
		if inc.Iterate {
			out = append(out, inc)
		}
	}
	return out
}

// forward reads the resources that from refers to through the includes'
// parameters. The references come from the index entries of those
// parameters, computed again from each resource's JSON.
func (r *Runner) forward(ctx context.Context, includes []Include, from []storage.Resource) ([]storage.Resource, error) {
	var refs []storage.Ref
	seen := map[storage.Ref]bool{}
	for _, res := range from {
		var applicable []Include
		for _, inc := range includes {
			if inc.SourceType == "*" || inc.SourceType == res.Type {
				applicable = append(applicable, inc)
			}
		}
		if len(applicable) == 0 {
			continue
		}
		obj, err := fhir.Decode(res.JSON)
		if err != nil {
			return nil, fmt.Errorf("decode %s/%s for _include: %w", res.Type, res.ID, err)
		}
		entries, err := r.Indexer.references(res.Type, obj, func(code string) bool {
			return slices.ContainsFunc(applicable, func(inc Include) bool { return inc.Param == "*" || inc.Param == code })
		})
		if err != nil {
			return nil, fmt.Errorf("extract references of %s/%s for _include: %w", res.Type, res.ID, err)
		}
		for _, e := range entries {
			if e.RefType == "" || e.RefID == "" {
				continue
			}
			if !slices.ContainsFunc(applicable, func(inc Include) bool {
				return (inc.Param == "*" || inc.Param == e.Param) && (inc.TargetType == "" || inc.TargetType == e.RefType)
			}) {
				continue
			}
			ref := storage.Ref{Type: e.RefType, ID: e.RefID}
			if !seen[ref] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	found, err := r.Store.ReadMany(ctx, refs)
	if err != nil {
		return nil, err
	}
	// ReadMany returns no particular order; the order of the references
	// keeps a page's Bundle stable from one request to the next.
	order := make(map[storage.Ref]int, len(refs))
	for i, ref := range refs {
		order[ref] = i
	}
	slices.SortFunc(found, func(a, b storage.Resource) int {
		return order[storage.Ref{Type: a.Type, ID: a.ID}] - order[storage.Ref{Type: b.Type, ID: b.ID}]
	})
	return found, nil
}

// revIncludeBatch is the number of page resources one _revinclude search
// names, below the SQLite store's default limit of 1,000 OR-ed values.
const revIncludeBatch = 500

// reverse searches the resources of inc.SourceType whose inc.Param refers
// to any resource of from, up to limit of them.
func (r *Runner) reverse(ctx context.Context, inc Include, from []storage.Resource, limit int) ([]storage.Resource, error) {
	var values []storage.Value
	for _, res := range from {
		if inc.TargetType != "" && inc.TargetType != res.Type {
			continue
		}
		values = append(values, storage.Value{Prefix: "eq", RefType: res.Type, RefID: res.ID})
	}

	var found []storage.Resource
	for len(values) > 0 && len(found) < limit {
		batch := values[:min(len(values), revIncludeBatch)]
		values = values[len(batch):]
		page, err := r.Store.Search(ctx, storage.Query{
			Types:  []string{inc.SourceType},
			Filter: []storage.Clause{{Param: inc.Param, Type: storage.TypeReference, Values: batch}},
			Count:  max(limit-len(found), 1),
			Total:  storage.TotalNone,
		})
		if err != nil {
			return nil, err
		}
		found = append(found, page.Matches...)
	}
	return found, nil
}
