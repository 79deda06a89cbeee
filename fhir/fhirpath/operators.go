package fhirpath

import (
	"encoding/json"
	"math"
	"strings"
)

func (e *binaryExpr) eval(c *evalContext, focus Collection) (Collection, error) {
	switch e.op {
	case "and", "or", "xor", "implies":
		return e.evalLogic(c, focus)
	}
	left, err := e.left.eval(c, focus)
	if err != nil {
		return nil, err
	}
	right, err := e.right.eval(c, focus)
	if err != nil {
		return nil, err
	}

	switch e.op {
	case "|":
		return union(left, right), nil
	case "=":
		return equalCollections(left, right), nil
	case "!=":
		r := equalCollections(left, right)
		if len(r) == 0 {
			return nil, nil
		}
		return boolResult(!r[0].value.(bool)), nil
	case "~":
		return boolResult(equivalentCollections(left, right)), nil
	case "!~":
		return boolResult(!equivalentCollections(left, right)), nil
	case "<", ">", "<=", ">=":
		return e.compare(left, right)
	case "in":
		return membership(e, left, right)
	case "contains":
		return membership(e, right, left)
	case "&":
		return e.concatenate(left, right)
	}
	return e.arithmetic(left, right)
}

// evalLogic applies FHIRPath's three-valued logic, where an empty operand
// is unknown. The right side is evaluated even when the left decides, so
// that its errors are not hidden.
func (e *binaryExpr) evalLogic(c *evalContext, focus Collection) (Collection, error) {
	left, err := e.left.eval(c, focus)
	if err != nil {
		return nil, err
	}
	l, lok, err := singletonBoolean(e, left)
	if err != nil {
		return nil, err
	}
	right, err := e.right.eval(c, focus)
	if err != nil {
		return nil, err
	}
	r, rok, err := singletonBoolean(e, right)
	if err != nil {
		return nil, err
	}

	switch e.op {
	case "and":
		switch {
		case (lok && !l) || (rok && !r):
			return falseCollection, nil
		case lok && rok:
			return trueCollection, nil
		}
	case "or":
		switch {
		case (lok && l) || (rok && r):
			return trueCollection, nil
		case lok && rok:
			return falseCollection, nil
		}
	case "xor":
		if lok && rok {
			return boolResult(l != r), nil
		}
	case "implies":
		switch {
		case lok && !l:
			return trueCollection, nil
		case rok && r:
			return trueCollection, nil
		case lok && rok:
			return falseCollection, nil
		}
	}
	return nil, nil
}

// singletonBoolean converts a collection to a Boolean by FHIRPath's
// singleton evaluation: empty is unknown (ok false), a single Boolean is
// its value, any other single item is true, and several items are an
// error.
func singletonBoolean(at expr, c Collection) (value, ok bool, err error) {
	switch len(c) {
	case 0:
		return false, false, nil
	case 1:
		if v, isBool := c[0].systemValue(); isBool {
			if b, isBool := v.(bool); isBool {
				return b, true, nil
			}
		}
		return true, true, nil
	}
	return false, false, evalErrorf(at, "expected a single Boolean, got %d items", len(c))
}

// singletonValue returns the System value of a one-item collection. ok is
// false for an empty collection; several items are an error.
func singletonValue(at expr, c Collection) (any, bool, error) {
	switch len(c) {
	case 0:
		return nil, false, nil
	case 1:
		v, ok := c[0].systemValue()
		return v, ok, nil
	}
	return nil, false, evalErrorf(at, "expected a single value, got %d items", len(c))
}

func singletonInteger(at expr, c Collection) (int64, bool, error) {
	v, ok, err := singletonValue(at, c)
	if err != nil || !ok {
		return 0, false, err
	}
	i, isInt := v.(int64)
	if !isInt {
		return 0, false, evalErrorf(at, "expected an Integer, got %s", typeLabel(c[0]))
	}
	return i, true, nil
}

