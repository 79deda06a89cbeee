package fhir

import (
	"fmt"
)

// Decode decodes JSON that Ward stored earlier into the package's data
// model. It does not validate: stored bytes were validated on write.
func Decode(stored []byte) (map[string]any, error) {
	value, err := decodeJSON(stored)
	if err != nil {
		return nil, err
	}
	object, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("stored JSON is a %s, not an object", jsonKind(value))
	}
	return object, nil
}

// CheckJSON applies the structural checks of ParseResource to a body that
// is not a resource, such as a JSON Patch document: it must be present,
// well formed, within limits.MaxBytes and limits.MaxDepth, and free of
// duplicate keys.
func CheckJSON(body []byte, limits Limits) error {
	if limits.MaxBytes > 0 && int64(len(body)) > limits.MaxBytes {
		return fmt.Errorf("the body is %d bytes, over the limit of %d: %w", len(body), limits.MaxBytes, ErrTooLarge)
	}
	if len(body) == 0 {
		return invalid(Issue{Severity: "error", Code: "required", Diagnostics: "the request body is empty"})
	}
	if _, err := decodeJSON(body); err != nil {
		return invalid(Issue{Severity: "error", Code: "structure", Diagnostics: err.Error()})
	}
	if issues := scanStructure(body, "$", limits.MaxDepth); len(issues) > 0 {
		return &InvalidError{Issues: issues}
	}
	return nil
}
