package fhirpath

import (
	"sort"
)

// Functions of FHIRPath 2.1 that search and invariants use to reason
// about the precision of values: lowBoundary(), highBoundary(),
// precision(), comparable() and sort().

// maxBoundaryPrecision is the most decimal digits lowBoundary() and
// highBoundary() produce; FHIRPath 2.1 returns empty beyond 28.
const maxBoundaryPrecision = 28

// defaultDecimalBoundaryPrecision is used when no precision is given.
const defaultDecimalBoundaryPrecision = 8

// Digits that lowBoundary(), highBoundary() and precision() count for
// each precision of a date, dateTime or time.
var temporalDigits = map[Precision]int64{
	PrecisionYear: 4, PrecisionMonth: 6, PrecisionDay: 8,
	PrecisionHour: 10, PrecisionMinute: 12, PrecisionSecond: 14, PrecisionMillisecond: 17,
}

var timeDigits = map[Precision]int64{
	PrecisionHour: 2, PrecisionMinute: 4, PrecisionSecond: 6, PrecisionMillisecond: 9,
}

func precisionFromDigits(digits int64, table map[Precision]int64) (Precision, bool) {
	for p, d := range table {
		if d == digits {
			return p, true
		}
	}
	return 0, false
}

var boundaryFunctions = map[string]*function{
	"lowBoundary":  {maxArgs: 1, impl: boundary(false)},
	"highBoundary": {maxArgs: 1, impl: boundary(true)},
	"precision": {impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		v, _ := n.systemValue()
		switch x := v.(type) {
		case *Decimal:
			return Collection{newSystem(int64(x.Scale()))}, nil
		case int64:
			return Collection{newSystem(int64(0))}, nil
		case Date:
			return Collection{newSystem(temporalDigits[x.Precision])}, nil
		case DateTime:
			return Collection{newSystem(temporalDigits[x.Precision])}, nil
		case Time:
			return Collection{newSystem(timeDigits[x.Precision])}, nil
		}
		return nil, nil
	}},
	"comparable": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		other, err := c.arg(call, 0, focus)
		if err != nil {
			return nil, err
		}
		ov, ok, err := singletonValue(call, other)
		if err != nil || !ok {
			return nil, err
		}
		a, aok := n.Quantity()
		b, bok := ov.(Quantity)
		if !aok || !bok {
			return falseCollection, nil
		}
		_, comparable := a.convertValue(b)
		return boolResult(comparable), nil
	}},
	"sort": {maxArgs: 8, impl: sortFunction},
}

func init() {
	for name, f := range boundaryFunctions {
		functions[name] = f
	}
}

func boundary(high bool) func(*evalContext, *callExpr, Collection, Collection) (Collection, error) {
	return func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		digits, hasDigits := int64(-1), false
		if len(call.args) == 1 {
			d, present, err := integerArg(c, call, 0, focus)
			if err != nil || !present {
				return nil, err
			}
			digits, hasDigits = d, true
		}
		v, ok := n.systemValue()
		if !ok {
			return nil, nil
		}
		var r any
		switch x := v.(type) {
		case int64:
			r, ok = decimalBoundary(DecimalFromInt(x), digits, hasDigits, high)
		case *Decimal:
			r, ok = decimalBoundary(x, digits, hasDigits, high)
		case Quantity:
			var d *Decimal
			d, ok = decimalBoundary(x.Value, digits, hasDigits, high)
			x.Value = d
			r = x
		case Date:
			if !hasDigits {
				digits = 8
			}
			var dt DateTime
			dt, ok = dateTimeBoundary(x.DateTime(), digits, high)
			r = dt.Date()
		case DateTime:
			if !hasDigits {
				digits = 17
			}
			var dt DateTime
			dt, ok = dateTimeBoundary(x, digits, high)
			r = dt
			if dt.Precision <= PrecisionDay {
				r = dt.Date()
			}
		case Time:
			if !hasDigits {
				digits = 9
			}
			r, ok = timeBoundary(x, digits, high)
		default:
			return nil, nil
		}
		if !ok {
			return nil, nil
		}
		return Collection{newSystem(r)}, nil
	}
}

// decimalBoundary returns the smallest (or largest) value that d could
// stand for given its precision, written with digits fraction digits.
func decimalBoundary(d *Decimal, digits int64, hasDigits, high bool) (*Decimal, bool) {
	if !hasDigits {
		digits = defaultDecimalBoundaryPrecision
	}
	if digits < 0 || digits > maxBoundaryPrecision {
		return nil, false
	}
	if d.Sign() < 0 {
		// The boundaries of -x mirror those of x.
		r, ok := decimalBoundary(d.Neg(), digits, true, !high)
		if !ok {
			return nil, false
		}
		neg := r.Neg()
		neg.negativeZero = r.Sign() == 0
		return neg, true
	}
	half := &Decimal{scale: d.scale + 1}
	half.coef.SetInt64(5)
	var b *Decimal
	if high {
		b = d.Add(half)
	} else {
		b = d.Sub(half)
	}
	if int64(b.scale) > digits {
		if high {
			b = b.Round(int(digits))
		} else {
			b = b.Truncate0(int(digits))
		}
	}
	return b.withScale(int32(digits)), true
}

