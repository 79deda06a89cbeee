package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions/internal/format"
)

// fhirTypeExtension names the FHIR type of an element whose type code is a
// FHIRPath system type (Element.id, Extension.url, the value of a
// primitive).
const fhirTypeExtension = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"

// R4 4.0.1 gives Resource.id the FHIRPath type System.String with a
// fhirTypeExtension of "string", although the specification defines the
// element as an id. The generator writes "id" for it and every inherited
// copy (Patient.id, ...), so validators apply the id syntax.
const resourceIDPath = "Resource.id"

// systemTypes maps the FHIRPath system types to the FHIR primitive that
// carries them. It applies only when an element has no fhirTypeExtension,
// which in R4 4.0.1 is the case for xhtml.id alone.
var systemTypes = map[string]string{
	"http://hl7.org/fhirpath/System.String":   "string",
	"http://hl7.org/fhirpath/System.Boolean":  "boolean",
	"http://hl7.org/fhirpath/System.Integer":  "integer",
	"http://hl7.org/fhirpath/System.Decimal":  "decimal",
	"http://hl7.org/fhirpath/System.Date":     "date",
	"http://hl7.org/fhirpath/System.DateTime": "dateTime",
	"http://hl7.org/fhirpath/System.Time":     "time",
}

// generated maps an output file name to its bytes.
type generated map[string][]byte

func generate(src *source) (generated, error) {
	defs, err := structureDefinitions(src)
	if err != nil {
		return nil, err
	}

	types, known := buildTypes(defs)
	elements, err := buildElements(defs, known)
	if err != nil {
		return nil, err
	}
	params, err := buildSearchParameters(src, types)
	if err != nil {
		return nil, err
	}
	compartment, err := buildCompartment(src, known)
	if err != nil {
		return nil, err
	}

	files := generated{}
	if files[format.TypesFile], err = encodeJSON(format.Types{Types: types}, false); err != nil {
		return nil, err
	}
	if files[format.ElementsFile], err = encodeJSON(elements, true); err != nil {
		return nil, err
	}
	if files[format.SearchParametersFile], err = encodeJSON(params, true); err != nil {
		return nil, err
	}
	if files[format.PatientCompartmentFile], err = encodeJSON(compartment, false); err != nil {
		return nil, err
	}
	return files, nil
}

// structureDefinitions decodes the StructureDefinitions of both profile
// bundles, leaving out logical models and those of other FHIR versions.
func structureDefinitions(src *source) ([]structureDefinition, error) {
	var defs []structureDefinition
	for _, b := range []bundle{src.types, src.resources} {
		for _, entry := range b.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(entry.Resource, &head); err != nil {
				return nil, fmt.Errorf("decode resource type of bundle entry: %w", err)
			}
			if head.ResourceType != "StructureDefinition" {
				continue
			}

			var sd structureDefinition
			if err := json.Unmarshal(entry.Resource, &sd); err != nil {
				return nil, fmt.Errorf("decode StructureDefinition: %w", err)
			}
			if sd.Kind == "logical" {
				continue
			}
			if sd.FHIRVersion != r4Version {
				fmt.Fprintf(os.Stderr, "gen: skipping StructureDefinition %s: fhirVersion %s is not %s\n", sd.Name, sd.FHIRVersion, r4Version)
				continue
			}
			defs = append(defs, sd)
		}
	}
	return defs, nil
}

// buildTypes returns the types sorted by name and the set of their names.
func buildTypes(defs []structureDefinition) ([]format.Type, map[string]format.Type) {
	known := map[string]format.Type{}
	var types []format.Type
	for _, sd := range defs {
		t := format.Type{
			Name:       sd.Name,
			Kind:       sd.Kind,
			Abstract:   sd.Abstract,
			Base:       strings.TrimPrefix(sd.BaseDefinition, hl7CorePrefix),
			Constraint: sd.Derivation == "constraint",
		}
		types = append(types, t)
		known[t.Name] = t
	}
	sort.Slice(types, func(i, j int) bool { return types[i].Name < types[j].Name })
	return types, known
}

