package fhir

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// What jsonformat (google/fhir go v0.7.4, R4, NewUnmarshaller) rejects, as
// measured by the cases in parse_test.go:
//   - unknown elements, also in contained resources, Bundle entries and
//     primitive extensions ("_birthDate": {"foo": 1});
//   - a JSON array for an element of maximum cardinality 1, and a single
//     value for a repeating element;
//   - primitives of the wrong JSON kind or format: dates, dateTimes,
//     instants and times (month 13, February 30, a time without zone),
//     decimals written as strings, integers with a fraction or out of
//     range, booleans as strings, invalid base64, codes outside a required
//     value set (Patient.gender "xx");
//   - formats checked after parsing: id, code, oid, uuid, uri and control
//     characters in strings;
//   - more than one type for a choice element (valueQuantity and
//     valueString), and value and _value arrays of different lengths;
//   - missing required elements (minimum cardinality 1), Extension.url
//     among them;
//   - relative references to a resource type that the element does not
//     allow ("Patient/2" in Patient.managingOrganization).
//
// What it accepts, and Ward therefore checks here:
//   - duplicate keys, lone UTF-16 surrogate escapes ("\ud800", which it
//     reads as U+FFFD) and numbers past the range of a float64 written
//     without an exponent (scan.go);
//   - element names with an upper-case first letter, which it folds to
//     lower case ("Name" is read as "name");
//   - null for a complex or repeating element, empty objects, empty arrays
//     and empty strings, all of which FHIR JSON forbids;
//   - extensions with both a value and nested extensions, or with neither
//     (invariant ext-1);
//   - contained resources: it parses them but its validator skips them, so
//     required elements and formats in them go unchecked. Ward runs
//     jsonformat on each one on its own, and checks dom-2 (no nested
//     contained), dom-4 (no meta.versionId or meta.lastUpdated) and dom-5
//     (no meta.security);
//   - local references: dom-3 (every contained resource is referenced),
//     ref-1 ("#id" names a contained resource) and unique contained ids
//     (references.go);
//   - the XHTML of Narrative.div, which it takes as any string. Ward
//     requires well-formed XHTML in one div element of the XHTML namespace,
//     with content (txt-2) and only the elements that txt-1 allows, and
//     rejects event handler attributes and script URLs (narrative.go);
//   - the id in a relative reference: it takes "Organization/a b" as a
//     URI, and Ward requires a valid id after a known resource type.
//
// What neither checks: invariants written in FHIRPath other than the
// above, bindings other than required codes bound to enums, and absolute
// references.
//
// What jsonformat wrongly rejects: the null placeholders that align a
// primitive array with its _ array (["a", null] with [null, {"id": "x"}]),
// which FHIR JSON allows. Ward gives jsonformat a copy with the
// placeholders filled in (placeholder.go). It also rejects an id or code
// element that has extensions but no value, which FHIR allows; Ward
// passes that rejection on.
//
// What makes jsonformat fail instead of reporting: a "_div" key, and a
// number with an exponent past the range of a float64 (1e999). Ward
// removes "_div" from jsonformat's copy and rejects both itself.

// validate runs jsonformat and Ward's own checks over a resource that has
// passed the syntax, depth, duplicate-key and resourceType checks. It
// returns the issues found and the number of problems found but not made
// into issues because a list had reached maxIssues.
func validate(body []byte, object map[string]any) ([]Issue, int) {
	issues, unlisted := runJSONFormat(body, object)
	root, _ := object["resourceType"].(string)
	w := &structureWalker{jsonformatParsed: len(issues) == 0 && unlisted == 0, contained: -1}
	w.resource(object, root, false)
	issues = append(issues, w.list.issues...)
	return dedupeIssues(issues), unlisted + w.list.unlisted
}

// structureWalker applies the checks that jsonformat lacks. Paths are kept
// in jsonformat's JSON-key dialect so that locate can translate them.
type structureWalker struct {
	// jsonformatParsed is true when jsonformat parsed the whole resource,
	// so its contained resources can be validated on their own.
	jsonformatParsed bool
	list             issueList

	// scope gathers the contained resources and local references of the
	// resource being walked (see references.go), and contained is the
	// index in scope of the contained resource being walked, or -1.
	scope     *referenceScope
	contained int
	// kinds caches referenceKindOf by element.
	kinds map[string]referenceKind
}

// add records an issue at path. describe builds the diagnostics from the
// FHIRPath expression of path, and runs only while the list has room.
func (w *structureWalker) add(code, path string, describe func(expression string) string) {
	if w.list.full() {
		return
	}
	expression := fhirPathOfJSONPath(path)
	w.list.issues = append(w.list.issues, Issue{
		Severity:    "error",
		Code:        code,
		Diagnostics: describe(expression),
		Expression:  expressionList(expression),
	})
}

