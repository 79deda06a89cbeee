package fhirpath

import (
	"fmt"
	"math/big"
	"strings"
)

// Quantity is a FHIRPath Quantity or the value of a FHIR Quantity (and
// its profiles Age, Duration, Distance, Count, SimpleQuantity). Unit is
// the unit as written: a UCUM code, or a calendar duration keyword
// ("year", "weeks") for FHIRPath literals such as 1 week. System and Code
// come from the FHIR element; literals with a quoted unit get the UCUM
// system and the unit as code.
type Quantity struct {
	Value  *Decimal
	Unit   string
	System string
	Code   string
}

// calendarUnits maps FHIRPath calendar duration keywords to the singular
// keyword and, for the definite durations, the UCUM code they equal.
var calendarUnits = map[string]struct{ singular, ucum string }{
	"year": {"year", ""}, "years": {"year", ""},
	"month": {"month", ""}, "months": {"month", ""},
	"week": {"week", "wk"}, "weeks": {"week", "wk"},
	"day": {"day", "d"}, "days": {"day", "d"},
	"hour": {"hour", "h"}, "hours": {"hour", "h"},
	"minute": {"minute", "min"}, "minutes": {"minute", "min"},
	"second": {"second", "s"}, "seconds": {"second", "s"},
	"millisecond": {"millisecond", "ms"}, "milliseconds": {"millisecond", "ms"},
}

// String returns the FHIRPath literal form: 4 'mg', or 1 week for a
// calendar duration.
func (q Quantity) String() string {
	unit := q.unitCode()
	if _, ok := calendarUnits[unit]; ok && q.System != UCUMSystem {
		return q.Value.String() + " " + unit
	}
	if unit == "" {
		unit = "1"
	}
	return q.Value.String() + " '" + unit + "'"
}

// unitCode returns the code when the quantity is UCUM-coded, else the
// unit text.
func (q Quantity) unitCode() string {
	if q.Code != "" {
		return q.Code
	}
	return q.Unit
}

// calendarKeyword returns the singular keyword when the unit is a
// calendar duration written as a keyword.
func (q Quantity) calendarKeyword() (string, bool) {
	if q.System == UCUMSystem || (q.System != "" && q.Code != "") {
		return "", false
	}
	c, ok := calendarUnits[q.unitCode()]
	return c.singular, ok
}

// ucum returns the unit in base units, mapping the definite calendar
// durations (week and finer) to their UCUM equals. Year and month
// keywords have no UCUM equal: FHIRPath keeps them apart from 'a' and
// 'mo', which are fixed lengths of time.
func (q Quantity) ucum() (*ucumUnit, bool) {
	if kw, ok := q.calendarKeyword(); ok {
		c := calendarUnits[kw]
		if c.ucum == "" {
			return nil, false
		}
		u, err := parseUCUM(c.ucum)
		return u, err == nil
	}
	if q.System != "" && q.System != UCUMSystem {
		return nil, false
	}
	code := q.unitCode()
	if code == "" {
		code = "1"
	}
	u, err := parseUCUM(code)
	return u, err == nil
}

// sameUnit reports whether two quantities have the same unit, so that
// their values compare directly without conversion.
func (q Quantity) sameUnit(o Quantity) bool {
	ka, oka := q.calendarKeyword()
	kb, okb := o.calendarKeyword()
	if oka || okb {
		return oka && okb && ka == kb
	}
	ua, ub := q.unitCode(), o.unitCode()
	if ua == "" {
		ua = "1"
	}
	if ub == "" {
		ub = "1"
	}
	return ua == ub && (q.System == o.System || q.System == "" || o.System == "")
}

// convertValue returns o's value expressed in q's unit. ok is false when the
// units are not both known UCUM units of the same dimension.
func (q Quantity) convertValue(o Quantity) (*Decimal, bool) {
	if q.sameUnit(o) {
		return o.Value, true
	}
	ua, oka := q.ucum()
	ub, okb := o.ucum()
	if !oka || !okb || ua.dim != ub.dim {
		return nil, false
	}
	ratio := new(big.Rat).Quo(ub.factor, ua.factor)
	f, ok := ratDecimal(ratio)
	if !ok {
		// A ratio without a finite decimal form (1/3) is divided instead.
		num, _ := ratDecimal(new(big.Rat).SetInt(ratio.Num()))
		den, _ := ratDecimal(new(big.Rat).SetInt(ratio.Denom()))
		v, ok := o.Value.Mul(num).Quo(den)
		return v, ok
	}
	return o.Value.Mul(f), true
}

