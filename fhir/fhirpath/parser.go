package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// expr is a node of the syntax tree. eval takes the focus, the collection
// that $this and a leading name or function refer to.
type expr interface {
	eval(c *evalContext, focus Collection) (Collection, error)
	String() string
}

type literalExpr struct {
	value Collection
	text  string
}

type thisExpr struct{}
type indexExpr struct{}
type totalExpr struct{}

type variableExpr struct{ name string }

// memberExpr selects the children named name of each item of target (or
// of the focus when target is nil). A capitalised first name may also
// name the focus's type, as in Patient.name.
type memberExpr struct {
	target expr
	name   string
	// concreteType is set when name is a concrete resource type, which no
	// other type derives from, so a type test is a string comparison.
	concreteType bool
	// last remembers the element found for the most recent parent type,
	// which nearly always repeats, to skip the shared type cache.
	last atomic.Pointer[memberLookup]
}

type memberLookup struct {
	base string
	ti   *typeInfo
	el   *elementInfo
}

type callExpr struct {
	target expr
	name   string
	args   []expr
	fn     *function
	// typeArg is the type named by the argument of is(), as() and
	// ofType().
	typeArg typeSpec
}

type indexerExpr struct {
	target, index expr
}

type unaryExpr struct {
	op      string
	operand expr
}

type binaryExpr struct {
	op          string
	left, right expr
}

type typeExpr struct {
	op     string // "is" or "as"
	target expr
	spec   typeSpec
}

// typeSpec is a type name with an optional namespace: "FHIR.Patient",
// "System.String" or just "Quantity".
type typeSpec struct {
	namespace, name string
}

func (t typeSpec) String() string {
	if t.namespace == "" {
		return t.name
	}
	return t.namespace + "." + t.name
}

func (e *literalExpr) String() string  { return e.text }
func (thisExpr) String() string        { return "$this" }
func (indexExpr) String() string       { return "$index" }
func (totalExpr) String() string       { return "$total" }
func (e *variableExpr) String() string { return "%" + e.name }
func (e *memberExpr) String() string {
	if e.target == nil {
		return e.name
	}
	return e.target.String() + "." + e.name
}
func (e *callExpr) String() string {
	var b strings.Builder
	if e.target != nil {
		b.WriteString(e.target.String())
		b.WriteByte('.')
	}
	b.WriteString(e.name)
	b.WriteByte('(')
	for i, a := range e.args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}
func (e *indexerExpr) String() string { return e.target.String() + "[" + e.index.String() + "]" }
func (e *unaryExpr) String() string   { return e.op + e.operand.String() }
func (e *binaryExpr) String() string {
	return "(" + e.left.String() + " " + e.op + " " + e.right.String() + ")"
}
func (e *typeExpr) String() string {
	return "(" + e.target.String() + " " + e.op + " " + e.spec.String() + ")"
}

// Binding strength of the binary operators, from the FHIRPath grammar:
// a larger number binds tighter.
var binaryPrecedence = map[string]int{
	"implies": 1,
	"or":      2, "xor": 2,
	"and": 3,
	"in":  4, "contains": 4,
	"=": 5, "~": 5, "!=": 5, "!~": 5,
	"<": 6, ">": 6, "<=": 6, ">=": 6,
	"|":  7,
	"is": 8, "as": 8,
	"+": 9, "-": 9, "&": 9,
	"*": 10, "/": 10, "div": 10, "mod": 10,
}

// keywords that cannot be used as a plain identifier.
var reservedWords = map[string]bool{
	"and": true, "or": true, "xor": true, "implies": true, "div": true, "mod": true,
	"true": true, "false": true,
}

// maxNesting bounds the depth of the syntax tree so that deeply nested
// input fails cleanly instead of exhausting the stack.
const maxNesting = 200

type parser struct {
	tokens []token
	pos    int
	depth  int
}

func parse(src string) (expr, error) {
	tokens, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{tokens: tokens}
	e, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorAt(t, "unexpected token after the end of the expression")
	}
	return e, nil
}

func (p *parser) peek() token { return p.tokens[p.pos] }

