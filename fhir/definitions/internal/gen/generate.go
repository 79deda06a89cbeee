package main

import (
	"encoding/json"
	"fmt"
	"reflect"
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
	params, err := buildSearchParameters(src, known)
	if err != nil {
		return nil, err
	}
	compartment, err := buildCompartment(src, known, params)
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
// bundles, leaving out logical models and removedTypes.
func structureDefinitions(src *source) ([]structureDefinition, error) {
	var defs []structureDefinition
	removedSeen := map[string]bool{}

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
			// MetadataResource is the only logical model in R4; it is a
			// pattern for documentation, not a type that instances have.
			if sd.Kind == "logical" {
				continue
			}
			if _, ok := removedTypes[sd.Name]; ok {
				removedSeen[sd.Name] = true
				continue
			}
			if sd.FHIRVersion != r4Version {
				return nil, fmt.Errorf("StructureDefinition %s has fhirVersion %s, not %s; review it and list it in removedTypes", sd.Name, sd.FHIRVersion, r4Version)
			}
			defs = append(defs, sd)
		}
	}

	if err := checkAllSeen("removedTypes", removedTypes, removedSeen); err != nil {
		return nil, err
	}
	return defs, nil
}

// checkAllSeen fails when a correction table has an entry that matched
// nothing in the source.
func checkAllSeen[V any](table string, entries map[string]V, seen map[string]bool) error {
	var missing []string
	for key := range entries {
		if !seen[key] {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s entries %v match nothing in the source; remove or update them", table, missing)
	}
	return nil
}

// buildTypes returns the types sorted by name and a map from name to type.
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
	removedSeen := map[string]bool{}
	changedSeen := map[string]bool{}
	insertedSeen := map[string]bool{}

	insertAfter := map[string]elementInsertion{}
	for _, ins := range insertedElements {
		insertAfter[ins.After] = ins
	}

	for _, sd := range defs {
		var list []format.Element
		for _, ed := range sd.Snapshot.Element {
			if ed.SliceName != "" {
				return nil, fmt.Errorf("%s: element %s has slice %q; the core definitions are not expected to slice", sd.Name, ed.Path, ed.SliceName)
			}
			if removed := removedPrefix(ed.Path); removed != "" {
				removedSeen[removed] = true
				continue
			}

			el, err := convertElement(sd, ed)
			if err != nil {
				return nil, err
			}
			if change, ok := changedElements[el.Path]; ok {
				if !reflect.DeepEqual(el, change.From) {
					return nil, fmt.Errorf("changedElements[%s] expects %+v but the source has %+v", el.Path, change.From, el)
				}
				el = change.To
				changedSeen[el.Path] = true
			}
			list = append(list, el)

			if ins, ok := insertAfter[el.Path]; ok {
				list = append(list, ins.Elements...)
				insertedSeen[el.Path] = true
			}
		}
		out[sd.Name] = list
	}

	if err := checkAllSeen("removedElements", removedElements, removedSeen); err != nil {
		return nil, err
	}
	if err := checkAllSeen("changedElements", changedElements, changedSeen); err != nil {
		return nil, err
	}
	if err := checkAllSeen("insertedElements", insertAfter, insertedSeen); err != nil {
		return nil, err
	}
	if err := checkElements(out, known); err != nil {
		return nil, err
	}
	return out, nil
}

func removedPrefix(path string) string {
	for removed := range removedElements {
		if path == removed || strings.HasPrefix(path, removed+".") {
			return removed
		}
	}
	return ""
}

func convertElement(sd structureDefinition, ed elementDefinition) (format.Element, error) {
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
		ref.TargetProfiles = profileNames(t.TargetProfile)
		ref.Profiles = profileNames(t.Profile)
		el.Types = append(el.Types, ref)
	}
	return el, nil
}

// profileNames turns HL7 core profile URLs into type names and keeps other
// URLs whole, for checkElements to reject unless a correction removed them.
func profileNames(urls []string) []string {
	var names []string
	for _, u := range urls {
		names = append(names, strings.TrimPrefix(u, hl7CorePrefix))
	}
	return names
}

// checkElements makes sure every type code, profile and target names a
// known type, and every contentReference a known element.
func checkElements(elements format.Elements, known map[string]format.Type) error {
	paths := map[string]bool{}
	for _, list := range elements {
		for _, el := range list {
			paths[el.Path] = true
		}
	}

	for _, list := range elements {
		for _, el := range list {
			if el.ContentReference != "" && !paths[strings.TrimPrefix(el.ContentReference, "#")] {
				return fmt.Errorf("%s: contentReference %s names no element", el.Path, el.ContentReference)
			}
			for _, t := range el.Types {
				names := slices.Concat([]string{t.Code}, t.TargetProfiles, t.Profiles)
				for _, name := range names {
					if _, ok := known[name]; !ok {
						return fmt.Errorf("%s: type %q is not an R4 type", el.Path, name)
					}
				}
			}
		}
	}
	return nil
}

