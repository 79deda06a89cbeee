package main

// expressionFix replaces the FHIRPath expression of one SearchParameter.
type expressionFix struct {
	// From is the expression as the source ships it. The generator fails
	// when the source no longer matches, so a fix never applies blindly to
	// an expression it was not written for.
	From string
	To   string
	// Reason names the defect in the source expression.
	Reason string
}

// expressionFixes maps a SearchParameter id to the fix of its expression.
// Expressions are otherwise kept exactly as the source ships them, which is
// the R4 4.0.1 text apart from the ofType rewrites described in
// corrections.go.
var expressionFixes = map[string]expressionFix{}
