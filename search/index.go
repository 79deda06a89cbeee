package search

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// Indexer computes the index entries of resources. It compiles the
// expression of every indexed search parameter once, in NewIndexer, and is
// safe for concurrent use.
type Indexer struct {
	// base is the server's base URL without a trailing slash. Absolute
	// references under it are indexed as local references.
	base   string
	byType map[string][]compiledParam
}

// compiledParam is one search parameter of one resource type, ready to
// evaluate.
type compiledParam struct {
	Param
	expr       *fhirpath.Expression
	components []*fhirpath.Expression
}

// NewIndexer compiles the search parameters of every R4 resource type.
// baseURL is the server's FHIR base ("https://ward.example.org/fhir"):
// references written as absolute URLs under it are indexed like relative
// ones. An empty baseURL treats every absolute URL as remote.
func NewIndexer(baseURL string) (*Indexer, error) {
	ix := &Indexer{base: strings.TrimRight(baseURL, "/"), byType: map[string][]compiledParam{}}
	cache := map[string]*fhirpath.Expression{}
	compile := func(src string) (*fhirpath.Expression, error) {
		if e, ok := cache[src]; ok {
			return e, nil
		}
		e, err := fhirpath.Compile(src)
		if err != nil {
			return nil, err
		}
		cache[src] = e
		return e, nil
	}

	var errs []error
	for _, resourceType := range definitions.ResourceTypes() {
		params := ParamsFor(resourceType)
		codes := slices.Sorted(maps.Keys(params))
		for _, code := range codes {
			p := params[code]
			cp := compiledParam{Param: p}
			var err error
			if cp.expr, err = compile(p.Expression); err != nil {
				errs = append(errs, fmt.Errorf("compile search parameter %s of %s (%s): %w", code, resourceType, p.Expression, err))
				continue
			}
			for _, c := range p.Components {
				e, err := compile(c.Param.Expression)
				if err != nil {
					errs = append(errs, fmt.Errorf("compile component %s of search parameter %s of %s (%s): %w", c.Param.Code, code, resourceType, c.Param.Expression, err))
					continue
				}
				cp.components = append(cp.components, e)
			}
			ix.byType[resourceType] = append(ix.byType[resourceType], cp)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ix, nil
}

// Extract evaluates every indexed search parameter of resourceType on the
// resource (JSON decoded with UseNumber, as fhir.Decode returns it) and
// returns the normalised entries, ordered by parameter code and then by
// the order of the values in the resource. Identical entries of one
// parameter appear once. It fails when the resource's resourceType
// differs, or when an expression fails to evaluate; the error names every
// parameter that failed.
func (ix *Indexer) Extract(resourceType string, resource map[string]any) ([]storage.IndexEntry, error) {
	params, ok := ix.byType[resourceType]
	if !ok {
		return nil, fmt.Errorf("extract index entries: %q is not an R4 resource type", resourceType)
	}
	if rt, _ := resource["resourceType"].(string); rt != resourceType {
		return nil, fmt.Errorf("extract index entries: resource has resourceType %q, expected %q", rt, resourceType)
	}

	x := extraction{ix: ix, resource: resource, entries: make([]storage.IndexEntry, 0, 32)}
	var errs []error
	for i := range params {
		if err := x.param(&params[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("extract index entries of %s/%v: %w", resourceType, resource["id"], errors.Join(errs...))
	}
	return x.entries, nil
}