// ratDecimal returns r as a Decimal when its decimal expansion ends.
func ratDecimal(r *big.Rat) (*Decimal, bool) {
	den := new(big.Int).Set(r.Denom())
	scale := 0
	two, five, ten := big.NewInt(2), big.NewInt(5), big.NewInt(10)
	m := new(big.Int)
	for den.Cmp(big.NewInt(1)) != 0 {
		switch {
		case m.Mod(den, ten).Sign() == 0:
			den.Quo(den, ten)
		case m.Mod(den, two).Sign() == 0:
			den.Quo(den, two)
		case m.Mod(den, five).Sign() == 0:
			den.Quo(den, five)
		default:
			return nil, false
		}
		scale++
		if scale > 60 {
			return nil, false
		}
	}
	num := new(big.Int).Mul(r.Num(), pow10(scale))
	num.Quo(num, r.Denom())
	d := &Decimal{scale: int32(scale)}
	d.coef.Set(num)
	return d.trimZeros(), true
}

// compareQuantities orders two quantities after converting o to q's unit.
// ok is false when the units cannot be compared.
func compareQuantities(q, o Quantity) (int, bool) {
	v, ok := q.convertValue(o)
	if !ok {
		return 0, false
	}
	return q.Value.Cmp(v), true
}

func equivalentQuantities(q, o Quantity) (bool, bool) {
	v, ok := q.convertValue(o)
	if !ok {
		return false, false
	}
	return equivalentDecimals(q.Value, v), true
}

// multiplyQuantities and divideQuantities combine the units as UCUM
// products and quotients.
func multiplyQuantities(a, b Quantity, divide bool) (Quantity, error) {
	ua, ub := ucumCodeOf(a), ucumCodeOf(b)
	if ua == "" || ub == "" {
		return Quantity{}, fmt.Errorf("cannot multiply or divide %s and %s: only UCUM units combine", a, b)
	}
	var unit string
	var value *Decimal
	if divide {
		v, ok := a.Value.Quo(b.Value)
		if !ok {
			return Quantity{}, errDivideByZero
		}
		value = v
		unit = wrapUnit(ua) + "/" + wrapUnit(ub)
		if ua == ub {
			unit = "1"
		}
	} else {
		value = a.Value.Mul(b.Value)
		unit = wrapUnit(ua) + "." + wrapUnit(ub)
		if ua == "1" {
			unit = ub
		} else if ub == "1" {
			unit = ua
		}
	}
	return Quantity{Value: value, Unit: unit, System: UCUMSystem, Code: unit}, nil
}

var errDivideByZero = fmt.Errorf("division by zero")

func ucumCodeOf(q Quantity) string {
	if kw, ok := q.calendarKeyword(); ok {
		return calendarUnits[kw].ucum
	}
	if q.System != "" && q.System != UCUMSystem {
		return ""
	}
	if c := q.unitCode(); c != "" {
		return c
	}
	return "1"
}

func wrapUnit(u string) string {
	if strings.ContainsAny(u, "./") {
		return "(" + u + ")"
	}
	return u
}

// parseQuantityString reads the FHIRPath quantity forms that toQuantity
// accepts: a number, optionally followed by a quoted UCUM unit or a
// calendar keyword.
func parseQuantityString(s string) (Quantity, bool) {
	s = strings.TrimSpace(s)
	num, rest, _ := strings.Cut(s, " ")
	v, err := ParseDecimal(num)
	if err != nil || strings.ContainsAny(num, "eE") {
		return Quantity{}, false
	}
	rest = strings.TrimSpace(rest)
	switch {
	case rest == "":
		return Quantity{Value: v, Unit: "1", System: UCUMSystem, Code: "1"}, true
	case len(rest) >= 2 && rest[0] == '\'' && rest[len(rest)-1] == '\'':
		unit := rest[1 : len(rest)-1]
		return Quantity{Value: v, Unit: unit, System: UCUMSystem, Code: unit}, true
	}
	if _, ok := calendarUnits[rest]; ok {
		return Quantity{Value: v, Unit: rest}, true
	}
	return Quantity{}, false
}
