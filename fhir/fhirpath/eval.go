package fhirpath

import (
	"strings"
	"time"
)

// evalContext is the state of one evaluation. Lambda functions (where,
// select, all, ...) set index and total while they run their argument.
type evalContext struct {
	opts     options
	resource Collection // %resource and %rootResource
	context  Collection // %context

	index    int
	hasIndex bool
	total    Collection
	hasTotal bool
}

// currentTime returns the evaluation's current instant, read once so that every
// call of now() in one evaluation agrees.
func (c *evalContext) currentTime() time.Time {
	if c.opts.now.IsZero() {
		c.opts.now = time.Now()
	}
	return c.opts.now
}

var (
	trueCollection  = Collection{newSystem(true)}
	falseCollection = Collection{newSystem(false)}
)

func boolResult(b bool) Collection {
	if b {
		return trueCollection
	}
	return falseCollection
}

func (e *literalExpr) eval(*evalContext, Collection) (Collection, error) {
	return e.value, nil
}

func (thisExpr) eval(_ *evalContext, focus Collection) (Collection, error) {
	return focus, nil
}

func (e indexExpr) eval(c *evalContext, _ Collection) (Collection, error) {
	if !c.hasIndex {
		return nil, evalErrorf(e, "$index is only defined inside a function argument that is evaluated per item")
	}
	return Collection{newSystem(int64(c.index))}, nil
}

func (e totalExpr) eval(c *evalContext, _ Collection) (Collection, error) {
	if !c.hasTotal {
		return nil, evalErrorf(e, "$total is only defined inside aggregate()")
	}
	return c.total, nil
}

// Well-known environment variables of FHIRPath and of FHIR.
var fixedVariables = map[string]string{
	"ucum":  UCUMSystem,
	"sct":   "http://snomed.info/sct",
	"loinc": "http://loinc.org",
}

func (e *variableExpr) eval(c *evalContext, _ Collection) (Collection, error) {
	if v, ok := c.opts.vars[e.name]; ok {
		return v, nil
	}
	switch e.name {
	case "resource", "rootResource":
		return c.resource, nil
	case "context":
		return c.context, nil
	}
	if v, ok := fixedVariables[e.name]; ok {
		return Collection{newSystem(v)}, nil
	}
	if rest, ok := strings.CutPrefix(e.name, "vs-"); ok {
		return Collection{newSystem("http://hl7.org/fhir/ValueSet/" + rest)}, nil
	}
	if rest, ok := strings.CutPrefix(e.name, "ext-"); ok {
		return Collection{newSystem("http://hl7.org/fhir/StructureDefinition/" + rest)}, nil
	}
	return nil, evalErrorf(e, "undefined environment variable %%%s", e.name)
}

func (e *memberExpr) eval(c *evalContext, focus Collection) (Collection, error) {
	input := focus
	if e.target != nil {
		var err error
		input, err = e.target.eval(c, focus)
		if err != nil {
			return nil, err
		}
	}
	if len(input) == 0 {
		return nil, nil
	}

	// A leading capitalised name may be the type of the focus, as in
	// "Patient.name"; FHIR element names never start with a capital.
	if e.target == nil && e.name[0] >= 'A' && e.name[0] <= 'Z' {
		var out Collection
		for _, n := range input {
			if n.typ == e.name || (!e.concreteType && isSubtypeOf(n.typ, e.name)) {
				out = append(out, n)
			}
		}
		return out, nil
	}

	var out Collection
	for _, n := range input {
		var err error
		out, err = e.child(n, out)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// child appends the children of n named e.name. Naming an element that
// n's type does not define is an error, as the specification treats it.
func (e *memberExpr) child(n Node, out Collection) (Collection, error) {
	m, ok := n.value.(map[string]any)
	if ok && n.typ == typeInfoType {
		if v, found := m[e.name].(string); found {
			return append(out, newSystem(v)), nil
		}
		return out, nil
	}
	if !ok {
		if n.ext != nil {
			switch e.name {
			case "extension":
				return appendJSON(out, n.ext["extension"], nil, "Extension", "Extension"), nil
			case "id":
				return appendJSON(out, n.ext["id"], nil, "string", "Element.id"), nil
			}
		}
		return out, nil
	}
	if n.typ != "" {
		if ti, el := e.lookup(childBase(n.typ, n.path)); ti != nil {
			// An element the type does not define yields nothing here; the
			// static check reports such names where the type is certain.
			if el != nil {
				return el.appendFrom(out, m), nil
			}
			return out, nil
		}
	}
	return appendUntyped(out, m, e.name), nil
}

// lookup returns the children of base and the one named e.name, if any.
func (e *memberExpr) lookup(base string) (*typeInfo, *elementInfo) {
	if l := e.last.Load(); l != nil && l.base == base {
		return l.ti, l.el
	}
	ti := lookupTypeInfo(base)
	var el *elementInfo
	if ti != nil {
		el = ti.byName[e.name]
	}
	e.last.Store(&memberLookup{base: base, ti: ti, el: el})
	return ti, el
}

// appendUntyped navigates JSON whose type is unknown: the exact key, or
// else a choice-type key such as valueQuantity for the name value.
func appendUntyped(out Collection, m map[string]any, name string) Collection {
	v, ok1 := m[name]
	ext, ok2 := m["_"+name]
	if ok1 || ok2 {
		return appendJSON(out, v, ext, "", "")
	}
	for k, v := range m {
		if len(k) > len(name) && strings.HasPrefix(k, name) && k[len(name)] >= 'A' && k[len(name)] <= 'Z' {
			typ := k[len(name):]
			if _, ok := fhirPrimitiveKinds[lowerFirst(typ)]; ok {
				typ = lowerFirst(typ)
			}
			return appendJSON(out, v, m["_"+k], typ, "")
		}
	}
	return out
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]-'A'+'a') + s[1:]
}

