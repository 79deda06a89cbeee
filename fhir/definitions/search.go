package definitions

import (
	"slices"
	"sync"

	"github.com/ward-fhir/ward/fhir/definitions/internal/format"
)

// SearchParameter is an R4 SearchParameter, reduced to what indexing and
// querying use. Expression is the FHIRPath expression exactly as the
// specification publishes it, unless the generator's fix table (in
// internal/gen/fixes.go) replaces it. A parameter with several bases has
// one expression that covers all of them, such as "Patient.birthDate |
// Person.birthDate | RelatedPerson.birthDate".
type SearchParameter struct {
	ID, URL, Name, Code, Type, Expression, XPathUsage string
	Base, Target, Modifier, Comparator, Chain         []string
	Components                                        []SearchComponent
	// MultipleOr and MultipleAnd are nil when the definition leaves them
	// out, which the specification reads as true.
	MultipleOr, MultipleAnd *bool
}

// SearchComponent is one part of a composite search parameter.
type SearchComponent struct {
	// Definition is the URL of the component's own SearchParameter.
	Definition string
	// Expression is evaluated on each value of the composite parameter's
	// expression.
	Expression string
}

type searchTable struct {
	all    []SearchParameter // sorted by URL
	byURL  map[string]SearchParameter
	byType map[string]map[string]SearchParameter
}

var loadSearch = sync.OnceValue(func() *searchTable {
	var file format.SearchParameters
	mustDecode(format.SearchParametersFile, &file)

	t := &searchTable{byURL: map[string]SearchParameter{}, byType: map[string]map[string]SearchParameter{}}
	for _, fp := range file {
		p := SearchParameter{
			ID:          fp.ID,
			URL:         fp.URL,
			Name:        fp.Name,
			Code:        fp.Code,
			Type:        fp.Type,
			Expression:  fp.Expression,
			XPathUsage:  fp.XPathUsage,
			Base:        fp.Base,
			Target:      fp.Target,
			Modifier:    fp.Modifier,
			Comparator:  fp.Comparator,
			Chain:       fp.Chain,
			MultipleOr:  fp.MultipleOr,
			MultipleAnd: fp.MultipleAnd,
		}
		for _, c := range fp.Components {
			p.Components = append(p.Components, SearchComponent{Definition: c.Definition, Expression: c.Expression})
		}
		t.all = append(t.all, p)
		t.byURL[p.URL] = p
	}

	// The generator guarantees that no resource type has two parameters
	// with the same code.
	for _, resourceType := range ResourceTypes() {
		codes := map[string]SearchParameter{}
		for _, p := range t.all {
			if appliesTo(p, resourceType) {
				codes[p.Code] = p
			}
		}
		t.byType[resourceType] = codes
	}
	return t
})

// appliesTo reports whether p is defined on resourceType itself or on one
// of its ancestors (DomainResource, Resource).
func appliesTo(p SearchParameter, resourceType string) bool {
	for t := resourceType; t != ""; t = BaseType(t) {
		if slices.Contains(p.Base, t) {
			return true
		}
	}
	return false
}

// SearchParameters returns every R4 search parameter, sorted by URL.
func SearchParameters() []SearchParameter {
	return slices.Clone(loadSearch().all)
}

// LookupSearchParameter returns the search parameter with the given
// canonical URL, such as a composite component's Definition.
func LookupSearchParameter(url string) (SearchParameter, bool) {
	p, ok := loadSearch().byURL[url]
	return p, ok
}

// SearchParametersFor returns the search parameters of a concrete resource
// type keyed by code, including those defined on Resource (_id,
// _lastUpdated, ...) and, for DomainResource types, _text. It returns an
// empty map for an unknown type. The map is a fresh copy.
func SearchParametersFor(resourceType string) map[string]SearchParameter {
	codes := loadSearch().byType[resourceType]
	out := make(map[string]SearchParameter, len(codes))
	for code, p := range codes {
		out[code] = p
	}
	return out
}
