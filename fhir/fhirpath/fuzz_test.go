package fhirpath

import (
	"errors"
	"testing"
)

// FuzzCompile checks that no input makes the parser panic, that every
// rejection is a *SyntaxError whose offset lies inside the input or a
// *SemanticError, and
// that whatever compiles can be evaluated without a panic.
func FuzzCompile(f *testing.F) {
	seeds := []string{
		"Patient.name.where(use = 'official').given.first()",
		"(Observation.value as Quantity).value > 5 'mg'",
		"@2014-01-01T08:05+08:00.lowBoundary(17)",
		"'a\\u0041\\'b' & %`ext-x` | $this[0]",
		"iif(a implies b xor c, 1.5 'cm', {}).aggregate($total + $this, 0)",
		"/* c */ -1.abs() // d",
		"name.`given` is FHIR.`string`",
		"1 div 0 mod 2 in (1 | 2) contains 3",
		"descendants().ofType(Reference).where(resolve() is Patient)",
		"((((((((((1))))))))))",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	resource := decodeTestJSON(f, testPatientJSON)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			var sem *SemanticError
			if errors.As(err, &sem) {
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) returned %T, want *SyntaxError or *SemanticError: %v", src, err, err)
			}
			if se.Pos < 0 || se.Pos > len(src) {
				t.Fatalf("Compile(%q) error offset %d is outside the input", src, se.Pos)
			}
			return
		}
		// Evaluation may fail, but must not panic or loop.
		_, _ = e.Evaluate(resource)
	})
}
