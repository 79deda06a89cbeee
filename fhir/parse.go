package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// Resource is a parsed, validated R4 resource.
type Resource struct {
	// Type is the resourceType, such as "Patient".
	Type string
	// ID is the resource's id, or "" when the body has none.
	ID string
	// Object is the resource as decoded JSON; see the package documentation.
	Object map[string]any
}

// ParseResource decodes and validates body as one FHIR R4 resource in JSON.
//
// A body longer than limits.MaxBytes returns an error wrapping ErrTooLarge.
// Every other rejection is an *InvalidError. The checks run in this order,
// and the first step that fails ends parsing with its issues:
//  1. the body is not empty;
//  2. it nests no deeper than limits.MaxDepth, checked on the bytes before
//     anything decodes them;
//  3. it is well-formed UTF-8 JSON (the issue gives the byte offset);
//  4. no object repeats a key, no string has a lone UTF-16 surrogate escape
//     such as \ud800, and no number is outside the range of a float64;
//  5. the top level is an object whose resourceType is a string naming a
//     concrete R4 resource type.
//
// Then jsonformat validates the resource and Ward's own checks run (see
// validate.go), and the error lists the problems from both, at most
// maxIssues (100) of them and then one issue that counts the rest.
func ParseResource(body []byte, limits Limits) (*Resource, error) {
	if limits.MaxBytes > 0 && int64(len(body)) > limits.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), limits.MaxBytes)
	}

	// RFC 8259 lets a parser ignore a leading byte order mark; some Windows
	// clients send one.
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid(Issue{Code: "structure", Diagnostics: "request body is empty; expected a FHIR resource in JSON"})
	}

	scan := scanJSON(body, limits.MaxDepth)
	if scan.tooDeep {
		root := scan.rootType
		if !definitions.IsResourceType(root) {
			root = "$"
		}
		return nil, invalid(scan.depthIssue(root, limits.MaxDepth))
	}

	value, err := decodeJSON(body)
	if err != nil {
		return nil, invalid(Issue{Code: "structure", Diagnostics: err.Error()})
	}

	object, _ := value.(map[string]any)
	root := ""
	if object != nil {
		root, _ = object["resourceType"].(string)
	}
	if len(scan.problems) > 0 {
		return nil, newInvalidError(scan.issues(root, object), scan.unlisted)
	}

	resourceType, issue, ok := checkResourceType(value)
	if !ok {
		return nil, invalid(issue)
	}

	issues, unlisted := validate(body, object)
	if len(issues) > 0 || unlisted > 0 {
		return nil, newInvalidError(issues, unlisted)
	}

	id, _ := object["id"].(string)
	return &Resource{Type: resourceType, ID: id, Object: object}, nil
}

func invalid(issue Issue) *InvalidError {
	if issue.Severity == "" {
		issue.Severity = "error"
	}
	return &InvalidError{Issues: []Issue{issue}}
}

// decodeJSON decodes body into the package's data model and rejects
// malformed JSON, invalid UTF-8 (which encoding/json would silently replace
// with U+FFFD) and data after the top-level value.
func decodeJSON(body []byte) (any, error) {
	if !utf8.Valid(body) {
		offset := 0
		for offset < len(body) {
			r, size := utf8.DecodeRune(body[offset:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			offset += size
		}
		return nil, fmt.Errorf("invalid UTF-8 at byte offset %d; FHIR JSON must be encoded in UTF-8", offset)
	}

	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return nil, describeSyntaxError(err, len(body))
	}
	end := int(decoder.InputOffset())
	if rest := bytes.TrimLeft(body[end:], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("invalid JSON at byte offset %d: data after the top-level value", len(body)-len(rest))
	}
	return value, nil
}

func describeSyntaxError(err error, length int) error {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte offset %d: %s", syntaxErr.Offset, syntaxErr.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("invalid JSON at byte offset %d: unexpected end of input", length)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// checkResourceType returns the resourceType of the decoded top-level value,
// or the issue that rejects it.
func checkResourceType(value any) (string, Issue, bool) {
	object, isObject := value.(map[string]any)
	if !isObject {
		return "", Issue{Severity: "error", Code: "structure",
			Diagnostics: fmt.Sprintf("the top-level JSON value must be an object, found %s", jsonKind(value))}, false
	}

	raw, present := object["resourceType"]
	if !present {
		return "", Issue{Severity: "error", Code: "required",
			Diagnostics: `missing "resourceType": a FHIR resource must name its type`}, false
	}
	name, isString := raw.(string)
	if !isString {
		return "", Issue{Severity: "error", Code: "value",
			Diagnostics: fmt.Sprintf(`"resourceType" must be a string, found %s`, jsonKind(raw))}, false
	}
	if definitions.IsAbstractResourceType(name) {
		return "", Issue{Severity: "error", Code: "value",
			Diagnostics: fmt.Sprintf("resourceType %q is abstract; use a concrete type such as Patient", name)}, false
	}
	if !definitions.IsResourceType(name) {
		return "", Issue{Severity: "error", Code: "value",
			Diagnostics: fmt.Sprintf("resourceType %q is not an R4 resource type (names are case-sensitive)", name)}, false
	}
	return name, Issue{}, true
}

// jsonKind names the JSON kind of a decoded value for messages.
func jsonKind(value any) string {
	switch v := value.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", truncate(v, 60))
	case json.Number:
		return "the number " + truncate(string(v), 60)
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	default:
		return fmt.Sprintf("a %T", value)
	}
}

// truncate shortens s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