func (p *parser) advance() token {
	t := p.tokens[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) errorAt(t token, msg string) error {
	text := t.src
	if t.kind == tokEOF {
		text = "<end of expression>"
	}
	return &SyntaxError{Pos: t.pos, Token: text, Msg: msg}
}

func (p *parser) isOperator(t token, op string) bool {
	return t.kind == tokOperator && t.text == op
}

func (p *parser) expect(op string) error {
	t := p.advance()
	if !p.isOperator(t, op) {
		return p.errorAt(t, "expected '"+op+"'")
	}
	return nil
}

// binaryOperator returns the operator at t, if it is one: symbols, and the
// word operators written as identifiers.
func binaryOperator(t token) (string, bool) {
	switch t.kind {
	case tokOperator:
		if _, ok := binaryPrecedence[t.text]; ok {
			return t.text, true
		}
	case tokIdentifier:
		if _, ok := binaryPrecedence[t.text]; ok {
			return t.text, true
		}
	}
	return "", false
}

func (p *parser) expression(minPrec int) (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, p.errorAt(p.peek(), "expression nests too deeply")
	}

	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		op, ok := binaryOperator(t)
		if !ok {
			return left, nil
		}
		prec := binaryPrecedence[op]
		if prec < minPrec {
			return left, nil
		}
		p.advance()
		if op == "is" || op == "as" {
			spec, err := p.typeSpecifier()
			if err != nil {
				return nil, err
			}
			left = &typeExpr{op: op, target: left, spec: spec}
			continue
		}
		next := prec + 1
		if op == "implies" {
			next = prec // right-associative
		}
		right, err := p.expression(next)
		if err != nil {
			return nil, err
		}
		left = &binaryExpr{op: op, left: left, right: right}
	}
}

func (p *parser) unary() (expr, error) {
	t := p.peek()
	if p.isOperator(t, "+") || p.isOperator(t, "-") {
		p.advance()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxNesting {
			return nil, p.errorAt(t, "expression nests too deeply")
		}
		operand, err := p.unary()
		if err != nil {
			return nil, err
		}
		if t.text == "-" {
			if lit, ok := negateLiteral(operand); ok {
				return lit, nil
			}
		}
		return &unaryExpr{op: t.text, operand: operand}, nil
	}
	return p.postfix()
}

// negateLiteral folds "-5" and "-1.5 'mg'" into literals.
func negateLiteral(e expr) (expr, bool) {
	lit, ok := e.(*literalExpr)
	if !ok || len(lit.value) != 1 {
		return nil, false
	}
	switch v := lit.value[0].value.(type) {
	case int64:
		return &literalExpr{value: Collection{newSystem(-v)}, text: "-" + lit.text}, true
	case *Decimal:
		return &literalExpr{value: Collection{newSystem(v.Neg())}, text: "-" + lit.text}, true
	case Quantity:
		v.Value = v.Value.Neg()
		return &literalExpr{value: Collection{newSystem(v)}, text: "-" + lit.text}, true
	}
	return nil, false
}

func (p *parser) postfix() (expr, error) {
	e, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case p.isOperator(t, "."):
			p.advance()
			e, err = p.invocation(e)
			if err != nil {
				return nil, err
			}
		case p.isOperator(t, "["):
			p.advance()
			index, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			e = &indexerExpr{target: e, index: index}
		default:
			return e, nil
		}
	}
}

// identifier reads a name: a plain or delimited identifier, including the
// keywords the grammar allows as names (as, contains, in, is).
func (p *parser) identifier() (string, token, bool) {
	t := p.peek()
	switch t.kind {
	case tokDelimitedIdentifier:
		p.advance()
		return t.text, t, true
	case tokIdentifier:
		if reservedWords[t.text] || t.text == "implies" {
			return "", t, false
		}
		p.advance()
		return t.text, t, true
	}
	return "", t, false
}

func (p *parser) invocation(target expr) (expr, error) {
	t := p.peek()
	if t.kind == tokSpecial {
		p.advance()
		return specialExpr(t.text), nil
	}
	name, nameTok, ok := p.identifier()
	if !ok {
		return nil, p.errorAt(t, "expected a name or function after '.'")
	}
	if p.isOperator(p.peek(), "(") {
		return p.call(target, name, nameTok)
	}
	return &memberExpr{target: target, name: name}, nil
}

func specialExpr(name string) expr {
	switch name {
	case "$index":
		return indexExpr{}
	case "$total":
		return totalExpr{}
	}
	return thisExpr{}
}

