package fhir

import (
	"fmt"
	"strings"
)

// Local references point from a resource into its own contained resources:
// "#o1" names the contained resource with id o1, and "#" names the
// containing resource itself. R4 ties the two together with two rules,
// which jsonformat does not check:
//
//   - dom-3: every contained resource is referenced from elsewhere in the
//     resource (by a Reference.reference, any element named reference, or
//     a canonical, uri or url value equal to "#" + its id), or refers to
//     its container with "#". Ward also requires the id, which a reference
//     needs.
//   - ref-1: a Reference.reference that starts with "#", other than "#"
//     alone, names the id of a contained resource.
//
// The scope of both is one resource that is not itself contained: a
// Bundle entry's references name resources contained in that entry. Ward
// also rejects two contained resources with the same id, because "#id"
// would then not say which one is meant.

// referenceScope gathers what dom-3 and ref-1 need from one resource.
type referenceScope struct {
	contained []containedResource
	// ids maps each contained id to the first contained resource with it.
	ids map[string]int
	// candidates are the strings starting with "#" anywhere in the
	// resource, its contained resources included.
	candidates []localReference
}

type containedResource struct {
	path string // JSON-key path, with the resource type as the last step
	id   string
}

type localReference struct {
	// parentPath and key locate the element, for finding its type.
	parentPath, key string
	path            string
	value           string
	// contained is the index of the contained resource that holds the
	// string, or -1.
	contained int
}

// referenceKind is the role of a string that starts with "#", given by the
// type of its element.
type referenceKind int

const (
	// notReference is an element of another type, such as a string.
	notReference referenceKind = iota
	// referenceTarget is a canonical, uri or url value, or an element
	// named reference of another type: dom-3 counts it, ref-1 does not
	// apply.
	referenceTarget
	// referenceReference is a Reference.reference: dom-3 counts it and
	// ref-1 applies.
	referenceReference
)

// addContained records a contained resource at path and returns its index.
func (s *referenceScope) addContained(object map[string]any, path string) int {
	id, _ := object["id"].(string)
	s.contained = append(s.contained, containedResource{path: path, id: id})
	return len(s.contained) - 1
}

// noteLocalReference records value, found at path under key of the object
// at parentPath, when it may be a local reference.
func (w *structureWalker) noteLocalReference(parentPath, key, value, path string) {
	if w.scope == nil || !strings.HasPrefix(value, "#") {
		return
	}
	w.scope.candidates = append(w.scope.candidates, localReference{
		parentPath: parentPath, key: key, path: path, value: value, contained: w.contained,
	})
}

// checkLocalReferences applies dom-3, ref-1 and the uniqueness of contained
// ids to what the walk of one resource gathered in scope.
func (w *structureWalker) checkLocalReferences(scope *referenceScope) {
	if len(scope.contained) == 0 && len(scope.candidates) == 0 {
		return
	}

	scope.ids = make(map[string]int, len(scope.contained))
	for i, c := range scope.contained {
		if c.id == "" {
			continue
		}
		if first, seen := scope.ids[c.id]; seen {
			w.add("invariant", c.path+".id", func(expression string) string {
				return fmt.Sprintf("contained resources %s and %s have the same id %q; each contained resource needs its own id so that \"#%s\" names one of them",
					fhirPathOfJSONPath(scope.contained[first].path), fhirPathOfJSONPath(c.path), c.id, c.id)
			})
			continue
		}
		scope.ids[c.id] = i
	}

	referenced := make(map[string]bool)
	refersToContainer := make([]bool, len(scope.contained))
	for _, candidate := range scope.candidates {
		kind := w.referenceKindOf(candidate.parentPath, candidate.key)
		if kind == notReference {
			continue
		}
		referenced[candidate.value] = true
		if candidate.value == "#" {
			if candidate.contained >= 0 {
				refersToContainer[candidate.contained] = true
			}
			continue
		}
		if kind == referenceReference {
			if _, ok := scope.ids[candidate.value[1:]]; !ok {
				w.add("invariant", candidate.path, func(expression string) string {
					return fmt.Sprintf("ref-1: the local reference %q at %s names no contained resource; the resource has no contained resource with id %q",
						truncate(candidate.value, 80), expression, truncate(candidate.value[1:], 80))
				})
			}
		}
	}

	for i, c := range scope.contained {
		switch {
		case c.id == "":
			w.add("invariant", c.path, func(expression string) string {
				return fmt.Sprintf("dom-3: the contained resource %s has no id, so nothing can refer to it; give it an id and refer to it as \"#\" followed by the id", expression)
			})
		case !referenced["#"+c.id] && !refersToContainer[i]:
			w.add("invariant", c.path, func(expression string) string {
				return fmt.Sprintf("dom-3: the contained resource %s (id %q) is not referenced from elsewhere in the resource and does not refer to its container; refer to it as \"#%s\" or remove it",
					expression, c.id, c.id)
			})
		}
	}
}

// referenceKindOf returns the kind of the element key in the object at
// parentPath. The kind depends only on the path without indexes, so the
// cache key drops them.
func (w *structureWalker) referenceKindOf(parentPath, key string) referenceKind {
	cacheKey := removeIndexes(parentPath) + "\x00" + key
	if kind, ok := w.kinds[cacheKey]; ok {
		return kind
	}

	kind := notReference
	bare := strings.TrimPrefix(key, "_")
	parent := locate(nil, parentPath).message
	switch {
	case parent != nil && parent.FullName() == referenceName && bare == "reference":
		kind = referenceReference
	case bare == "reference":
		kind = referenceTarget
	case parent != nil:
		element := locate(nil, parentPath+"."+bare).message
		switch primitiveTypeName(element) {
		case "canonical", "uri", "url":
			kind = referenceTarget
		}
	}

	if w.kinds == nil {
		w.kinds = map[string]referenceKind{}
	}
	w.kinds[cacheKey] = kind
	return kind
}

// removeIndexes drops every [n] from a path.
func removeIndexes(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