func singletonString(at expr, c Collection) (string, bool, error) {
	v, ok, err := singletonValue(at, c)
	if err != nil || !ok {
		return "", false, err
	}
	s, isString := v.(string)
	if !isString {
		return "", false, evalErrorf(at, "expected a String, got %s", typeLabel(c[0]))
	}
	return s, true, nil
}

// union merges two collections without duplicates, by equality.
func union(a, b Collection) Collection {
	out := make(Collection, 0, len(a)+len(b))
	for _, list := range []Collection{a, b} {
		for _, n := range list {
			if !containsNode(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func containsNode(list Collection, n Node) bool {
	for _, m := range list {
		if eq, ok := equalNodes(m, n); ok && eq {
			return true
		}
	}
	return false
}

func equalCollections(a, b Collection) Collection {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	if len(a) != len(b) {
		return falseCollection
	}
	unknown := false
	for i := range a {
		eq, ok := equalNodes(a[i], b[i])
		if !ok {
			unknown = true
			continue
		}
		if !eq {
			return falseCollection
		}
	}
	if unknown {
		return nil
	}
	return trueCollection
}

func equivalentCollections(a, b Collection) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for _, n := range a {
		found := false
		for j, m := range b {
			if !used[j] && equivalentNodes(n, m) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// equalNodes compares two items by FHIRPath equality. ok is false when
// the result is unknown: dates of different precision that agree as far
// as both go, or quantities whose units do not convert.
func equalNodes(a, b Node) (eq, ok bool) {
	am, aIsMap := a.value.(map[string]any)
	bm, bIsMap := b.value.(map[string]any)
	aq, bq := a.kind() == kindQuantity, b.kind() == kindQuantity
	if (aIsMap && !aq) || (bIsMap && !bq) {
		if aIsMap && bIsMap {
			return jsonEqual(am, bm, false), true
		}
		return false, true
	}
	av, aok := a.systemValue()
	bv, bok := b.systemValue()
	if !aok || !bok {
		return false, true
	}
	return equalValues(av, bv)
}

func equalValues(av, bv any) (eq, ok bool) {
	switch x := av.(type) {
	case string:
		y, isString := bv.(string)
		return isString && x == y, true
	case bool:
		y, isBool := bv.(bool)
		return isBool && x == y, true
	case int64, *Decimal:
		xd, _ := toDecimal(av)
		yd, isNumber := toDecimal(bv)
		if !isNumber {
			if q, isQ := bv.(Quantity); isQ {
				return equalValues(Quantity{Value: xd, Unit: "1"}, q)
			}
			return false, true
		}
		return xd.Cmp(yd) == 0, true
	case Quantity:
		var y Quantity
		switch v := bv.(type) {
		case Quantity:
			y = v
		case int64, *Decimal:
			d, _ := toDecimal(v)
			y = Quantity{Value: d, Unit: "1"}
		default:
			return false, true
		}
		cmp, comparable := compareQuantities(x, y)
		if !comparable {
			return false, false
		}
		return cmp == 0, true
	case Date, DateTime:
		xd, _ := toDateTime(av)
		yd, isTemporal := toDateTime(bv)
		if !isTemporal {
			return false, true
		}
		cmp, known := compareDateTimes(xd, yd)
		if !known {
			return false, false
		}
		return cmp == 0, true
	case Time:
		y, isTime := bv.(Time)
		if !isTime {
			return false, true
		}
		cmp, known := compareTimes(x, y)
		if !known {
			return false, false
		}
		return cmp == 0, true
	}
	return false, true
}

func toDecimal(v any) (*Decimal, bool) {
	switch x := v.(type) {
	case int64:
		return DecimalFromInt(x), true
	case *Decimal:
		return x, true
	}
	return nil, false
}

func toDateTime(v any) (DateTime, bool) {
	switch x := v.(type) {
	case Date:
		return x.DateTime(), true
	case DateTime:
		return x, true
	}
	return DateTime{}, false
}

// equivalentNodes implements "~": strings ignore case and collapse white
// space, decimals compare at the lesser precision, and dates of different
// precision are not equivalent.
func equivalentNodes(a, b Node) bool {
	am, aIsMap := a.value.(map[string]any)
	bm, bIsMap := b.value.(map[string]any)
	aq, bq := a.kind() == kindQuantity, b.kind() == kindQuantity
	if (aIsMap && !aq) || (bIsMap && !bq) {
		return aIsMap && bIsMap && jsonEqual(am, bm, true)
	}
	av, aok := a.systemValue()
	bv, bok := b.systemValue()
	if !aok || !bok {
		return !aok && !bok
	}
	return equivalentValues(av, bv)
}

func equivalentValues(av, bv any) bool {
	switch x := av.(type) {
	case string:
		y, ok := bv.(string)
		return ok && normalizeForEquivalence(x) == normalizeForEquivalence(y)
	case int64, *Decimal:
		xd, _ := toDecimal(av)
		yd, ok := toDecimal(bv)
		return ok && equivalentDecimals(xd, yd)
	case Quantity:
		y, ok := bv.(Quantity)
		if !ok {
			return false
		}
		eq, comparable := equivalentQuantities(x, y)
		return comparable && eq
	case Date, DateTime, Time:
		eq, ok := equalValues(av, bv)
		return ok && eq
	}
	eq, ok := equalValues(av, bv)
	return ok && eq
}

func normalizeForEquivalence(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// jsonEqual compares two JSON trees; with loose set, strings compare as
// equivalence does.
func jsonEqual(a, b any, loose bool) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w, loose) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], loose) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		dx, err1 := ParseDecimal(string(x))
		dy, err2 := ParseDecimal(string(y))
		return err1 == nil && err2 == nil && dx.Cmp(dy) == 0
	case string:
		y, ok := b.(string)
		if loose {
			return ok && normalizeForEquivalence(x) == normalizeForEquivalence(y)
		}
		return ok && x == y
	}
	return a == b
}

func (e *binaryExpr) compare(left, right Collection) (Collection, error) {
	if len(left) == 0 || len(right) == 0 {
		return nil, nil
	}
	if len(left) > 1 || len(right) > 1 {
		return nil, evalErrorf(e, "%s needs single values, got %d and %d items", e.op, len(left), len(right))
	}
	lv, lok := left[0].systemValue()
	rv, rok := right[0].systemValue()
	if !lok || !rok {
		return nil, nil
	}
	cmp, known, err := compareValues(lv, rv)
	if err != nil {
		return nil, evalErrorf(e, "%v", err)
	}
	if !known {
		return nil, nil
	}
	switch e.op {
	case "<":
		return boolResult(cmp < 0), nil
	case ">":
		return boolResult(cmp > 0), nil
	case "<=":
		return boolResult(cmp <= 0), nil
	}
	return boolResult(cmp >= 0), nil
}

type comparisonError struct{ a, b any }

func (e comparisonError) Error() string {
	return "cannot compare " + systemTypeName(e.a) + " with " + systemTypeName(e.b)
}

func systemTypeName(v any) string {
	switch v.(type) {
	case string:
		return "String"
	case bool:
		return "Boolean"
	case int64:
		return "Integer"
	case *Decimal:
		return "Decimal"
	case Date:
		return "Date"
	case DateTime:
		return "DateTime"
	case Time:
		return "Time"
	case Quantity:
		return "Quantity"
	}
	return "value"
}

// compareValues orders two System values of comparable types. known is
// false when the order cannot be determined (precision, units).
func compareValues(a, b any) (cmp int, known bool, err error) {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true, nil
		}
	case int64, *Decimal:
		xd, _ := toDecimal(a)
		if yd, ok := toDecimal(b); ok {
			return xd.Cmp(yd), true, nil
		}
		if q, ok := b.(Quantity); ok {
			cmp, known := compareQuantities(Quantity{Value: xd, Unit: "1"}, q)
			return cmp, known, nil
		}
	case Quantity:
		switch y := b.(type) {
		case Quantity:
			cmp, known := compareQuantities(x, y)
			if !known {
				return 0, false, comparisonError{a, b}
			}
			return cmp, true, nil
		case int64, *Decimal:
			d, _ := toDecimal(y)
			cmp, known := compareQuantities(x, Quantity{Value: d, Unit: "1"})
			return cmp, known, nil
		}
	case Date, DateTime:
		xd, _ := toDateTime(a)
		if yd, ok := toDateTime(b); ok {
			cmp, known := compareDateTimes(xd, yd)
			return cmp, known, nil
		}
	case Time:
		if y, ok := b.(Time); ok {
			cmp, known := compareTimes(x, y)
			return cmp, known, nil
		}
	}
	return 0, false, comparisonError{a, b}
}

