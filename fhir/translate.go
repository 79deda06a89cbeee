package fhir

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// parseIssue translates a problem that jsonformat's parser returned: the JSON
// does not fit the R4 types.
func parseIssue(object map[string]any, p jsonformatProblem) Issue {
	issue := Issue{Severity: "error"}
	loc := locate(object, p.Path)

	switch {
	case p.Path == "":
		// jsonformat names no element when its JSON reader fails. The
		// checks before it (scan.go) catch what is known to cause this.
		issue.Code = "structure"
		issue.Diagnostics = "jsonformat could not read the resource: " + truncate(joinDetails(p), 200)

	case p.Details == "unknown field":
		key, _ := keyInDiagnostics(p)
		issue.Code = "structure"
		issue.Expression, issue.Diagnostics = unknownElement(object, p.Path, key)

	case p.Details == "invalid field":
		// jsonformat reads a key that names a field of its proto but no FHIR
		// element, such as "value" in "_gender": {"value": "female"}.
		parentPath := trimLastStep(p.Path)
		key := strings.TrimPrefix(p.Path, parentPath+".")
		issue.Code = "structure"
		issue.Expression = expressionList(loc.expression)
		if holder, ok := primitiveExtensionObject(parentPath); ok {
			issue.Diagnostics = fmt.Sprintf(`unknown element %q in the "%s" object of %s, which may contain only "id" and "extension"`,
				key, holder, locate(object, parentPath).expression)
		} else {
			issue.Diagnostics = fmt.Sprintf("unknown element %q in %s", key, locate(object, parentPath).expression)
		}

	case strings.HasPrefix(p.Details, "cannot accept multiple values for "):
		key, _ := keyInDiagnostics(p)
		parent, _ := loc.value.(map[string]any)
		keys := append(choiceSiblings(parent, p), key)
		sortStrings(keys)
		element := locate(object, p.Path+"."+key).expression
		element = strings.Split(element, ".ofType(")[0]
		issue.Code = "structure"
		issue.Expression = expressionList(element)
		issue.Diagnostics = fmt.Sprintf("choice element %s[x] has more than one value (%s); it takes exactly one type", element, strings.Join(keys, ", "))

	case p.Details == "expected array":
		issue.Code = "structure"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = fmt.Sprintf("%s repeats (maximum cardinality *), so its value must be a JSON array, found %s", loc.expression, jsonKind(loc.value))

	case p.Details == "invalid JSON":
		issue.Code = "structure"
		issue.Expression = expressionList(loc.expression)
		if _, isArray := loc.value.([]any); isArray {
			issue.Diagnostics = fmt.Sprintf("%s has maximum cardinality 1, so its value must not be a JSON array", loc.expression)
		} else {
			issue.Diagnostics = fmt.Sprintf("%s must be a JSON object, found %s", loc.expression, jsonKind(loc.value))
		}

	case strings.HasPrefix(p.Details, "array length mismatch"):
		issue.Code = "structure"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = fmt.Sprintf("the arrays of values and of extensions (%s) of %s must have the same length: %s", loc.key, loc.expression, p.Details)

	case p.Details == "unknown resource type":
		issue.Code = "value"
		container := trimLastStep(p.Path)
		issue.Expression = expressionList(locate(object, container).expression)
		issue.Diagnostics = fmt.Sprintf("resourceType %s is not an R4 resource type", p.Diagnostics)

	case p.Details == `missing required field "resourceType"`:
		issue.Code = "required"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = fmt.Sprintf(`missing "resourceType" in the resource at %s`, loc.expression)

	case p.Details == "invalid resource type":
		issue.Code = "value"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = fmt.Sprintf(`"resourceType" must be a string, found %s`, p.Diagnostics)

	case p.Details == "code type mismatch":
		issue.Code = "code-invalid"
		issue.Expression = expressionList(loc.expression)
		valueSet := valueSetURL(loc.message)
		if valueSet == "" {
			valueSet = strings.TrimPrefix(p.Diagnostics, fmt.Sprintf("%q is not a ", loc.value))
		}
		issue.Diagnostics = fmt.Sprintf("invalid value %s for code: not in the required value set %s", literal(loc.value, loc.found), valueSet)

	case p.Details == "invalid reference":
		issue.Code = "value"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = fmt.Sprintf("invalid reference at %s: %s", loc.expression, p.Diagnostics)

	case loc.found && loc.value == nil:
		// Ward's own null check words this the same way, so dedupeIssues
		// keeps one of the two.
		issue.Code = "structure"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = nullDiagnostics(loc.expression)

	case isPrimitiveProblem(p.Details):
		issue.Code = "value"
		issue.Expression = expressionList(loc.expression)
		typeName := primitiveTypeName(loc.message)
		if typeName == "" {
			typeName = primitiveFromDetails(p.Details)
		}
		issue.Diagnostics = fmt.Sprintf("invalid value %s for %s: %s", literal(loc.value, loc.found), typeName, explainPrimitive(typeName, loc.value))

	default:
		issue.Code = "invalid"
		issue.Expression = expressionList(loc.expression)
		issue.Diagnostics = joinDetails(p)
	}
	return issue
}