func (p *parser) call(target expr, name string, nameTok token) (expr, error) {
	p.advance() // (
	var args []expr
	if !p.isOperator(p.peek(), ")") {
		for {
			a, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.isOperator(p.peek(), ",") {
				p.advance()
				continue
			}
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	fn, ok := functions[name]
	if !ok {
		return nil, &SyntaxError{Pos: nameTok.pos, Token: name, Msg: "unknown function " + name + "()"}
	}
	if len(args) < fn.minArgs || len(args) > fn.maxArgs {
		return nil, &SyntaxError{Pos: nameTok.pos, Token: name, Msg: "wrong number of arguments for " + name + "(): got " + strconv.Itoa(len(args)) + ", expected " + fn.arity()}
	}
	c := &callExpr{target: target, name: name, args: args, fn: fn}
	if fn.typeArgument {
		spec, ok := typeSpecFromExpr(args[0])
		if !ok {
			return nil, &SyntaxError{Pos: nameTok.pos, Token: name, Msg: "the argument of " + name + "() must be a type name"}
		}
		if err := validateTypeSpec(spec); err != nil {
			return nil, &SyntaxError{Pos: nameTok.pos, Token: spec.String(), Msg: err.Error()}
		}
		c.typeArg = spec
	}
	return c, nil
}

func typeSpecFromExpr(e expr) (typeSpec, bool) {
	m, ok := e.(*memberExpr)
	if !ok {
		return typeSpec{}, false
	}
	if m.target == nil {
		return typeSpec{name: m.name}, true
	}
	ns, ok := m.target.(*memberExpr)
	if !ok || ns.target != nil {
		return typeSpec{}, false
	}
	return typeSpec{namespace: ns.name, name: m.name}, true
}

func (p *parser) typeSpecifier() (typeSpec, error) {
	first, t, ok := p.identifier()
	if !ok {
		return typeSpec{}, p.errorAt(t, "expected a type name")
	}
	spec := typeSpec{name: first}
	if p.isOperator(p.peek(), ".") {
		p.advance()
		second, t2, ok := p.identifier()
		if !ok {
			return typeSpec{}, p.errorAt(t2, "expected a type name after the namespace")
		}
		spec = typeSpec{namespace: first, name: second}
	}
	if err := validateTypeSpec(spec); err != nil {
		return typeSpec{}, p.errorAt(t, err.Error())
	}
	return spec, nil
}

// systemTypes are the types of the System namespace.
var systemTypes = map[string]bool{
	"Boolean": true, "String": true, "Integer": true, "Long": true, "Decimal": true,
	"Date": true, "DateTime": true, "Time": true, "Quantity": true,
}

// validateTypeSpec rejects type names that are neither R4 types nor
// System types. Names qualified with System are not checked, because
// asking whether a value is System.Patient is valid and false.
func validateTypeSpec(spec typeSpec) error {
	switch spec.namespace {
	case "System":
		return nil
	case "FHIR":
		if isKnownFHIRType(spec.name) {
			return nil
		}
	case "":
		if isKnownFHIRType(spec.name) || systemTypes[spec.name] {
			return nil
		}
	}
	return fmt.Errorf("unknown type %s", spec)
}

func (p *parser) term() (expr, error) {
	t := p.peek()
	switch t.kind {
	case tokEOF:
		return nil, p.errorAt(t, "unexpected end of expression")
	case tokNumber, tokLongNumber:
		p.advance()
		return p.numberOrQuantity(t)
	case tokString:
		p.advance()
		return &literalExpr{value: Collection{newSystem(t.text)}, text: t.src}, nil
	case tokDate:
		p.advance()
		d, _ := ParseDate(t.text)
		return &literalExpr{value: Collection{newSystem(d)}, text: t.src}, nil
	case tokDateTime:
		p.advance()
		dt, _ := ParseDateTime(t.text)
		return &literalExpr{value: Collection{newSystem(dt)}, text: t.src}, nil
	case tokTime:
		p.advance()
		tm, _ := ParseTime(t.text)
		return &literalExpr{value: Collection{newSystem(tm)}, text: t.src}, nil
	case tokExternal:
		p.advance()
		return &variableExpr{name: t.text}, nil
	case tokSpecial:
		p.advance()
		return specialExpr(t.text), nil
	case tokOperator:
		switch t.text {
		case "(":
			p.advance()
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return e, nil
		case "{":
			p.advance()
			if err := p.expect("}"); err != nil {
				return nil, err
			}
			return &literalExpr{text: "{}"}, nil
		}
		return nil, p.errorAt(t, "unexpected operator")
	case tokIdentifier:
		if t.text == "true" || t.text == "false" {
			p.advance()
			return &literalExpr{value: Collection{newSystem(t.text == "true")}, text: t.text}, nil
		}
	}
	name, nameTok, ok := p.identifier()
	if !ok {
		return nil, p.errorAt(t, "unexpected token")
	}
	if p.isOperator(p.peek(), "(") {
		return p.call(nil, name, nameTok)
	}
	return &memberExpr{name: name, concreteType: definitions.IsResourceType(name)}, nil
}

func (p *parser) numberOrQuantity(t token) (expr, error) {
	var value any
	if t.kind == tokLongNumber || !strings.Contains(t.text, ".") {
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorAt(t, "integer out of range")
		}
		value = i
	} else {
		d, err := ParseDecimal(t.text)
		if err != nil {
			return nil, p.errorAt(t, "invalid number")
		}
		value = d
	}

	next := p.peek()
	unit, calendar := "", false
	switch {
	case next.kind == tokString:
		unit = next.text
	case next.kind == tokIdentifier:
		if _, ok := calendarUnits[next.text]; ok {
			unit, calendar = next.text, true
		}
	}
	if unit == "" && !calendar {
		return &literalExpr{value: Collection{newSystem(value)}, text: t.src}, nil
	}
	p.advance()
	q := Quantity{Unit: unit}
	switch v := value.(type) {
	case int64:
		q.Value = DecimalFromInt(v)
	case *Decimal:
		q.Value = v
	}
	if !calendar {
		q.System, q.Code = UCUMSystem, unit
	}
	return &literalExpr{value: Collection{newSystem(q)}, text: t.src + " " + next.src}, nil
}