func buildElements(defs []structureDefinition, known map[string]format.Type) (format.Elements, error) {
	out := format.Elements{}
	excludedSeen := map[string]bool{}

	for _, sd := range defs {
		var list []format.Element
		for _, ed := range sd.Snapshot.Element {
			if ed.SliceName != "" {
				return nil, fmt.Errorf("%s: element %s has slice %q; the core definitions are not expected to slice", sd.Name, ed.Path, ed.SliceName)
			}
			if excluded := excludedPrefix(ed.Path); excluded != "" {
				excludedSeen[excluded] = true
				continue
			}

			el, err := convertElement(sd, ed, known)
			if err != nil {
				return nil, err
			}
			list = append(list, el)
		}
		out[sd.Name] = list
	}

	for path, reason := range excludedElements {
		if !excludedSeen[path] {
			return nil, fmt.Errorf("excluded element %s (%s) is not in the source; remove it from excludedElements", path, reason)
		}
	}
	return out, nil
}

func excludedPrefix(path string) string {
	for excluded := range excludedElements {
		if path == excluded || strings.HasPrefix(path, excluded+".") {
			return excluded
		}
	}
	return ""
}

func convertElement(sd structureDefinition, ed elementDefinition, known map[string]format.Type) (format.Element, error) {
	// A constraint profile such as SimpleQuantity writes its paths with the
	// constrained type's name. Renaming them keeps them apart from that
	// type's own elements.
	path := ed.Path
	if sd.Name != sd.Type {
		rest, ok := strings.CutPrefix(path, sd.Type)
		if !ok {
			return format.Element{}, fmt.Errorf("%s: element path %s does not start with %s", sd.Name, path, sd.Type)
		}
		path = sd.Name + rest
	}

	el := format.Element{
		Path:       path,
		Min:        ed.Min,
		Max:        ed.Max,
		IsSummary:  ed.IsSummary,
		IsModifier: ed.IsModifier,
	}
	if ed.ContentReference != "" {
		// R4 writes local references as "#Path"; keep that form even if a
		// canonical URL precedes the fragment.
		_, fragment, ok := strings.Cut(ed.ContentReference, "#")
		if !ok {
			return format.Element{}, fmt.Errorf("%s: contentReference %q has no '#'", path, ed.ContentReference)
		}
		el.ContentReference = "#" + fragment
	}

	for _, t := range ed.Type {
		ref := format.TypeRef{Code: t.Code}
		if strings.HasPrefix(t.Code, "http://hl7.org/fhirpath/System.") {
			ref.Code = systemTypes[t.Code]
			for _, ext := range t.Extension {
				if ext.URL == fhirTypeExtension {
					ref.Code = ext.ValueURL
				}
			}
			if ed.Base.Path == resourceIDPath {
				ref.Code = "id"
			}
			if ref.Code == "" {
				return format.Element{}, fmt.Errorf("%s: no FHIR type for system type %s", path, t.Code)
			}
		}
		if _, ok := known[ref.Code]; !ok {
			return format.Element{}, fmt.Errorf("%s: unknown type code %q", path, ref.Code)
		}

		var err error
		if ref.TargetProfiles, err = profileNames(path, t.TargetProfile, known, true); err != nil {
			return format.Element{}, err
		}
		if ref.Profiles, err = profileNames(path, t.Profile, known, false); err != nil {
			return format.Element{}, err
		}
		el.Types = append(el.Types, ref)
	}
	return el, nil
}

// profileNames turns profile URLs into type names. URLs outside the HL7 core
// are dropped when dropForeign is set and rejected otherwise.
func profileNames(path string, urls []string, known map[string]format.Type, dropForeign bool) ([]string, error) {
	var names []string
	for _, u := range urls {
		name, ok := strings.CutPrefix(u, hl7CorePrefix)
		if !ok {
			if dropForeign {
				fmt.Fprintf(os.Stderr, "gen: %s: dropping profile %s outside the HL7 core\n", path, u)
				continue
			}
			return nil, fmt.Errorf("%s: profile %s is outside the HL7 core", path, u)
		}
		if _, ok := known[name]; !ok {
			return nil, fmt.Errorf("%s: profile %s names no known type", path, u)
		}
		names = append(names, name)
	}
	return names, nil
}

