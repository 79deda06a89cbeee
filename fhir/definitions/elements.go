package definitions

import (
	"strings"
	"sync"

	"github.com/ward-fhir/ward/fhir/definitions/internal/format"
)

// Element is one element of a snapshot StructureDefinition.
type Element struct {
	// Path is the snapshot path, such as "Patient.contact.name" or
	// "Observation.value[x]". Elements of SimpleQuantity and MoneyQuantity
	// use the profile's name ("SimpleQuantity.comparator") where R4 writes
	// "Quantity".
	Path string
	Min  int
	// Max is "*" or a decimal number.
	Max   string
	Types []TypeRef
	// ContentReference is "#" and the path whose definition this element
	// reuses, such as "#Questionnaire.item"; the element then has no Types.
	ContentReference string
	IsSummary        bool
	IsModifier       bool
}

// TypeRef is one allowed type of an element.
type TypeRef struct {
	// Code is the FHIR type code, such as "string", "HumanName" or
	// "Reference".
	Code string
	// TargetProfiles lists the resource types a Reference or canonical may
	// point to, such as ["Patient", "Group"]; empty means any.
	TargetProfiles []string
	// Profiles lists the profiles the value must conform to, such as
	// ["SimpleQuantity"] on a Quantity.
	Profiles []string
}

type elementTable struct {
	byPath   map[string]Element
	children map[string][]Element // parent path to direct children in snapshot order
}

var loadElements = sync.OnceValue(func() *elementTable {
	var file format.Elements
	mustDecode(format.ElementsFile, &file)

	t := &elementTable{byPath: map[string]Element{}, children: map[string][]Element{}}
	for _, list := range file {
		for _, fe := range list {
			el := Element{
				Path:             fe.Path,
				Min:              fe.Min,
				Max:              fe.Max,
				ContentReference: fe.ContentReference,
				IsSummary:        fe.IsSummary,
				IsModifier:       fe.IsModifier,
			}
			for _, ft := range fe.Types {
				el.Types = append(el.Types, TypeRef{Code: ft.Code, TargetProfiles: ft.TargetProfiles, Profiles: ft.Profiles})
			}
			t.byPath[el.Path] = el

			if i := strings.LastIndexByte(el.Path, '.'); i >= 0 {
				parent := el.Path[:i]
				t.children[parent] = append(t.children[parent], el)
			}
		}
	}
	return t
})

// LookupElement returns the element at an exact snapshot path, such as
// "Observation.value[x]", "Patient.contact.name", "HumanName.given" or the
// inherited "Patient.meta". A choice element is found only by its [x]
// path, not by a typed name such as "Observation.valueQuantity".
func LookupElement(path string) (Element, bool) {
	el, ok := loadElements().byPath[path]
	return el, ok
}

// Children returns the direct child elements of path in snapshot order:
// Children("Patient.contact") or, for a type, Children("HumanName"). When
// the element at path has a ContentReference, Children returns the children
// of the referenced element, so Children("Questionnaire.item.item") lists
// elements whose paths start with "Questionnaire.item.". It returns nil
// for a path with no children. Elements of a data type such as
// Patient.name are such paths, so look up their type code instead.
func Children(path string) []Element {
	t := loadElements()
	if el, ok := t.byPath[path]; ok && el.ContentReference != "" {
		path = strings.TrimPrefix(el.ContentReference, "#")
	}
	return t.children[path]
}
