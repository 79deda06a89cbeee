package fhirpath

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	integerPattern = regexp.MustCompile(`^[+-]?[0-9]+$`)
	decimalPattern = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)
)

// converter turns one System value into another type; ok is false when
// the value does not convert.
type converter func(v any) (any, bool)

// conversionPair registers toX() and convertsToX() for one converter.
func conversionPair(to, convertsTo string, conv converter, table map[string]*function) {
	table[to] = &function{impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		v, ok := n.systemValue()
		if !ok {
			return nil, nil
		}
		r, ok := conv(v)
		if !ok {
			return nil, nil
		}
		return Collection{newSystem(r)}, nil
	}}
	table[convertsTo] = &function{impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		v, ok := n.systemValue()
		if !ok {
			return falseCollection, nil
		}
		_, ok = conv(v)
		return boolResult(ok), nil
	}}
}

var conversionFunctions = func() map[string]*function {
	table := map[string]*function{
		"iif":                {minArgs: 2, maxArgs: 3, impl: iif},
		"toQuantity":         {maxArgs: 1, impl: toQuantityFunction(false)},
		"convertsToQuantity": {maxArgs: 1, impl: toQuantityFunction(true)},
	}
	conversionPair("toBoolean", "convertsToBoolean", convertToBoolean, table)
	conversionPair("toInteger", "convertsToInteger", convertToInteger, table)
	conversionPair("toDecimal", "convertsToDecimal", convertToDecimal, table)
	conversionPair("toString", "convertsToString", convertToString, table)
	conversionPair("toDate", "convertsToDate", convertToDate, table)
	conversionPair("toDateTime", "convertsToDateTime", convertToDateTime, table)
	conversionPair("toTime", "convertsToTime", convertToTime, table)
	return table
}()

// iif evaluates its criterion and one of its branches with the input as
// focus. The criterion must be a Boolean or empty.
func iif(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
	if call.target != nil {
		if len(input) > 1 {
			return nil, evalErrorf(call, "iif() needs at most one input item, got %d", len(input))
		}
		focus = input
	}
	crit, err := c.arg(call, 0, focus)
	if err != nil {
		return nil, err
	}
	if len(crit) > 1 {
		return nil, evalErrorf(call, "iif() criterion must be a single Boolean, got %d items", len(crit))
	}
	cond := false
	if len(crit) == 1 {
		v, _ := crit[0].systemValue()
		b, ok := v.(bool)
		if !ok {
			return nil, evalErrorf(call, "iif() criterion must be a Boolean, got %s", typeLabel(crit[0]))
		}
		cond = b
	}
	if cond {
		return c.arg(call, 1, focus)
	}
	if len(call.args) > 2 {
		return c.arg(call, 2, focus)
	}
	return nil, nil
}

func convertToBoolean(v any) (any, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int64:
		switch x {
		case 1:
			return true, true
		case 0:
			return false, true
		}
	case *Decimal:
		switch {
		case x.Cmp(DecimalFromInt(1)) == 0:
			return true, true
		case x.Sign() == 0:
			return false, true
		}
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "1", "1.0":
			return true, true
		case "false", "f", "no", "n", "0", "0.0":
			return false, true
		}
	}
	return nil, false
}

func convertToInteger(v any) (any, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return int64(1), true
		}
		return int64(0), true
	case string:
		if !integerPattern.MatchString(x) {
			return nil, false
		}
		i, err := strconv.ParseInt(x, 10, 64)
		return i, err == nil
	}
	return nil, false
}

func convertToDecimal(v any) (any, bool) {
	switch x := v.(type) {
	case int64:
		return DecimalFromInt(x), true
	case *Decimal:
		return x, true
	case bool:
		if x {
			return DecimalFromInt(1), true
		}
		return DecimalFromInt(0), true
	case string:
		if !decimalPattern.MatchString(x) {
			return nil, false
		}
		d, err := ParseDecimal(x)
		return d, err == nil
	}
	return nil, false
}

func convertToString(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case *Decimal:
		return x.String(), true
	case Date:
		return x.String(), true
	case DateTime:
		return x.String(), true
	case Time:
		return x.String(), true
	case Quantity:
		return x.String(), true
	}
	return nil, false
}

func convertToDate(v any) (any, bool) {
	switch x := v.(type) {
	case Date:
		return x, true
	case DateTime:
		return x.Date(), true
	case string:
		if d, err := ParseDate(x); err == nil {
			return d, true
		}
		if dt, err := ParseDateTime(x); err == nil {
			return dt.Date(), true
		}
	}
	return nil, false
}

func convertToDateTime(v any) (any, bool) {
	switch x := v.(type) {
	case Date:
		return x.DateTime(), true
	case DateTime:
		return x, true
	case string:
		dt, err := ParseDateTime(x)
		return dt, err == nil
	}
	return nil, false
}

func convertToTime(v any) (any, bool) {
	switch x := v.(type) {
	case Time:
		return x, true
	case string:
		t, err := ParseTime(x)
		return t, err == nil
	}
	return nil, false
}

func convertToQuantity(v any) (Quantity, bool) {
	switch x := v.(type) {
	case Quantity:
		return x, true
	case int64:
		return Quantity{Value: DecimalFromInt(x), Unit: "1", System: UCUMSystem, Code: "1"}, true
	case *Decimal:
		return Quantity{Value: x, Unit: "1", System: UCUMSystem, Code: "1"}, true
	case bool:
		d := DecimalFromInt(0)
		if x {
			d = DecimalFromInt(1)
		}
		return Quantity{Value: d, Unit: "1", System: UCUMSystem, Code: "1"}, true
	case string:
		return parseQuantityString(x)
	}
	return Quantity{}, false
}

// toQuantityFunction builds toQuantity([unit]) and convertsToQuantity([unit]).
// With a unit, the quantity is converted to it when UCUM allows.
func toQuantityFunction(test bool) func(*evalContext, *callExpr, Collection, Collection) (Collection, error) {
	return func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		v, ok := n.systemValue()
		var q Quantity
		if ok {
			q, ok = convertToQuantity(v)
		}
		if ok && len(call.args) == 1 {
			unit, present, err := stringArg(c, call, 0, focus)
			if err != nil {
				return nil, err
			}
			if present {
				target := Quantity{Value: DecimalFromInt(1), Unit: unit, System: UCUMSystem, Code: unit}
				if _, isKeyword := calendarUnits[unit]; isKeyword {
					target.System, target.Code = "", ""
				}
				converted, convertible := target.convertValue(q)
				if convertible {
					target.Value = converted
					q = target
				}
				ok = convertible
			}
		}
		if test {
			return boolResult(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return Collection{newSystem(q)}, nil
	}
}