func buildSearchParameters(src *source, types []format.Type) (format.SearchParameters, error) {
	known := map[string]format.Type{}
	for _, t := range types {
		known[t.Name] = t
	}
	fixesSeen := map[string]bool{}

	var params format.SearchParameters
	for _, entry := range src.search.Entry {
		var sp searchParameter
		if err := json.Unmarshal(entry.Resource, &sp); err != nil {
			return nil, fmt.Errorf("decode SearchParameter: %w", err)
		}
		if sp.ResourceType != "SearchParameter" {
			return nil, fmt.Errorf("search parameter bundle contains a %s", sp.ResourceType)
		}
		if sp.Version != r4Version {
			fmt.Fprintf(os.Stderr, "gen: skipping SearchParameter %s: version %s is not %s\n", sp.ID, sp.Version, r4Version)
			continue
		}

		p := format.SearchParameter{
			ID:          sp.ID,
			URL:         sp.URL,
			Name:        sp.Name,
			Code:        sp.Code,
			Type:        sp.Type,
			Expression:  sp.Expression,
			XPathUsage:  sp.XPathUsage,
			Base:        sp.Base,
			Target:      sp.Target,
			Modifier:    sp.Modifier,
			Comparator:  sp.Comparator,
			Chain:       sp.Chain,
			MultipleOr:  sp.MultipleOr,
			MultipleAnd: sp.MultipleAnd,
		}
		for _, c := range sp.Component {
			p.Components = append(p.Components, format.SearchComponent{Definition: c.Definition, Expression: c.Expression})
		}
		for _, name := range slices.Concat(p.Base, p.Target) {
			if t, ok := known[name]; !ok || t.Kind != format.KindResource {
				return nil, fmt.Errorf("SearchParameter %s names %q, which is not a resource type", p.ID, name)
			}
		}

		if fix, ok := expressionFixes[p.ID]; ok {
			if p.Expression != fix.From {
				return nil, fmt.Errorf("SearchParameter %s: fix expects expression %q but the source has %q", p.ID, fix.From, p.Expression)
			}
			p.Expression = fix.To
			fixesSeen[p.ID] = true
		}
		params = append(params, p)
	}

	for id := range expressionFixes {
		if !fixesSeen[id] {
			return nil, fmt.Errorf("expression fix for SearchParameter %s matches no parameter in the source", id)
		}
	}
	sort.Slice(params, func(i, j int) bool { return params[i].URL < params[j].URL })
	if err := checkUniqueCodes(params, types); err != nil {
		return nil, err
	}
	return params, nil
}

// checkUniqueCodes makes sure no resource type has two parameters with the
// same code, so package definitions can key them by code.
func checkUniqueCodes(params format.SearchParameters, types []format.Type) error {
	byType := map[string]map[string]string{}
	for _, t := range types {
		if t.Kind == format.KindResource {
			byType[t.Name] = map[string]string{}
		}
	}
	base := map[string]string{}
	for _, t := range types {
		base[t.Name] = t.Base
	}

	for _, p := range params {
		for resourceType, codes := range byType {
			if !appliesTo(p.Base, resourceType, base) {
				continue
			}
			if other, dup := codes[p.Code]; dup {
				return fmt.Errorf("resource type %s has two search parameters with code %s: %s and %s", resourceType, p.Code, other, p.URL)
			}
			codes[p.Code] = p.URL
		}
	}
	return nil
}

// appliesTo reports whether a parameter with the given bases applies to
// resourceType directly or through one of its ancestors.
func appliesTo(bases []string, resourceType string, base map[string]string) bool {
	for t := resourceType; t != ""; t = base[t] {
		if slices.Contains(bases, t) {
			return true
		}
	}
	return false
}

func buildCompartment(src *source, known map[string]format.Type) (format.PatientCompartment, error) {
	out := format.PatientCompartment{}
	for _, r := range src.compartment.Resource {
		if t, ok := known[r.Code]; !ok || t.Kind != format.KindResource {
			return nil, fmt.Errorf("Patient compartment lists %q, which is not a resource type", r.Code)
		}
		// A resource type without params is listed only to say it is never
		// in the compartment.
		if len(r.Param) == 0 {
			continue
		}
		out[r.Code] = r.Param
	}
	return out, nil
}
