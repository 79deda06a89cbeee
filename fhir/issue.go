package fhir

import (
	"strings"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	// Severity is an IssueSeverity code: fatal, error, warning or information.
	Severity string
	// Code is an IssueType code such as invalid, structure, required, value,
	// invariant, code-invalid, too-costly, not-found or conflict.
	Code        string
	Diagnostics string
	// Expression lists FHIRPath locations of the problem, such as
	// "Patient.name[0].given[1]" or "Observation.value.ofType(Quantity)".
	Expression []string
}

// InvalidError is a rejected request body with every problem found in it.
type InvalidError struct {
	Issues []Issue
}

// Error joins the issues, each as "location: diagnostics", with "; ".
func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("invalid resource: ")
	for i, issue := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		if len(issue.Expression) > 0 {
			b.WriteString(strings.Join(issue.Expression, ", "))
			b.WriteString(": ")
		}
		b.WriteString(issue.Diagnostics)
	}
	return b.String()
}

// Outcome returns the OperationOutcome that lists e's issues.
func (e *InvalidError) Outcome() map[string]any {
	return Outcome(e.Issues...)
}

// Outcome builds an OperationOutcome object from issues. An issue without a
// Severity is reported as an error and one without a Code as processing.
// OperationOutcome.issue has a minimum cardinality of 1, so with no issues
// the outcome carries a single information issue "no issues".
func Outcome(issues ...Issue) map[string]any {
	if len(issues) == 0 {
		issues = []Issue{{Severity: "information", Code: "informational", Diagnostics: "no issues"}}
	}

	list := make([]any, 0, len(issues))
	for _, issue := range issues {
		severity := issue.Severity
		if severity == "" {
			severity = "error"
		}
		code := issue.Code
		if code == "" {
			code = "processing"
		}

		entry := map[string]any{"severity": severity, "code": code}
		if issue.Diagnostics != "" {
			entry["diagnostics"] = issue.Diagnostics
		}
		if len(issue.Expression) > 0 {
			expressions := make([]any, len(issue.Expression))
			for i, expression := range issue.Expression {
				expressions[i] = expression
			}
			entry["expression"] = expressions
		}
		list = append(list, entry)
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": list}
}
