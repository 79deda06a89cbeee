package fhirpath

import (
	"strconv"
)

// function describes one FHIRPath function: how many arguments it takes
// and its implementation. impl receives the call (for its arguments), the
// input collection the function is invoked on, and the focus that plain
// arguments are evaluated against.
type function struct {
	minArgs, maxArgs int
	// typeArgument marks is(), as() and ofType(), whose argument is a
	// type name rather than an expression.
	typeArgument bool
	impl         func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error)
}

func (f *function) arity() string {
	if f.minArgs == f.maxArgs {
		return strconv.Itoa(f.minArgs)
	}
	return strconv.Itoa(f.minArgs) + " to " + strconv.Itoa(f.maxArgs)
}

// functions is the function table. It is filled in init because some
// implementations refer back to it through the parser.
var functions map[string]*function

func init() {
	functions = map[string]*function{}
	for _, group := range []map[string]*function{
		existenceFunctions, filteringFunctions, subsettingFunctions, combiningFunctions,
		conversionFunctions, stringFunctions, mathFunctions, treeFunctions, utilityFunctions,
		typeFunctions, fhirFunctions,
	} {
		for name, f := range group {
			functions[name] = f
		}
	}
}

// arg evaluates the i-th argument against the focus.
func (c *evalContext) arg(call *callExpr, i int, focus Collection) (Collection, error) {
	return call.args[i].eval(c, focus)
}

// forEach evaluates the argument once per input item, with the item as
// $this and its position as $index.
func (c *evalContext) forEach(arg expr, input Collection, fn func(i int, item Node, result Collection) (stop bool, err error)) error {
	savedIndex, savedHas := c.index, c.hasIndex
	defer func() { c.index, c.hasIndex = savedIndex, savedHas }()
	c.hasIndex = true
	for i, item := range input {
		c.index = i
		result, err := arg.eval(c, input[i:i+1:i+1])
		if err != nil {
			return err
		}
		stop, err := fn(i, item, result)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

func singleInput(call *callExpr, input Collection) (Node, bool, error) {
	switch len(input) {
	case 0:
		return Node{}, false, nil
	case 1:
		return input[0], true, nil
	}
	return Node{}, false, evalErrorf(call, "%s() needs a single input item, got %d", call.name, len(input))
}

// --- existence ---

var existenceFunctions = map[string]*function{
	"empty": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		return boolResult(len(input) == 0), nil
	}},
	"exists": {maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		if len(call.args) == 0 {
			return boolResult(len(input) > 0), nil
		}
		found := false
		err := c.forEach(call.args[0], input, func(_ int, _ Node, r Collection) (bool, error) {
			b, ok, err := singletonBoolean(call, r)
			found = ok && b
			return found, err
		})
		return boolResult(found), err
	}},
	"all": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		all := true
		err := c.forEach(call.args[0], input, func(_ int, _ Node, r Collection) (bool, error) {
			b, ok, err := singletonBoolean(call, r)
			if !ok || !b {
				all = false
			}
			return !all, err
		})
		return boolResult(all), err
	}},
	"allTrue":  {impl: booleanAggregate(true, true)},
	"anyTrue":  {impl: booleanAggregate(false, true)},
	"allFalse": {impl: booleanAggregate(true, false)},
	"anyFalse": {impl: booleanAggregate(false, false)},
	"subsetOf": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		other, err := c.arg(call, 0, focus)
		return boolResult(isSubset(input, other)), err
	}},
	"supersetOf": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		other, err := c.arg(call, 0, focus)
		return boolResult(isSubset(other, input)), err
	}},
	"count": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		return Collection{newSystem(int64(len(input)))}, nil
	}},
	"distinct": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		return union(input, nil), nil
	}},
	"isDistinct": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		return boolResult(len(union(input, nil)) == len(input)), nil
	}},
}

// booleanAggregate builds allTrue, anyTrue, allFalse and anyFalse: every
// input item must be a Boolean.
func booleanAggregate(all, want bool) func(*evalContext, *callExpr, Collection, Collection) (Collection, error) {
	return func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		for _, n := range input {
			v, _ := n.systemValue()
			b, ok := v.(bool)
			if !ok {
				return nil, evalErrorf(call, "%s() needs Boolean items, got %s", call.name, typeLabel(n))
			}
			if all && b != want {
				return falseCollection, nil
			}
			if !all && b == want {
				return trueCollection, nil
			}
		}
		return boolResult(all), nil
	}
}