// membership implements "item in list"; "list contains item" swaps them.
func membership(e *binaryExpr, item, list Collection) (Collection, error) {
	if len(item) == 0 {
		return nil, nil
	}
	if len(item) > 1 {
		return nil, evalErrorf(e, "%s needs a single item, got %d", e.op, len(item))
	}
	return boolResult(containsNode(list, item[0])), nil
}

func (e *binaryExpr) concatenate(left, right Collection) (Collection, error) {
	if len(left) > 1 || len(right) > 1 {
		return nil, evalErrorf(e, "& needs single values, got %d and %d items", len(left), len(right))
	}
	var b strings.Builder
	for _, side := range []Collection{left, right} {
		if len(side) == 0 {
			continue
		}
		v, ok := side[0].systemValue()
		s, isString := v.(string)
		if !ok || !isString {
			return nil, evalErrorf(e, "& needs strings, got %s", typeLabel(side[0]))
		}
		b.WriteString(s)
	}
	return Collection{newSystem(b.String())}, nil
}

func (e *binaryExpr) arithmetic(left, right Collection) (Collection, error) {
	if len(left) == 0 || len(right) == 0 {
		return nil, nil
	}
	if len(left) > 1 || len(right) > 1 {
		return nil, evalErrorf(e, "%s needs single values, got %d and %d items", e.op, len(left), len(right))
	}
	lv, lok := left[0].systemValue()
	rv, rok := right[0].systemValue()
	if !lok || !rok {
		return nil, nil
	}
	v, err := arithmeticValues(e.op, lv, rv)
	if err != nil {
		if err == errDivideByZero || err == errOverflow {
			return nil, nil
		}
		return nil, evalErrorf(e, "%v", err)
	}
	return Collection{newSystem(v)}, nil
}

