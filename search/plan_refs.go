package search

import (
	"fmt"

	"github.com/ward-fhir/ward/storage"
)

// references returns the entries of the reference parameters of one
// resource for which wanted returns true. It evaluates only those
// parameters' expressions, with the same normalisation as Extract, so an
// _include does not pay for the resource's other parameters.
func (ix *Indexer) references(resourceType string, resource map[string]any, wanted func(code string) bool) ([]storage.IndexEntry, error) {
	params, ok := ix.byType[resourceType]
	if !ok {
		return nil, fmt.Errorf("extract references: %q is not an R4 resource type", resourceType)
	}
	x := extraction{ix: ix, resource: resource}
	for i := range params {
		p := &params[i]
		if p.Type != storage.TypeReference || !wanted(p.Code) {
			continue
		}
		if err := x.param(p); err != nil {
			return nil, err
		}
	}
	return x.entries, nil
}
