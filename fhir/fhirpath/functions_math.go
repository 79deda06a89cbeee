package fhirpath

import (
	"math"
)

// numberInput returns the single Integer, Decimal or (where allowed)
// Quantity the function is invoked on.
func numberInput(call *callExpr, input Collection, allowQuantity bool) (any, bool, error) {
	n, ok, err := singleInput(call, input)
	if err != nil || !ok {
		return nil, false, err
	}
	v, ok := n.systemValue()
	switch v.(type) {
	case int64, *Decimal:
		return v, ok, nil
	case Quantity:
		if allowQuantity {
			return v, ok, nil
		}
	}
	return nil, false, evalErrorf(call, "%s() needs a number input, got %s", call.name, typeLabel(n))
}

// integerResult returns d as an Integer when it fits, else as a Decimal.
func integerResult(d *Decimal) any {
	if i, ok := d.Int64(); ok {
		return i
	}
	return d
}

func mathFunction(nargs int, fn func(call *callExpr, v any, args []any) (any, bool)) *function {
	return &function{minArgs: 0, maxArgs: nargs, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		v, ok, err := numberInput(call, input, call.name == "abs")
		if err != nil || !ok {
			return nil, err
		}
		args := make([]any, len(call.args))
		for i := range call.args {
			a, err := c.arg(call, i, focus)
			if err != nil {
				return nil, err
			}
			av, present, err := singletonValue(call, a)
			if err != nil || !present {
				return nil, err
			}
			if _, isNumber := toDecimal(av); !isNumber {
				return nil, evalErrorf(call, "%s() needs a number argument, got %s", call.name, typeLabel(a[0]))
			}
			args[i] = av
		}
		r, ok := fn(call, v, args)
		if !ok {
			return nil, nil
		}
		return Collection{newSystem(r)}, nil
	}}
}

func floatFunction(f func(float64) float64) func(*callExpr, any, []any) (any, bool) {
	return func(_ *callExpr, v any, _ []any) (any, bool) {
		d, _ := toDecimal(v)
		r, ok := decimalFromFloat(f(d.Float64()))
		return r, ok
	}
}

var mathFunctions = map[string]*function{
	"abs": mathFunction(0, func(_ *callExpr, v any, _ []any) (any, bool) {
		switch x := v.(type) {
		case int64:
			if x == math.MinInt64 {
				return nil, false
			}
			if x < 0 {
				return -x, true
			}
			return x, true
		case *Decimal:
			return x.Abs(), true
		case Quantity:
			x.Value = x.Value.Abs()
			return x, true
		}
		return nil, false
	}),
	"ceiling": mathFunction(0, func(_ *callExpr, v any, _ []any) (any, bool) {
		d, _ := toDecimal(v)
		return integerResult(d.Ceiling()), true
	}),
	"floor": mathFunction(0, func(_ *callExpr, v any, _ []any) (any, bool) {
		d, _ := toDecimal(v)
		return integerResult(d.Floor()), true
	}),
	"truncate": mathFunction(0, func(_ *callExpr, v any, _ []any) (any, bool) {
		d, _ := toDecimal(v)
		return integerResult(d.Truncate()), true
	}),
	"round": mathFunction(1, func(_ *callExpr, v any, args []any) (any, bool) {
		d, _ := toDecimal(v)
		digits := int64(0)
		if len(args) == 1 {
			p, ok := args[0].(int64)
			if !ok || p < 0 {
				return nil, false
			}
			digits = p
		}
		return d.Round(int(min(digits, maxDecimalScale))), true
	}),
	"exp":  mathFunction(0, floatFunction(math.Exp)),
	"ln":   mathFunction(0, floatFunction(math.Log)),
	"sqrt": mathFunction(0, floatFunction(math.Sqrt)),
	"log": mathFunction(1, func(_ *callExpr, v any, args []any) (any, bool) {
		if len(args) == 0 {
			return nil, false
		}
		d, _ := toDecimal(v)
		base, _ := toDecimal(args[0])
		return decimalFromFloat(math.Log(d.Float64()) / math.Log(base.Float64()))
	}),
	"power": mathFunction(1, func(_ *callExpr, v any, args []any) (any, bool) {
		if len(args) == 0 {
			return nil, false
		}
		x, xInt := v.(int64)
		y, yInt := args[0].(int64)
		if xInt && yInt && y >= 0 {
			switch x {
			case 0, 1:
				if y == 0 {
					return int64(1), true
				}
				return x, true
			case -1:
				if y%2 == 0 {
					return int64(1), true
				}
				return int64(-1), true
			}
			// |x| >= 2, so the loop overflows within 63 rounds.
			r := int64(1)
			for range y {
				next := r * x
				if x != 0 && next/x != r {
					return nil, false
				}
				r = next
			}
			return r, true
		}
		d, _ := toDecimal(v)
		e, _ := toDecimal(args[0])
		return decimalFromFloat(math.Pow(d.Float64(), e.Float64()))
	}),
}
