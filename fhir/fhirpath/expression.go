package fhirpath

import (
	"encoding/json"
	"sync"
	"time"
)

// Expression is a compiled FHIRPath expression. It holds no state between
// evaluations, so one Expression may be evaluated by many goroutines at
// once.
type Expression struct {
	src    string
	root   expr
	checks checkCache
}

// Compile parses a FHIRPath expression. A syntax error is returned as a
// *SyntaxError with the offset and text of the offending token; unknown
// functions, wrong argument counts and unknown type names are reported
// the same way. A path that starts with a type name and then names an
// element that type lacks (Encounter.name) is a *SemanticError.
func Compile(src string) (*Expression, error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	if err := checkPaths(root); err != nil {
		return nil, err
	}
	return &Expression{src: src, root: root}, nil
}

// MustCompile is like Compile but panics on error. It is meant for
// expressions written into the program.
func MustCompile(src string) *Expression {
	e, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the expression as it was written.
func (e *Expression) String() string { return e.src }

// Option configures one evaluation.
type Option func(*options)

type options struct {
	vars     map[string]Collection
	now      time.Time
	resolver func(ref string) map[string]any
	tracer   func(name string, values Collection)
	context  *Node
}

// WithVariable sets the environment variable %name. The value may be a
// Collection, a Node, a decoded JSON resource or element (map[string]any,
// []any), or a Go string, bool, int, int64, float64, *Decimal, Date,
// DateTime, Time or Quantity.
func WithVariable(name string, value any) Option {
	return func(o *options) {
		if o.vars == nil {
			o.vars = map[string]Collection{}
		}
		o.vars[name] = toCollection(value)
	}
}

// WithNow fixes the instant that now(), today() and timeOfDay() return.
// Without it the clock is read at the first such call of each evaluation.
func WithNow(t time.Time) Option {
	return func(o *options) { o.now = t }
}

// WithResolver sets the function that resolve() calls for references that
// do not point inside the resource (contained resources, and Bundle
// entries by fullUrl, are resolved without it). The function returns nil
// when the reference cannot be resolved.
func WithResolver(resolve func(ref string) map[string]any) Option {
	return func(o *options) { o.resolver = resolve }
}

// WithTrace sets the function that trace() passes its name and values to.
// Without it trace() only returns its input.
func WithTrace(trace func(name string, values Collection)) Option {
	return func(o *options) { o.tracer = trace }
}

// WithContext evaluates the expression on an element of the resource
// (%context) instead of the resource itself; %resource stays the resource.
func WithContext(n Node) Option {
	return func(o *options) { o.context = &n }
}

// Evaluate runs the expression on a resource decoded by encoding/json with
// UseNumber. %resource, %rootResource and %context are the resource, typed
// by its resourceType. A nil resource evaluates with an empty input.
func (e *Expression) Evaluate(resource map[string]any, opts ...Option) (Collection, error) {
	c := newEvalContext(opts)
	defer releaseEvalContext(c)

	var focus Collection
	if resource != nil {
		root := resourceNode(resource)
		if root.typ != "" && c.opts.context == nil {
			if err := e.checkRoot(root.typ); err != nil {
				return nil, err
			}
		}
		c.resource = Collection{root}
		focus = c.resource
	}
	c.context = focus
	if c.opts.context != nil {
		focus = Collection{*c.opts.context}
		c.context = focus
	}
	return e.root.eval(c, focus)
}

// EvaluateNodes runs the expression with the given nodes as input and
// %context, for expressions evaluated on the result of another, such as
// the components of a composite search parameter. resource is %resource.
func (e *Expression) EvaluateNodes(resource map[string]any, input Collection, opts ...Option) (Collection, error) {
	c := newEvalContext(opts)
	defer releaseEvalContext(c)
	if resource != nil {
		c.resource = Collection{resourceNode(resource)}
	}
	c.context = input
	return e.root.eval(c, input)
}

// evalContexts recycles evaluation state, which would otherwise be the
// largest allocation of a short evaluation.
var evalContexts = sync.Pool{New: func() any { return new(evalContext) }}

func newEvalContext(opts []Option) *evalContext {
	c := evalContexts.Get().(*evalContext)
	for _, opt := range opts {
		opt(&c.opts)
	}
	return c
}

func releaseEvalContext(c *evalContext) {
	*c = evalContext{}
	evalContexts.Put(c)
}

func toCollection(value any) Collection {
	switch v := value.(type) {
	case nil:
		return nil
	case Collection:
		return v
	case Node:
		return Collection{v}
	case []Node:
		return Collection(v)
	case map[string]any:
		return Collection{NewNode(v, "")}
	case []any:
		return appendJSON(nil, v, nil, "", "")
	case json.Number:
		return Collection{Node{value: v}}
	case int:
		return Collection{newSystem(int64(v))}
	case float64:
		d, ok := decimalFromFloat(v)
		if !ok {
			return nil
		}
		return Collection{newSystem(d)}
	}
	return Collection{newSystem(value)}
}
