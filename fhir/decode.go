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
// is not a resource, such as a JSON Patch document. The body must be
// present, well formed and within limits.MaxBytes and limits.MaxDepth. It
// must have no duplicate keys and no lone surrogate escapes, and its
// numbers must fit a float64. Issues name locations from the root "$".
func CheckJSON(body []byte, limits Limits) error {
	if limits.MaxBytes > 0 && int64(len(body)) > limits.MaxBytes {
		return fmt.Errorf("the body is %d bytes, over the limit of %d: %w", len(body), limits.MaxBytes, ErrTooLarge)
	}
	if len(body) == 0 {
		return invalid(Issue{Severity: "error", Code: "required", Diagnostics: "the request body is empty"})
	}

	scan := scanJSON(body, limits.MaxDepth)
	if scan.tooDeep {
		return invalid(scan.depthIssue("$", limits.MaxDepth))
	}
	if _, err := decodeJSON(body); err != nil {
		return invalid(Issue{Severity: "error", Code: "structure", Diagnostics: err.Error()})
	}
	if len(scan.problems) > 0 {
		return newInvalidError(scan.issues("$", nil), scan.unlisted)
	}
	return nil
}
