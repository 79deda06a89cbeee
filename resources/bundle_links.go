package resources

import (
	"regexp"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// linkKind is the kind of element in which a link was found.
type linkKind int

const (
	// linkReference is a Reference.reference.
	linkReference linkKind = iota
	// linkURI is an element of type uri or url.
	linkURI
	// linkNarrative is the value of an href or src attribute in the
	// narrative's XHTML.
	linkNarrative
)

// link is one string that can point at another resource.
type link struct {
	kind  linkKind
	value string

	// targets are the resource types a Reference may point to, from the
	// element's definition; empty or "Resource" means any type.
	targets []string
}

// linkVisitor returns the value that replaces a link, and false to leave
// the link as it is.
type linkVisitor func(l link) (string, bool, error)

// rewriteLinks walks a resource along its R4 definition and lets visit
// replace each link in place: Reference.reference, every element of type
// uri or url except Extension.url, and the href and src attributes of
// narratives. Contained resources and resources inside Parameters are
// walked too. Elements of type canonical, oid and uuid are left alone:
// R4 excludes canonical from rewriting, and a Type/id or a URL is not a
// valid oid or uuid. A Bundle is left as it is, with the resources in it,
// because its fullUrls and references form a document of their own.
func rewriteLinks(resource map[string]any, visit linkVisitor) error {
	w := linkWalker{visit: visit}
	w.resource(resource)
	return w.err
}

type linkWalker struct {
	visit linkVisitor
	err   error
}

func (w *linkWalker) resource(obj map[string]any) {
	resourceType, _ := obj["resourceType"].(string)
	if resourceType == "Bundle" || !definitions.IsResourceType(resourceType) {
		return
	}
	w.object(obj, resourceType, nil)
}

// object walks the elements of obj, whose definition path is path, such
// as "Patient", "Patient.contact" or "Reference". targets are the allowed
// target types when obj is a Reference.
func (w *linkWalker) object(obj map[string]any, path string, targets []string) {
	for key, value := range obj {
		if w.err != nil {
			return
		}
		if key == "resourceType" {
			continue
		}
		if strings.HasPrefix(key, "_") {
			// The id and extensions of a primitive value.
			w.primitiveExtensions(value)
			continue
		}
		if path == "Reference" && key == "reference" {
			obj[key] = w.replace(value, linkReference, targets)
			continue
		}
		el, code, ok := childElement(path, key)
		if !ok {
			continue
		}
		obj[key] = w.value(value, el, code)
	}
}

func (w *linkWalker) primitiveExtensions(value any) {
	switch v := value.(type) {
	case map[string]any:
		w.object(v, "Element", nil)
	case []any:
		for _, item := range v {
			if m, ok := item.(map[string]any); ok {
				w.object(m, "Element", nil)
			}
		}
	}
}

// value walks one element's value, an item or an array of items, and
// returns it with its links replaced.
func (w *linkWalker) value(value any, el definitions.Element, code string) any {
	switch v := value.(type) {
	case []any:
		for i, item := range v {
			v[i] = w.value(item, el, code)
		}
		return v
	case string:
		switch {
		case code == "xhtml":
			return w.narrative(v)
		case (code == "uri" || code == "url") && el.Path != "Extension.url":
			return w.replace(v, linkURI, nil)
		}
		return v
	case map[string]any:
		switch {
		case code == "Resource":
			w.resource(v)
		case code == "Reference":
			w.object(v, "Reference", referenceTargets(el))
		default:
			if next := childPath(el, code); next != "" {
				w.object(v, next, nil)
			}
		}
		return v
	}
	return value
}

func (w *linkWalker) replace(value any, kind linkKind, targets []string) any {
	s, ok := value.(string)
	if !ok || w.err != nil {
		return value
	}
	replacement, changed, err := w.visit(link{kind: kind, value: s, targets: targets})
	if err != nil {
		w.err = err
		return value
	}
	if changed {
		return replacement
	}
	return value
}

// narrativeLink finds href and src attributes in XHTML. Narrative XHTML
// is well formed, so every attribute value is quoted.
var narrativeLink = regexp.MustCompile(`\b(href|src)(\s*=\s*)("[^"]*"|'[^']*')`)

func (w *linkWalker) narrative(div string) string {
	return narrativeLink.ReplaceAllStringFunc(div, func(attribute string) string {
		if w.err != nil {
			return attribute
		}
		m := narrativeLink.FindStringSubmatch(attribute)
		quoted := m[3]
		value := quoted[1 : len(quoted)-1]
		replacement, changed, err := w.visit(link{kind: linkNarrative, value: value})
		if err != nil {
			w.err = err
			return attribute
		}
		if !changed {
			return attribute
		}
		return m[1] + m[2] + quoted[:1] + replacement + quoted[:1]
	})
}

// childElement returns the definition of the element named key under
// path and the type code of its value. A choice element such as
// Observation.value[x] is found by its typed name, such as valueQuantity.
func childElement(path, key string) (definitions.Element, string, bool) {
	if el, ok := definitions.LookupElement(path + "." + key); ok {
		code := ""
		if len(el.Types) == 1 {
			code = el.Types[0].Code
		}
		return el, code, true
	}
	for _, el := range definitions.Children(path) {
		name := el.Path[strings.LastIndexByte(el.Path, '.')+1:]
		base, isChoice := strings.CutSuffix(name, "[x]")
		if !isChoice || !strings.HasPrefix(key, base) || len(key) == len(base) {
			continue
		}
		suffix := key[len(base):]
		for _, t := range el.Types {
			if strings.EqualFold(t.Code, suffix) && suffix[0] >= 'A' && suffix[0] <= 'Z' {
				return el, t.Code, true
			}
		}
	}
	return definitions.Element{}, "", false
}

// childPath returns the definition path of the children of an object
// value. That is the element's own path for an inline backbone element,
// the referenced path for an element defined by reference (such as
// Questionnaire.item.item), and the type's name for a complex data type.
// It returns "" for primitives.
func childPath(el definitions.Element, code string) string {
	if el.ContentReference != "" {
		return strings.TrimPrefix(el.ContentReference, "#")
	}
	switch {
	case code == "BackboneElement" || code == "Element":
		return el.Path
	case definitions.IsComplexType(code):
		return code
	}
	return ""
}

// referenceTargets returns the resource types that a Reference element
// allows.
func referenceTargets(el definitions.Element) []string {
	for _, t := range el.Types {
		if t.Code == "Reference" {
			return t.TargetProfiles
		}
	}
	return nil
}

// allowsTarget reports whether a Reference whose definition allows
// targets may point to a resource of resourceType.
func allowsTarget(targets []string, resourceType string) bool {
	if len(targets) == 0 {
		return true
	}
	for _, t := range targets {
		if t == resourceType || t == "Resource" {
			return true
		}
	}
	return false
}
