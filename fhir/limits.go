package fhir

import "errors"

// ErrTooLarge is wrapped by ParseResource when a body is longer than
// Limits.MaxBytes. The caller maps it to 413 Content Too Large.
var ErrTooLarge = errors.New("request body too large")

// Limits bounds what ParseResource accepts. A zero or negative field turns
// its check off.
type Limits struct {
	// MaxBytes is the maximum body length in bytes. The caller enforces it
	// while reading the body (http.MaxBytesReader); ParseResource checks
	// len(body) again.
	MaxBytes int64
	// MaxDepth is the maximum nesting of JSON objects and arrays, counting
	// the resource's own object as depth 1.
	MaxDepth int
}

// DefaultLimits returns a MaxBytes of 16 MiB and a MaxDepth of 64.
//
// 16 MiB leaves room for a whole Synthea patient transaction Bundle: the
// largest of the 37 in the project's test data is 2.6 MB, and patients with
// long histories produce several times that. Bodies are decoded into memory
// twice (maps and jsonformat's protos), so the limit also caps what one
// request can make the server allocate.
//
// 64 is three times the deepest nesting among the R4 examples, 21 levels in
// a QuestionnaireResponse with nested items and answers
// (TestMaxDepthOfExamples measures it), and shallow enough that no
// recursion over a resource gets expensive.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 16 << 20, MaxDepth: 64}
}