func (e *callExpr) eval(c *evalContext, focus Collection) (Collection, error) {
	input := focus
	if e.target != nil {
		var err error
		input, err = e.target.eval(c, focus)
		if err != nil {
			return nil, err
		}
	}
	return e.fn.impl(c, e, input, focus)
}

func (e *indexerExpr) eval(c *evalContext, focus Collection) (Collection, error) {
	input, err := e.target.eval(c, focus)
	if err != nil {
		return nil, err
	}
	idx, err := e.index.eval(c, focus)
	if err != nil {
		return nil, err
	}
	i, ok, err := singletonInteger(e, idx)
	if err != nil || !ok {
		return nil, err
	}
	if i < 0 || i >= int64(len(input)) {
		return nil, nil
	}
	return input[i : i+1 : i+1], nil
}

func (e *unaryExpr) eval(c *evalContext, focus Collection) (Collection, error) {
	v, err := e.operand.eval(c, focus)
	if err != nil || len(v) == 0 {
		return nil, err
	}
	if len(v) > 1 {
		return nil, evalErrorf(e, "unary %s needs a single value, got %d", e.op, len(v))
	}
	sv, _ := v[0].systemValue()
	if e.op == "+" {
		switch sv.(type) {
		case int64, *Decimal, Quantity:
			return Collection{newSystem(sv)}, nil
		}
	} else {
		switch x := sv.(type) {
		case int64:
			return Collection{newSystem(-x)}, nil
		case *Decimal:
			return Collection{newSystem(x.Neg())}, nil
		case Quantity:
			x.Value = x.Value.Neg()
			return Collection{newSystem(x)}, nil
		}
	}
	return nil, evalErrorf(e, "unary %s needs a number or quantity, got %s", e.op, typeLabel(v[0]))
}

func (e *typeExpr) eval(c *evalContext, focus Collection) (Collection, error) {
	v, err := e.target.eval(c, focus)
	if err != nil || len(v) == 0 {
		return nil, err
	}
	if len(v) > 1 {
		return nil, evalErrorf(e, "%s needs a single value, got %d", e.op, len(v))
	}
	if e.op == "is" {
		return boolResult(isType(v[0], e.spec)), nil
	}
	if asType(v[0], e.spec) {
		return v, nil
	}
	return nil, nil
}

// typeLabel names the type of a node for error messages.
func typeLabel(n Node) string {
	if n.typ != "" {
		return n.typ
	}
	return "untyped value"
}

// isType implements "is": the node's type equals the named type or
// derives from it. An unqualified name is looked up in FHIR's types first,
// then in System's.
func isType(n Node, spec typeSpec) bool {
	if strings.HasPrefix(n.typ, "System.") {
		if spec.namespace == "FHIR" {
			return false
		}
		return n.typ[len("System."):] == spec.name
	}
	if spec.namespace == "System" {
		return false
	}
	typ := n.typ
	if typ == "" {
		typ = inferredType(n)
	}
	return typ == spec.name || isSubtypeOf(typ, spec.name)
}

// asType implements "as" and ofType(): the exact type, or a subtype when
// the named type is not a primitive (so a Patient is a Resource, but a
// code is not returned by as(string)).
func asType(n Node, spec typeSpec) bool {
	if strings.HasPrefix(n.typ, "System.") || spec.namespace == "System" {
		return isType(n, spec)
	}
	typ := n.typ
	if typ == "" {
		typ = inferredType(n)
	}
	if typ == spec.name {
		return true
	}
	return !isPrimitiveFHIRType(spec.name) && isSubtypeOf(typ, spec.name)
}

// inferredType guesses a FHIR type for untyped JSON values.
func inferredType(n Node) string {
	switch n.kind() {
	case kindString:
		return "string"
	case kindBoolean:
		return "boolean"
	case kindInteger:
		return "integer"
	case kindDecimal:
		return "decimal"
	}
	return ""
}