func buildSearchParameters(src *source, known map[string]format.Type) (format.SearchParameters, error) {
	removedSeen := map[string]bool{}
	targetsSeen := map[string]bool{}
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
		if _, ok := removedSearchParameters[sp.ID]; ok {
			removedSeen[sp.ID] = true
			continue
		}
		if sp.Version != r4Version {
			return nil, fmt.Errorf("SearchParameter %s has version %s, not %s; review it and list it in removedSearchParameters", sp.ID, sp.Version, r4Version)
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

		if change, ok := changedSearchTargets[p.ID]; ok {
			if !slices.Equal(p.Target, change.From) {
				return nil, fmt.Errorf("changedSearchTargets[%s] expects %v but the source has %v", p.ID, change.From, p.Target)
			}
			p.Target = change.To
			targetsSeen[p.ID] = true
		}
		if fix, ok := expressionFixes[p.ID]; ok {
			if p.Expression != fix.From {
				return nil, fmt.Errorf("expressionFixes[%s] expects %q but the source has %q", p.ID, fix.From, p.Expression)
			}
			p.Expression = fix.To
			fixesSeen[p.ID] = true
		}

		for _, name := range slices.Concat(p.Base, p.Target) {
			if t, ok := known[name]; !ok || t.Kind != format.KindResource {
				return nil, fmt.Errorf("SearchParameter %s names %q, which is not an R4 resource type", p.ID, name)
			}
		}
		params = append(params, p)
	}

	if err := checkAllSeen("removedSearchParameters", removedSearchParameters, removedSeen); err != nil {
		return nil, err
	}
	if err := checkAllSeen("changedSearchTargets", changedSearchTargets, targetsSeen); err != nil {
		return nil, err
	}
	if err := checkAllSeen("expressionFixes", expressionFixes, fixesSeen); err != nil {
		return nil, err
	}

	sort.Slice(params, func(i, j int) bool { return params[i].URL < params[j].URL })
	if err := checkUniqueCodes(params, known); err != nil {
		return nil, err
	}
	return params, nil
}

// checkUniqueCodes makes sure no resource type has two parameters with the
// same code, so package definitions can key them by code.
func checkUniqueCodes(params format.SearchParameters, known map[string]format.Type) error {
	for resourceType, t := range known {
		if t.Kind != format.KindResource {
			continue
		}
		codes := map[string]string{}
		for _, p := range params {
			if !appliesTo(p.Base, resourceType, known) {
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
func appliesTo(bases []string, resourceType string, known map[string]format.Type) bool {
	for t := resourceType; t != ""; t = known[t].Base {
		if slices.Contains(bases, t) {
			return true
		}
	}
	return false
}

func buildCompartment(src *source, known map[string]format.Type, params format.SearchParameters) (format.PatientCompartment, error) {
	changedSeen := map[string]bool{}
	out := format.PatientCompartment{}

	for _, r := range src.compartment.Resource {
		if t, ok := known[r.Code]; !ok || t.Kind != format.KindResource {
			return nil, fmt.Errorf("the Patient compartment lists %q, which is not an R4 resource type", r.Code)
		}

		codes := r.Param
		if change, ok := changedCompartment[r.Code]; ok {
			if !slices.Equal(codes, change.From) {
				return nil, fmt.Errorf("changedCompartment[%s] expects %v but the source has %v", r.Code, change.From, codes)
			}
			codes = change.To
			changedSeen[r.Code] = true
		}

		// A resource type without params is listed only to say it is never
		// in the compartment.
		if len(codes) == 0 {
			continue
		}
		for _, code := range codes {
			if !hasParameter(params, r.Code, code, known) {
				return nil, fmt.Errorf("the Patient compartment places %s by %q, which is not a search parameter of %s", r.Code, code, r.Code)
			}
		}
		out[r.Code] = codes
	}

	if err := checkAllSeen("changedCompartment", changedCompartment, changedSeen); err != nil {
		return nil, err
	}
	return out, nil
}

func hasParameter(params format.SearchParameters, resourceType, code string, known map[string]format.Type) bool {
	for _, p := range params {
		if p.Code == code && appliesTo(p.Base, resourceType, known) {
			return true
		}
	}
	return false
}