// validatorIssues translates the findings of jsonformat's validator. A
// missing required element whose expression is in removed was taken out by
// pruneProblems and is not reported. At most maxIssues findings become
// issues, and the second result counts the rest.
func validatorIssues(object map[string]any, problems []jsonformatProblem, removed []string) ([]Issue, int) {
	if len(problems) > maxIssues {
		sortProblems(problems)
	}
	var issues []Issue
	for i, p := range problems {
		if len(issues) == maxIssues {
			// NOTE: the count may include a missing element that was
			// removed by pruneProblems and would not have been reported.
			return issues, len(problems) - i
		}
		issue, keep := validatorIssue(object, p, removed)
		if keep {
			issues = append(issues, issue)
		}
	}
	return issues, 0
}

var missingFieldPattern = regexp.MustCompile(`^missing required field "([^"]+)"$`)

func validatorIssue(object map[string]any, p jsonformatProblem, removed []string) (Issue, bool) {
	issue := Issue{Severity: "error"}
	loc := locate(object, p.Path)

	if m := missingFieldPattern.FindStringSubmatch(p.Details); m != nil {
		element := loc.expression + "." + m[1]
		for _, r := range removed {
			if r == element || strings.HasPrefix(r, element+".ofType(") {
				return Issue{}, false
			}
		}
		issue.Code = "required"
		issue.Expression = []string{element}
		issue.Diagnostics = fmt.Sprintf("missing required element %s (minimum cardinality 1)", element)
		return issue, true
	}

	issue.Expression = expressionList(loc.expression)
	switch {
	case p.Type == "ReferenceTypeError" || strings.HasPrefix(p.Details, "invalid reference to a "):
		issue.Code = "invalid"
		reference := ""
		if ref, ok := loc.value.(map[string]any); ok {
			reference, _ = ref["reference"].(string)
		}
		// Details reads "invalid reference to a Medication resource, want Patient, Group".
		target, allowed, _ := strings.Cut(strings.TrimPrefix(p.Details, "invalid reference to a "), " resource, want ")
		issue.Diagnostics = fmt.Sprintf("reference %q points to a resource of type %s, but %s may only refer to %s", reference, target, loc.expression, allowed)

	case strings.HasPrefix(p.Details, "string contains invalid characters: "):
		issue.Code = "value"
		issue.Diagnostics = fmt.Sprintf("invalid value %s for %s: contains the control character %s, which FHIR strings do not allow",
			literal(loc.value, loc.found), typeNameOr(loc, "string"), strings.TrimPrefix(p.Details, "string contains invalid characters: "))

	case p.Details == "string exceeds maximum size of 1 MB":
		issue.Code = "value"
		issue.Diagnostics = fmt.Sprintf("value of %s is longer than the 1 MB that FHIR allows for a string", loc.expression)

	case loc.inReference:
		issue.Code = "value"
		reference, _ := loc.value.(string)
		issue.Diagnostics = checkRelativeReference(reference)
		if issue.Diagnostics == "" {
			issue.Diagnostics = fmt.Sprintf("invalid reference %q: %s", reference, p.Details)
		}

	case !loc.found && hasPrimitiveExtension(loc):
		// NOTE: FHIR allows a primitive with extensions and no value, but
		// jsonformat (google/fhir go v0.7.4) checks the format of an id or
		// code element even when the value is absent, so Ward rejects it.
		issue.Code = "value"
		typeName := typeNameOr(loc, primitiveFromDetails(p.Details))
		issue.Diagnostics = fmt.Sprintf(`%s has no value, only the "_%s" object with its id or extensions; Ward requires a value for an element of type %s`,
			loc.expression, loc.key, typeName)

	default:
		// Formats of id, code, oid, uuid, uri and integer ranges.
		issue.Code = "value"
		typeName := typeNameOr(loc, primitiveFromDetails(p.Details))
		issue.Diagnostics = fmt.Sprintf("invalid value %s for %s: %s", literal(loc.value, loc.found), typeName, explainPrimitive(typeName, loc.value))
	}
	return issue, true
}

