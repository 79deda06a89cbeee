// Package format is the schema of the JSON files that the generator writes
// into fhir/definitions and that package definitions embeds and decodes.
// Both sides import it so the writer and the reader cannot drift apart.
package format

// File names of the generated data, relative to fhir/definitions.
const (
	TypesFile              = "types.json"
	ElementsFile           = "elements.json.gz"
	SearchParametersFile   = "searchparameters.json.gz"
	PatientCompartmentFile = "compartment-patient.json"
)

// Type kinds, as StructureDefinition.kind writes them.
const (
	KindPrimitive = "primitive-type"
	KindComplex   = "complex-type"
	KindResource  = "resource"
)

// Types is the content of TypesFile.
type Types struct {
	Types []Type `json:"types"`
}

// Type is one StructureDefinition of a data type or resource.
type Type struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Abstract bool   `json:"abstract,omitempty"`
	// Base is the last segment of baseDefinition, empty for the roots.
	Base string `json:"base,omitempty"`
	// Constraint is true for profiles such as SimpleQuantity, whose
	// derivation is "constraint" rather than "specialization".
	Constraint bool `json:"constraint,omitempty"`
}

// Elements is the content of ElementsFile: type name to its snapshot
// elements in snapshot order.
type Elements map[string][]Element

// Element is one snapshot ElementDefinition.
type Element struct {
	Path             string    `json:"path"`
	Min              int       `json:"min"`
	Max              string    `json:"max"`
	Types            []TypeRef `json:"types,omitempty"`
	ContentReference string    `json:"contentReference,omitempty"`
	IsSummary        bool      `json:"isSummary,omitempty"`
	IsModifier       bool      `json:"isModifier,omitempty"`
}

// TypeRef is one ElementDefinition.type entry.
type TypeRef struct {
	Code           string   `json:"code"`
	TargetProfiles []string `json:"targetProfile,omitempty"`
	Profiles       []string `json:"profile,omitempty"`
}

// SearchParameters is the content of SearchParametersFile, sorted by URL.
type SearchParameters []SearchParameter

// SearchParameter is one SearchParameter resource, reduced to what a
// server needs to index and query.
type SearchParameter struct {
	ID          string            `json:"id"`
	URL         string            `json:"url"`
	Name        string            `json:"name"`
	Code        string            `json:"code"`
	Type        string            `json:"type"`
	Expression  string            `json:"expression,omitempty"`
	XPathUsage  string            `json:"xpathUsage,omitempty"`
	Base        []string          `json:"base"`
	Target      []string          `json:"target,omitempty"`
	Modifier    []string          `json:"modifier,omitempty"`
	Comparator  []string          `json:"comparator,omitempty"`
	Chain       []string          `json:"chain,omitempty"`
	Components  []SearchComponent `json:"component,omitempty"`
	MultipleOr  *bool             `json:"multipleOr,omitempty"`
	MultipleAnd *bool             `json:"multipleAnd,omitempty"`
}

// SearchComponent is one SearchParameter.component entry.
type SearchComponent struct {
	Definition string `json:"definition"`
	Expression string `json:"expression"`
}

// PatientCompartment is the content of PatientCompartmentFile: resource
// type to the search parameter codes that place a resource of that type in
// a patient's compartment.
type PatientCompartment map[string][]string