func isSubset(a, b Collection) bool {
	for _, n := range a {
		if !containsNode(b, n) {
			return false
		}
	}
	return true
}

// --- filtering and projection ---

var filteringFunctions = map[string]*function{
	"where": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		var out Collection
		err := c.forEach(call.args[0], input, func(_ int, item Node, r Collection) (bool, error) {
			b, ok, err := singletonBoolean(call, r)
			if ok && b {
				out = append(out, item)
			}
			return false, err
		})
		return out, err
	}},
	"select": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		var out Collection
		err := c.forEach(call.args[0], input, func(_ int, _ Node, r Collection) (bool, error) {
			out = append(out, r...)
			return false, nil
		})
		return out, err
	}},
	"repeat": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		var out Collection
		current := input
		// Items already seen are not expanded again, so cycles end.
		for round := 0; len(current) > 0; round++ {
			if round > 1000 {
				return nil, evalErrorf(call, "repeat() did not finish after %d rounds", round)
			}
			var next Collection
			err := c.forEach(call.args[0], current, func(_ int, _ Node, r Collection) (bool, error) {
				for _, n := range r {
					if !containsNode(out, n) {
						out = append(out, n)
						next = append(next, n)
					}
				}
				return false, nil
			})
			if err != nil {
				return nil, err
			}
			current = next
		}
		return out, nil
	}},
	"ofType": {minArgs: 1, maxArgs: 1, typeArgument: true, impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		var out Collection
		for _, n := range input {
			if asType(n, call.typeArg) {
				out = append(out, n)
			}
		}
		return out, nil
	}},
}

// --- subsetting ---

var subsettingFunctions = map[string]*function{
	"single": {impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		if len(input) > 1 {
			return nil, evalErrorf(call, "single() needs at most one item, got %d", len(input))
		}
		return input, nil
	}},
	"first": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		if len(input) == 0 {
			return nil, nil
		}
		return input[:1:1], nil
	}},
	"last": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		if len(input) == 0 {
			return nil, nil
		}
		return input[len(input)-1:], nil
	}},
	"tail": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		if len(input) <= 1 {
			return nil, nil
		}
		return input[1:], nil
	}},
	"skip": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		n, ok, err := integerArg(c, call, 0, focus)
		if err != nil || !ok {
			return nil, err
		}
		if n <= 0 {
			return input, nil
		}
		if n >= int64(len(input)) {
			return nil, nil
		}
		return input[n:], nil
	}},
	"take": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		n, ok, err := integerArg(c, call, 0, focus)
		if err != nil || !ok || n <= 0 {
			return nil, err
		}
		if n >= int64(len(input)) {
			return input, nil
		}
		return input[:n:n], nil
	}},
	"intersect": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		other, err := c.arg(call, 0, focus)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, n := range input {
			if containsNode(other, n) && !containsNode(out, n) {
				out = append(out, n)
			}
		}
		return out, nil
	}},
	"exclude": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		other, err := c.arg(call, 0, focus)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, n := range input {
			if !containsNode(other, n) {
				out = append(out, n)
			}
		}
		return out, nil
	}},
}

func integerArg(c *evalContext, call *callExpr, i int, focus Collection) (int64, bool, error) {
	v, err := c.arg(call, i, focus)
	if err != nil {
		return 0, false, err
	}
	return singletonInteger(call, v)
}

func stringArg(c *evalContext, call *callExpr, i int, focus Collection) (string, bool, error) {
	v, err := c.arg(call, i, focus)
	if err != nil {
		return "", false, err
	}
	return singletonString(call, v)
}

// --- combining ---

var combiningFunctions = map[string]*function{
	"union": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		other, err := c.arg(call, 0, focus)
		return union(input, other), err
	}},
	"combine": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		other, err := c.arg(call, 0, focus)
		if err != nil {
			return nil, err
		}
		out := make(Collection, 0, len(input)+len(other))
		return append(append(out, input...), other...), nil
	}},
}