type arithmeticError struct {
	op   string
	a, b any
}

func (e arithmeticError) Error() string {
	return "operator " + e.op + " is not defined for " + systemTypeName(e.a) + " and " + systemTypeName(e.b)
}

var errOverflow = arithmeticError{op: "overflow"}

func arithmeticValues(op string, a, b any) (any, error) {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return integerArithmetic(op, x, y)
		}
	case string:
		if y, ok := b.(string); ok && op == "+" {
			return x + y, nil
		}
		return nil, arithmeticError{op, a, b}
	case Date:
		if q, ok := b.(Quantity); ok && (op == "+" || op == "-") {
			dt, err := addQuantity(x.DateTime(), q, op == "-")
			if err != nil {
				return nil, err
			}
			return dt.Date(), nil
		}
		return nil, arithmeticError{op, a, b}
	case DateTime:
		if q, ok := b.(Quantity); ok && (op == "+" || op == "-") {
			return addQuantity(x, q, op == "-")
		}
		return nil, arithmeticError{op, a, b}
	case Time:
		if q, ok := b.(Quantity); ok && (op == "+" || op == "-") {
			dt := DateTime{Year: 2000, Month: 1, Day: 1, Hour: x.Hour, Minute: x.Minute, Second: x.Second, Nanosecond: x.Nanosecond, Precision: x.Precision}
			r, err := addQuantity(dt, q, op == "-")
			if err != nil {
				return nil, err
			}
			return Time{Hour: r.Hour, Minute: r.Minute, Second: r.Second, Nanosecond: r.Nanosecond, Precision: x.Precision}, nil
		}
		return nil, arithmeticError{op, a, b}
	case Quantity:
		return quantityArithmetic(op, x, b)
	}
	xd, ok1 := toDecimal(a)
	yd, ok2 := toDecimal(b)
	if ok1 && ok2 {
		return decimalArithmetic(op, xd, yd)
	}
	if q, ok := b.(Quantity); ok && ok1 && op == "*" {
		return Quantity{Value: q.Value.Mul(xd), Unit: q.Unit, System: q.System, Code: q.Code}, nil
	}
	return nil, arithmeticError{op, a, b}
}

