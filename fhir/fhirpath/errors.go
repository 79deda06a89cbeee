package fhirpath

import (
	"errors"
	"fmt"
)

// SyntaxError reports an expression that does not parse. Pos is the byte
// offset of Token in the expression.
type SyntaxError struct {
	Pos   int
	Token string
	Msg   string
}

func (e *SyntaxError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("fhirpath: syntax error at offset %d: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("fhirpath: syntax error at offset %d near %q: %s", e.Pos, e.Token, e.Msg)
}

// SemanticError reports a name that cannot match anything because the
// type it is applied to is certain and does not define it, such as
// Patient.name.given1 or Observation.valueQuantity (FHIRPath names the
// choice element value).
type SemanticError struct {
	Expr string // the path that names the element
	Msg  string
}

func (e *SemanticError) Error() string {
	return fmt.Sprintf("fhirpath: invalid path %s: %s", e.Expr, e.Msg)
}

// EvalError reports an expression that failed while it was evaluated,
// such as a function given a collection of several items where it
// requires one, or operands of types that the operator does not accept.
type EvalError struct {
	Expr string // the sub-expression that failed
	Msg  string
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("fhirpath: evaluating %s: %s", e.Expr, e.Msg)
}

// ErrUnsupported marks functions that the engine parses but cannot
// evaluate, such as memberOf() that needs a terminology server.
var ErrUnsupported = errors.New("not supported")

func evalErrorf(expr fmt.Stringer, format string, args ...any) error {
	return &EvalError{Expr: expr.String(), Msg: fmt.Sprintf(format, args...)}
}
