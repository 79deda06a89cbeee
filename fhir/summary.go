package fhir

import (
	"fmt"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// The tag that marks a resource from which the server left out elements
// (R4 search.html, _summary and _elements).
const (
	subsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	subsettedCode   = "SUBSETTED"
)

// Summary returns a copy of obj reduced as the _summary search parameter
// defines it:
//   - "true": the elements that the R4 StructureDefinitions mark isSummary,
//     the mandatory ones (minimum cardinality 1), and resourceType, id and
//     meta. In the resource and its backbone elements each child is chosen
//     this way. A kept element of a data type (HumanName, Reference, ...)
//     is kept whole. modifierExtension is kept too, because leaving out a
//     modifier would change what the rest means.
//   - "text": text, id, meta, resourceType and the top-level mandatory
//     elements.
//   - "data": everything but text.
//   - "false": everything.
//
// When the copy lacks any element of obj, its meta.tag gains the SUBSETTED
// code (system http://terminology.hl7.org/CodeSystem/v3-ObservationValue),
// so that no reader takes it for the whole resource. "count" and other modes
// are an error, since they do not apply to one resource.
func Summary(obj map[string]any, mode string) (map[string]any, error) {
	resourceType, _ := obj["resourceType"].(string)

	var out map[string]any
	switch mode {
	case "false":
		return deepCopy(obj).(map[string]any), nil
	case "true":
		out = summaryOf(obj, resourceType)
	case "text":
		out = keepTopLevel(obj, resourceType, func(key string) bool { return key == "text" })
	case "data":
		out = deepCopy(obj).(map[string]any)
		delete(out, "text")
	default:
		return nil, fmt.Errorf("invalid _summary mode %q for a resource: use true, text, data or false", mode)
	}

	if lacksElements(obj, out) {
		markSubsetted(out)
	}
	return out, nil
}

// Elements returns a copy of obj with only the named top-level elements, as
// the _elements search parameter defines it, plus resourceType, id, meta and the
// top-level mandatory elements. A name may carry the resource type as a
// prefix ("Patient.name"). A choice element is named without its type
// ("value" keeps valueQuantity), and a primitive's "_" extension companion
// follows its element. Names of no element in obj are ignored. When the
// copy lacks any element of obj, its meta.tag gains SUBSETTED.
func Elements(obj map[string]any, names []string) map[string]any {
	resourceType, _ := obj["resourceType"].(string)

	wanted := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		name = strings.TrimPrefix(name, resourceType+".")
		if name != "" {
			wanted[name] = true
		}
	}

	out := keepTopLevel(obj, resourceType, func(key string) bool {
		return wanted[key] || wanted[strings.TrimSuffix(elementName(resourceType, key), "[x]")]
	})
	if lacksElements(obj, out) {
		markSubsetted(out)
	}
	return out
}

// keepTopLevel copies resourceType, id, meta, the mandatory top-level
// elements and those that keep accepts.
func keepTopLevel(obj map[string]any, resourceType string, keep func(key string) bool) map[string]any {
	out := map[string]any{}
	for key, value := range obj {
		base := strings.TrimPrefix(key, "_")
		switch {
		case key == "resourceType", base == "id", base == "meta":
		case keep(base):
		case isMandatory(resourceType + "." + elementName(resourceType, base)):
		default:
			continue
		}
		out[key] = deepCopy(value)
	}
	return out
}

// summaryOf copies the summary elements of object, whose elements are
// defined under path (a resource type or a backbone element's path).
func summaryOf(object map[string]any, path string) map[string]any {
	out := map[string]any{}
	for key, value := range object {
		base := strings.TrimPrefix(key, "_")
		if key == "resourceType" || base == "id" || base == "meta" || base == "modifierExtension" {
			out[key] = deepCopy(value)
			continue
		}

		element, ok := definitions.LookupElement(path + "." + elementName(path, base))
		if !ok || !(element.IsSummary || element.Min > 0) {
			continue
		}

		childPath := backbonePath(element)
		if childPath == "" {
			out[key] = deepCopy(value)
			continue
		}
		out[key] = summaryOfBackbone(value, childPath)
	}
	return out
}

func summaryOfBackbone(value any, path string) any {
	switch v := value.(type) {
	case map[string]any:
		return summaryOf(v, path)
	case []any:
		items := make([]any, len(v))
		for i, item := range v {
			items[i] = summaryOfBackbone(item, path)
		}
		return items
	default:
		return v
	}
}

// backbonePath returns the path under which the children of element are
// defined when it is a backbone element, or "" for a data type.
func backbonePath(element definitions.Element) string {
	if element.ContentReference != "" {
		return strings.TrimPrefix(element.ContentReference, "#")
	}
	if len(element.Types) == 1 && (element.Types[0].Code == "BackboneElement" || element.Types[0].Code == "Element") {
		return element.Path
	}
	return ""
}

// elementName returns the name under which path's definitions list a JSON
// key: the key itself, or "value[x]" for a choice key such as
// "valueQuantity".
func elementName(path, key string) string {
	if _, ok := definitions.LookupElement(path + "." + key); ok {
		return key
	}
	for _, child := range definitions.Children(path) {
		name := child.Path[strings.LastIndexByte(child.Path, '.')+1:]
		base, isChoice := strings.CutSuffix(name, "[x]")
		if isChoice && len(key) > len(base) && strings.HasPrefix(key, base) && isUpperASCII(key[len(base)]) {
			return name
		}
	}
	if choice := key + "[x]"; definitionExists(path + "." + choice) {
		return choice
	}
	return key
}

func definitionExists(path string) bool {
	_, ok := definitions.LookupElement(path)
	return ok
}

func isMandatory(path string) bool {
	element, ok := definitions.LookupElement(path)
	return ok && element.Min > 0
}

// lacksElements reports whether reduced has fewer top-level or nested
// elements than full.
func lacksElements(full, reduced any) bool {
	switch f := full.(type) {
	case map[string]any:
		r, _ := reduced.(map[string]any)
		for key, value := range f {
			rv, ok := r[key]
			if !ok || lacksElements(value, rv) {
				return true
			}
		}
	case []any:
		r, _ := reduced.([]any)
		if len(r) < len(f) {
			return true
		}
		for i := range f {
			if lacksElements(f[i], r[i]) {
				return true
			}
		}
	}
	return false
}

// markSubsetted adds the SUBSETTED tag to obj's meta unless it is there.
func markSubsetted(obj map[string]any) {
	meta, _ := obj["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	tags, _ := meta["tag"].([]any)
	for _, tag := range tags {
		if coding, ok := tag.(map[string]any); ok && coding["system"] == subsettedSystem && coding["code"] == subsettedCode {
			return
		}
	}
	meta["tag"] = append(tags, map[string]any{"system": subsettedSystem, "code": subsettedCode})
	obj["meta"] = meta
}