// Truncate0 drops fraction digits beyond digits, rounding toward zero.
func (d *Decimal) Truncate0(digits int) *Decimal {
	if digits >= int(d.scale) {
		return d
	}
	r := &Decimal{scale: int32(digits)} // #nosec G115 -- digits < d.scale, an int32, by the check above, and the only caller passes 0..maxBoundaryPrecision
	r.coef.Quo(&d.coef, pow10(int(d.scale)-digits))
	return r
}

// withScale pads d with zeros up to scale fraction digits.
func (d *Decimal) withScale(scale int32) *Decimal {
	if scale <= d.scale {
		return d
	}
	r := &Decimal{scale: scale}
	r.coef.Set(d.rescale(scale))
	return r
}

func dateTimeBoundary(dt DateTime, digits int64, high bool) (DateTime, bool) {
	p, ok := precisionFromDigits(digits, temporalDigits)
	if !ok {
		return DateTime{}, false
	}
	// An hour alone is not a valid FHIR time, so it is read as hh:00.
	if dt.Precision == PrecisionHour {
		dt.Precision = PrecisionMinute
	}

	r := dt
	if dt.Precision < PrecisionMonth {
		r.Month = pick(high, 12, 1)
	}
	if dt.Precision < PrecisionDay {
		r.Day = pick(high, daysIn(r.Year, r.Month), 1)
	}
	if dt.Precision < PrecisionHour {
		r.Hour = pick(high, 23, 0)
	}
	if dt.Precision < PrecisionMinute {
		r.Minute = pick(high, 59, 0)
	}
	if dt.Precision < PrecisionSecond {
		r.Second = pick(high, 59, 0)
	}
	if dt.Precision < PrecisionMillisecond {
		r.Nanosecond = pick(high, 999000000, 0)
	}
	if !dt.HasZone && p >= PrecisionHour {
		// The widest range covers every zone: +14:00 is the earliest and
		// -12:00 the latest.
		r.HasZone = true
		r.Offset = pick(high, -12*3600, 14*3600)
	}

	r.Precision = p
	truncateToPrecision(&r)
	return r, true
}

func timeBoundary(t Time, digits int64, high bool) (Time, bool) {
	p, ok := precisionFromDigits(digits, timeDigits)
	if !ok {
		return Time{}, false
	}
	dt := DateTime{Year: 2000, Month: 1, Day: 1, Hour: t.Hour, Minute: t.Minute, Second: t.Second, Nanosecond: t.Nanosecond, Precision: t.Precision, HasZone: true}
	r, ok := dateTimeBoundary(dt, temporalDigits[p], high)
	if !ok {
		return Time{}, false
	}
	return Time{Hour: r.Hour, Minute: r.Minute, Second: r.Second, Nanosecond: r.Nanosecond, Precision: p}, true
}

func pick(high bool, hi, lo int) int {
	if high {
		return hi
	}
	return lo
}

// sortFunction orders the input by its arguments, each a key evaluated
// per item; a key written with a leading minus sorts descending. Without
// arguments the items themselves are the key.
func sortFunction(c *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
	type sortKey struct {
		e          expr
		descending bool
	}
	keys := make([]sortKey, 0, len(call.args))
	for _, a := range call.args {
		if u, ok := a.(*unaryExpr); ok && u.op == "-" {
			keys = append(keys, sortKey{u.operand, true})
			continue
		}
		keys = append(keys, sortKey{a, false})
	}
	if len(keys) == 0 {
		keys = append(keys, sortKey{thisExpr{}, false})
	}

	values := make([][]any, len(input))
	for k, key := range keys {
		err := c.forEach(key.e, input, func(i int, _ Node, r Collection) (bool, error) {
			if k == 0 {
				values[i] = make([]any, len(keys))
			}
			v, ok, err := singletonValue(call, r)
			if err == nil && ok {
				values[i][k] = v
			}
			return false, err
		})
		if err != nil {
			return nil, err
		}
	}

	order := make([]int, len(input))
	for i := range order {
		order[i] = i
	}
	var sortErr error
	sort.SliceStable(order, func(x, y int) bool {
		for k, key := range keys {
			a, b := values[order[x]][k], values[order[y]][k]
			if a == nil || b == nil {
				if (a == nil) != (b == nil) {
					return a == nil
				}
				continue
			}
			cmp, _, err := compareValues(a, b)
			if err != nil {
				sortErr = err
				return false
			}
			if cmp != 0 {
				return (cmp < 0) != key.descending
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, evalErrorf(call, "%v", sortErr)
	}
	out := make(Collection, len(input))
	for i, j := range order {
		out[i] = input[j]
	}
	return out, nil
}