func (w *structureWalker) resource(object map[string]any, path string, contained bool) {
	if !contained {
		// Each resource that is not contained has its own contained
		// resources and local references: a Bundle entry's "#x" names a
		// resource contained in that entry, not in the Bundle.
		outerScope, outerContained := w.scope, w.contained
		w.scope, w.contained = &referenceScope{}, -1
		w.object(object, path)
		w.checkLocalReferences(w.scope)
		w.scope, w.contained = outerScope, outerContained
		return
	}

	w.containedRules(object, path)
	if w.contained >= 0 {
		// A resource contained in a contained resource breaks dom-2, which
		// containedRules reports. Its references count as its container's.
		w.object(object, path)
		return
	}
	w.contained = w.scope.addContained(object, path)
	w.object(object, path)
	w.contained = -1
}

func (w *structureWalker) containedRules(object map[string]any, path string) {
	expression := fhirPathOfJSONPath(path)
	if _, ok := object["contained"]; ok {
		w.add("invariant", path+".contained", func(string) string {
			return fmt.Sprintf("dom-2: the contained resource %s must not contain resources itself", expression)
		})
	}
	if meta, ok := object["meta"].(map[string]any); ok {
		for _, key := range []string{"versionId", "lastUpdated"} {
			if _, ok := meta[key]; ok {
				w.add("invariant", path+".meta."+key, func(string) string {
					return fmt.Sprintf("dom-4: the contained resource %s must not have meta.%s", expression, key)
				})
			}
		}
		if _, ok := meta["security"]; ok {
			w.add("invariant", path+".meta.security", func(string) string {
				return fmt.Sprintf("dom-5: the contained resource %s must not have a security label", expression)
			})
		}
	}
	if w.jsonformatParsed {
		issues, unlisted := validateContained(object, expression)
		for _, issue := range issues {
			w.list.add(issue)
		}
		w.list.unlisted += unlisted
	}
}

func (w *structureWalker) object(object map[string]any, path string) {
	if len(object) == 0 {
		w.add("structure", path, func(expression string) string {
			return fmt.Sprintf("%s is an empty object; FHIR JSON omits elements that have no content", expression)
		})
		return
	}

	for _, key := range sortedKeys(object) {
		value := object[key]
		childPath := joinJSONPath(path, key)

		bare := strings.TrimPrefix(key, "_")
		if bare == "" || bare[0] < 'a' || bare[0] > 'z' {
			w.add("structure", childPath, func(string) string {
				return fmt.Sprintf("unknown element %q in %s; element names start with a lower-case letter", key, fhirPathOfJSONPath(path))
			})
			continue
		}
		if key == "resourceType" {
			continue
		}
		if key == "_div" {
			// Only Narrative has an element named div.
			w.add("structure", childPath, func(string) string {
				return fmt.Sprintf(`"_div" is not allowed in %s: Narrative.div is xhtml, which has no id or extensions`, fhirPathOfJSONPath(path))
			})
			continue
		}

		switch v := value.(type) {
		case nil:
			w.add("structure", childPath, nullDiagnostics)
		case string:
			w.noteLocalReference(path, key, v, childPath)
			if v == "" {
				w.add("value", childPath, func(expression string) string {
					return fmt.Sprintf("%s is an empty string; FHIR strings have at least one character, so omit the element instead", expression)
				})
			} else if key == "div" {
				// Only Narrative has an element named div.
				if code, problem := checkNarrative(v); problem != "" {
					w.add(code, childPath, func(string) string { return problem })
				}
			} else if key == "reference" {
				if problem := checkRelativeReference(v); problem != "" {
					w.add("value", childPath, func(string) string { return problem })
				}
			}
		case []any:
			w.array(object, path, key, v, childPath)
		case map[string]any:
			w.child(key, v, childPath)
		}
	}

	if isExtensionPath(path) {
		w.extensionRule(object, path)
	}
}

// child checks an object value. Only resources have a resourceType, so an
// object with one is a resource: an item of contained, the resource of a
// Bundle entry or Parameters parameter, or a Bundle response's outcome.
func (w *structureWalker) child(key string, object map[string]any, path string) {
	if resourceType, ok := object["resourceType"].(string); ok && definitions.IsResourceType(resourceType) {
		w.resource(object, path+"."+resourceType, key == "contained")
		return
	}
	w.object(object, path)
}