func integerArithmetic(op string, x, y int64) (any, error) {
	switch op {
	case "+":
		r := x + y
		if (r > x) != (y > 0) {
			return nil, errOverflow
		}
		return r, nil
	case "-":
		r := x - y
		if (r < x) != (y > 0) {
			return nil, errOverflow
		}
		return r, nil
	case "*":
		if x != 0 && y != 0 {
			r := x * y
			if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return nil, errOverflow
			}
			return r, nil
		}
		return int64(0), nil
	case "/":
		return decimalArithmetic(op, DecimalFromInt(x), DecimalFromInt(y))
	case "div":
		if y == 0 {
			return nil, errDivideByZero
		}
		return x / y, nil
	case "mod":
		if y == 0 {
			return nil, errDivideByZero
		}
		return x % y, nil
	}
	return nil, arithmeticError{op, x, y}
}

func decimalArithmetic(op string, x, y *Decimal) (any, error) {
	switch op {
	case "+":
		return x.Add(y), nil
	case "-":
		return x.Sub(y), nil
	case "*":
		return x.Mul(y), nil
	case "/":
		r, ok := x.Quo(y)
		if !ok {
			return nil, errDivideByZero
		}
		return r, nil
	case "div":
		r, ok := x.QuoInt(y)
		if !ok {
			return nil, errDivideByZero
		}
		if i, fits := r.Int64(); fits {
			return i, nil
		}
		return r, nil
	case "mod":
		r, ok := x.Mod(y)
		if !ok {
			return nil, errDivideByZero
		}
		return r, nil
	}
	return nil, arithmeticError{op, x, y}
}

func quantityArithmetic(op string, x Quantity, b any) (any, error) {
	switch y := b.(type) {
	case Quantity:
		switch op {
		case "+", "-":
			v, ok := x.convertValue(y)
			if !ok {
				return nil, arithmeticError{op, x, y}
			}
			r := x
			if op == "+" {
				r.Value = x.Value.Add(v)
			} else {
				r.Value = x.Value.Sub(v)
			}
			return r, nil
		case "*", "/":
			return multiplyQuantities(x, y, op == "/")
		}
	case int64, *Decimal:
		d, _ := toDecimal(y)
		switch op {
		case "*":
			r := x
			r.Value = x.Value.Mul(d)
			return r, nil
		case "/":
			v, ok := x.Value.Quo(d)
			if !ok {
				return nil, errDivideByZero
			}
			r := x
			r.Value = v
			return r, nil
		}
	}
	return nil, arithmeticError{op, x, b}
}

// ucumTimeKeywords maps the UCUM codes that a date may be shifted by to
// calendar keywords. 'mo' and 'a' are missing on purpose: they are mean
// lengths, not calendar months and years, so adding them is an error.
var ucumTimeKeywords = map[string]string{
	"wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}

func addQuantity(dt DateTime, q Quantity, subtract bool) (DateTime, error) {
	unit, ok := q.calendarKeyword()
	if !ok {
		unit, ok = ucumTimeKeywords[q.unitCode()]
		if !ok {
			// A quoted calendar keyword ('month') is accepted as the keyword.
			c, isKeyword := calendarUnits[q.unitCode()]
			if !isKeyword {
				return dt, arithmeticError{"+", dt, q}
			}
			unit = c.singular
		}
	}
	amount, fits := q.Value.Truncate().Int64()
	if !fits {
		return dt, arithmeticError{"+", dt, q}
	}
	if subtract {
		amount = -amount
	}
	return addToDateTime(dt, amount, unit)
}