// hasPrimitiveExtension reports whether the object that holds loc's
// element has the element's "_" companion key.
func hasPrimitiveExtension(loc location) bool {
	if loc.parent == nil || loc.key == "" || strings.HasPrefix(loc.key, "_") {
		return false
	}
	_, ok := loc.parent["_"+loc.key]
	return ok
}

// unknownElement describes the unknown key in the object at path.
func unknownElement(object map[string]any, path, key string) ([]string, string) {
	parent := locate(object, path).expression
	if holder, ok := primitiveExtensionObject(path); ok {
		return expressionList(locate(object, path+"."+key).expression),
			fmt.Sprintf(`unknown element %q in the "%s" object of %s, which may contain only "id" and "extension"`, key, holder, parent)
	}
	if !strings.HasPrefix(key, "_") {
		return expressionList(locate(object, path+"."+key).expression), fmt.Sprintf("unknown element %q in %s", key, parent)
	}

	// jsonformat accepts "_x" for every primitive element x, so a known x
	// here is a complex element.
	element := locate(object, path+"."+key[1:])
	if element.message != nil && primitiveTypeName(element.message) == "" {
		return expressionList(element.expression),
			fmt.Sprintf(`%q is not allowed in %s: %s is not a primitive element, so it has no "_" object; its id and extensions go inside %s itself`,
				key, parent, element.expression, element.expression)
	}
	// There is no element to name, so the expression ends in the key as
	// written.
	return expressionList(parent + "." + key), fmt.Sprintf("unknown element %q in %s; %s has no element %s", key, parent, parent, key[1:])
}

// primitiveExtensionObject reports whether the last step of path is a
// primitive's "_" object, such as "_birthDate" or "_given[1]", and returns
// the step's name.
func primitiveExtensionObject(path string) (string, bool) {
	name, _ := splitIndexes(path[strings.LastIndexByte(path, '.')+1:])
	return name, strings.HasPrefix(name, "_")
}

func typeNameOr(loc location, fallback string) string {
	if name := primitiveTypeName(loc.message); name != "" {
		return name
	}
	return fallback
}

func isPrimitiveProblem(details string) bool {
	return strings.HasPrefix(details, "expected ") || strings.HasPrefix(details, "invalid ") ||
		strings.HasPrefix(details, "non-negative integer out of range")
}

// primitiveFromDetails reads the type out of messages such as "expected
// date" and "invalid Id format".
func primitiveFromDetails(details string) string {
	switch details {
	case "expected datetime":
		return "dateTime"
	case "expected positive integer", "invalid positive integer":
		return "positiveInt"
	case "invalid non-negative integer":
		return "unsignedInt"
	case "expected binary data":
		return "base64Binary"
	case "expected UTF-8 encoding":
		return "string"
	}
	if strings.HasPrefix(details, "non-negative integer out of range") {
		return "unsignedInt"
	}
	name := strings.TrimPrefix(strings.TrimPrefix(details, "expected "), "invalid ")
	name = strings.TrimSuffix(name, " format")
	return strings.ToLower(name)
}

// literal writes a value as JSON for a message, shortened.
func literal(value any, found bool) string {
	if !found {
		return "(absent)"
	}
	if s, ok := value.(string); ok {
		return strconv.Quote(truncate(s, 80))
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprintf("%v", value)
	}
	return truncate(string(raw), 80)
}

func joinDetails(p jsonformatProblem) string {
	if p.Diagnostics == "" {
		return p.Details
	}
	return p.Details + ": " + p.Diagnostics
}

// trimLastStep drops the last dotted step of a path.
func trimLastStep(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return path
}

func nullDiagnostics(expression string) string {
	return fmt.Sprintf("%s is null; FHIR JSON omits an element without a value, and null may only stand in a primitive array where the matching _ array has an item", expression)
}