// array checks the list under key in parent, whose path is parentPath.
func (w *structureWalker) array(parent map[string]any, parentPath, key string, list []any, path string) {
	if len(list) == 0 {
		w.add("structure", path, func(expression string) string {
			return fmt.Sprintf("%s is an empty array; FHIR JSON omits a repeating element that has no items", expression)
		})
		return
	}

	// A primitive array and its _ companion use null to keep their items
	// aligned, so an item may be null when the other array has one there.
	companionKey := "_" + key
	if strings.HasPrefix(key, "_") {
		companionKey = key[1:]
	}
	companion, _ := parent[companionKey].([]any)

	for i, item := range list {
		itemPath := path + "[" + strconv.Itoa(i) + "]"
		switch v := item.(type) {
		case nil:
			if i < len(companion) && companion[i] != nil {
				continue
			}
			w.add("structure", itemPath, nullDiagnostics)
		case string:
			w.noteLocalReference(parentPath, key, v, itemPath)
			if v == "" {
				w.add("value", itemPath, func(expression string) string {
					return fmt.Sprintf("%s is an empty string; FHIR strings have at least one character", expression)
				})
			}
		case []any:
			w.add("structure", itemPath, func(expression string) string {
				return fmt.Sprintf("%s is an array inside an array, which FHIR JSON never has", expression)
			})
		case map[string]any:
			w.child(key, v, itemPath)
		}
	}
}

func isExtensionPath(path string) bool {
	last := path[strings.LastIndexByte(path, '.')+1:]
	name, _ := splitIndexes(last)
	return name == "extension" || name == "modifierExtension"
}

// extensionRule checks invariant ext-1: an extension has nested extensions
// or a value[x], never both and never neither.
func (w *structureWalker) extensionRule(object map[string]any, path string) {
	hasValue := false
	for key := range object {
		bare := strings.TrimPrefix(key, "_")
		if len(bare) > len("value") && strings.HasPrefix(bare, "value") && isUpperASCII(bare[len("value")]) {
			hasValue = true
		}
	}
	nested, _ := object["extension"].([]any)
	hasExtensions := len(nested) > 0

	switch {
	case hasValue && hasExtensions:
		w.add("invariant", path, func(expression string) string {
			return fmt.Sprintf("ext-1: %s has both a value[x] and nested extensions; it must have one or the other", expression)
		})
	case !hasValue && !hasExtensions:
		w.add("invariant", path, func(expression string) string {
			return fmt.Sprintf("ext-1: %s has neither a value[x] nor nested extensions; it must have one or the other", expression)
		})
	}
}

// validateContained runs jsonformat on one contained resource, because its
// validator does not descend into contained resources, and places the
// findings under expression, the contained resource's location. The second
// result counts findings beyond maxIssues that were not translated.
func validateContained(object map[string]any, expression string) ([]Issue, int) {
	u, err := unmarshaller()
	if err != nil {
		return []Issue{internalIssue(err)}, 0
	}
	body, err := json.Marshal(object)
	if err != nil {
		return []Issue{internalIssue(fmt.Errorf("encode contained resource %s: %w", expression, err))}, 0
	}
	rep := &reporter{}
	if _, err := u.UnmarshalWithErrorReporter(jsonformatInput(body, object), rep); err != nil {
		// The containing resource parsed, so this one does too; a failure
		// here is jsonformat's, and the parse issues are already reported.
		return nil, 0
	}

	resourceType, _ := object["resourceType"].(string)
	issues, unlisted := validatorIssues(object, rep.problems, nil)
	for i := range issues {
		for j, e := range issues[i].Expression {
			if e == resourceType || strings.HasPrefix(e, resourceType+".") {
				issues[i].Expression[j] = expression + strings.TrimPrefix(e, resourceType)
			}
		}
		issues[i].Diagnostics = strings.ReplaceAll(issues[i].Diagnostics, " "+resourceType+".", " "+expression+".")
	}
	return issues, unlisted
}

// dedupeIssues drops an issue with the same code and expressions as an
// earlier one, which happens where jsonformat and Ward's checks both catch
// a problem.
func dedupeIssues(issues []Issue) []Issue {
	seen := map[string]bool{}
	out := issues[:0]
	for _, issue := range issues {
		key := issue.Code + "\x00" + strings.Join(issue.Expression, "\x00")
		if len(issue.Expression) > 0 && seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, issue)
	}
	return out
}

func sortedKeys(object map[string]any) []string {
	keys := make([]string, 0, len(object))
	for k := range object {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

var relativeReferencePattern = regexp.MustCompile(`^([A-Z][A-Za-z]+)/([^/]*)(/_history/([^/]*))?$`)

// checkRelativeReference checks a Reference.reference of the form Type/id
// or Type/id/_history/version whose Type is an R4 resource type. Other
// forms (absolute URLs, urn:uuid:, #fragments, conditional references
// such as Patient?identifier=x) are left alone.
func checkRelativeReference(reference string) string {
	m := relativeReferencePattern.FindStringSubmatch(reference)
	if m == nil || !definitions.IsResourceType(m[1]) {
		return ""
	}
	if !idPattern.MatchString(m[2]) {
		return fmt.Sprintf(`invalid reference %q: the id after "%s/" must match [A-Za-z0-9\-\.]{1,64}`, reference, m[1])
	}
	if m[3] != "" && !idPattern.MatchString(m[4]) {
		return fmt.Sprintf(`invalid reference %q: the version after "_history/" must match [A-Za-z0-9\-\.]{1,64}`, reference)
	}
	return ""
}
