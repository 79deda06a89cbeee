// Package conformance describes what Ward supports as a FHIR R4
// CapabilityStatement (http://hl7.org/fhir/R4/capabilitystatement.html).
// The statement is built from the same facts the server acts on, so it
// cannot promise an interaction that the routes do not serve.
package conformance

import (
	"time"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// Server lists what a running server supports.
type Server struct {
	BaseURL  string
	Version  string    // software version
	Released time.Time // CapabilityStatement.date

	// TypeInteractions are the type-level and instance-level interaction
	// codes served for every resource type, such as "read" and "create".
	TypeInteractions []string

	// SystemInteractions are the whole-system interaction codes, such as
	// "history-system".
	SystemInteractions []string

	// PatchFormats are the media types PATCH accepts.
	PatchFormats []string

	// ConditionalRead is the CapabilityStatement conditionalRead code:
	// not-supported, modified-since, not-match or full-support.
	ConditionalRead string

	// ConditionalCreate and ConditionalUpdate are true when If-None-Exist
	// and PUT [type]?[criteria] are served. ConditionalDelete is the
	// conditionalDelete code: not-supported, single or multiple.
	ConditionalCreate bool
	ConditionalUpdate bool
	ConditionalDelete string

	// Search maps a resource type to what its searches support; a type
	// that is missing lists no search parameters.
	Search map[string]ResourceSearch

	// SystemSearchParams are the parameters of a search across all types.
	SystemSearchParams []SearchParam
}

// ResourceSearch lists the search support of one resource type.
type ResourceSearch struct {
	Params []SearchParam

	// Includes are the _include values served (Type:param, or *), and
	// RevIncludes the _revinclude values.
	Includes    []string
	RevIncludes []string
}

// SearchParam is one CapabilityStatement.rest.resource.searchParam.
type SearchParam struct {
	Name string
	// Type is the search parameter type code, such as token or date.
	Type string
	// Definition is the canonical URL of the SearchParameter.
	Definition string
}

func searchParamList(params []SearchParam) []any {
	list := make([]any, 0, len(params))
	for _, p := range params {
		list = append(list, map[string]any{"name": p.Name, "type": p.Type, "definition": p.Definition})
	}
	return list
}

func stringList(values []string) []any {
	list := make([]any, 0, len(values))
	for _, v := range values {
		list = append(list, v)
	}
	return list
}

// CapabilityStatement returns the statement for s as a FHIR JSON object.
func CapabilityStatement(s Server) map[string]any {
	typeInteractions := make([]any, 0, len(s.TypeInteractions))
	for _, code := range s.TypeInteractions {
		typeInteractions = append(typeInteractions, map[string]any{"code": code})
	}

	conditionalDelete := s.ConditionalDelete
	if conditionalDelete == "" {
		conditionalDelete = "not-supported"
	}
	resources := make([]any, 0, len(definitions.ResourceTypes()))
	for _, resourceType := range definitions.ResourceTypes() {
		resource := map[string]any{
			"type":              resourceType,
			"profile":           "http://hl7.org/fhir/StructureDefinition/" + resourceType,
			"interaction":       typeInteractions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": s.ConditionalCreate,
			"conditionalRead":   s.ConditionalRead,
			"conditionalUpdate": s.ConditionalUpdate,
			"conditionalDelete": conditionalDelete,
		}
		if search, ok := s.Search[resourceType]; ok {
			if len(search.Params) > 0 {
				resource["searchParam"] = searchParamList(search.Params)
			}
			if len(search.Includes) > 0 {
				resource["searchInclude"] = stringList(search.Includes)
			}
			if len(search.RevIncludes) > 0 {
				resource["searchRevInclude"] = stringList(search.RevIncludes)
			}
		}
		resources = append(resources, resource)
	}

	systemInteractions := make([]any, 0, len(s.SystemInteractions))
	for _, code := range s.SystemInteractions {
		systemInteractions = append(systemInteractions, map[string]any{"code": code})
	}

	patchFormats := make([]any, 0, len(s.PatchFormats))
	for _, mediaType := range s.PatchFormats {
		patchFormats = append(patchFormats, mediaType)
	}

	rest := map[string]any{
		"mode":        "server",
		"resource":    resources,
		"interaction": systemInteractions,
	}
	if len(s.SystemSearchParams) > 0 {
		rest["searchParam"] = searchParamList(s.SystemSearchParams)
	}

	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         s.Released.UTC().Format("2006-01-02"),
		"publisher":    "Ward",
		"kind":         "instance",
		"software": map[string]any{
			"name":    "Ward",
			"version": s.Version,
		},
		"implementation": map[string]any{
			"description": "Ward FHIR R4 server",
			"url":         s.BaseURL,
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json", "json"},
		"patchFormat": patchFormats,
		"rest":        []any{rest},
	}
}
