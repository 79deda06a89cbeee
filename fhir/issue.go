package fhir

import (
	"fmt"
	"strings"
)

// maxIssues is the maximum number of problems that an InvalidError lists. A body that repeats
// one mistake (a key written 100,000 times, an array of 200,000 bad items)
// would otherwise produce an OperationOutcome of many megabytes and cost
// the server as much to build. A client that fixes a real resource needs
// only the first few problems, and a final issue states how many more
// there were.
const maxIssues = 100

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

// InvalidError is a rejected request body with the problems found in it:
// all of them, or the first maxIssues (100) followed by one issue that
// counts the problems not listed.
type InvalidError struct {
	Issues []Issue
}

// newInvalidError lists the first maxIssues of issues. unlisted counts
// problems that were found but never made into issues because the list
// was already full.
func newInvalidError(issues []Issue, unlisted int) *InvalidError {
	if len(issues) > maxIssues {
		unlisted += len(issues) - maxIssues
		issues = issues[:maxIssues]
	}
	if unlisted > 0 {
		issues = append(issues[:len(issues):len(issues)], Issue{
			Severity:    "error",
			Code:        "too-costly",
			Diagnostics: fmt.Sprintf("%d more problems not listed; only the first %d are reported", unlisted, maxIssues),
		})
	}
	return &InvalidError{Issues: issues}
}

// issueList collects issues up to maxIssues and counts the rest without
// building them, because building an issue (its FHIRPath expression and
// message) is the costly part.
type issueList struct {
	issues   []Issue
	unlisted int
}

// full reports whether the list has no room left, and then counts the
// problem that the caller will not add.
func (l *issueList) full() bool {
	if len(l.issues) >= maxIssues {
		l.unlisted++
		return true
	}
	return false
}

func (l *issueList) add(issue Issue) {
	if !l.full() {
		l.issues = append(l.issues, issue)
	}
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
