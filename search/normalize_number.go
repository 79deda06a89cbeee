package search

import (
	"encoding/json"
	"math"

	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// iso4217 is the code system of Money.currency.
const iso4217 = "urn:iso:std:iso:4217"

// appendNumber appends one number entry per integer or decimal value,
// with the range its precision implies (see NumberValue). A Range gives
// one entry from the low end of its low to the high end of its high. An
// end it lacks is open (±math.MaxFloat64). Number is its low, or its high
// when it has no low.
func appendNumber(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	if d, ok := decimalOf(n.Value()); ok {
		number, low, high := NumberValue(d)
		return append(dst, storage.IndexEntry{Param: code, Type: storage.TypeNumber, Number: number, NumberLow: low, NumberHigh: high})
	}
	if m, ok := n.Value().(map[string]any); ok && n.TypeName() == "Range" {
		e := storage.IndexEntry{Param: code, Type: storage.TypeNumber}
		if rangeEntry(&e, m, func(d *fhirpath.Decimal, _ map[string]any) (float64, float64, float64, string, bool) {
			number, low, high := NumberValue(d)
			return number, low, high, "", true
		}) {
			dst = append(dst, e)
		}
	}
	return dst
}

// appendQuantity appends quantity entries. A Quantity (and Age, Duration,
// Count, Distance) gives its value and precision range with System and
// Code as written and, when its unit is UCUM and convertible, a second
// entry in the canonical unit with Canonical set (see QuantityValue). A
// search without a unit thus compares the value as written, and one with
// a UCUM unit compares across units. Code is Quantity.code, or
// Quantity.unit when the code is missing, so that "5.4||mg" finds a
// quantity that gives only a unit. Money gives its value with the ISO
// 4217 system and the currency as code. A Range gives one entry spanning
// its ends, as appendNumber describes, and a canonical one when both ends
// convert to the same unit. A bare number has no unit.
func appendQuantity(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	if q, ok := n.Quantity(); ok && q.Value != nil {
		unit := q.Code
		if unit == "" {
			unit = q.Unit
		}
		number, low, high := NumberValue(q.Value)
		dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeQuantity, System: q.System, Code: unit, Number: number, NumberLow: low, NumberHigh: high})

		e := storage.IndexEntry{Param: code, Type: storage.TypeQuantity, System: q.System, Canonical: true}
		if e.Number, e.NumberLow, e.NumberHigh, e.Code, e.Canonical = QuantityValue(q.Value, q.System, unit); e.Canonical {
			dst = append(dst, e)
		}
		return dst
	}
	if d, ok := decimalOf(n.Value()); ok {
		number, low, high := NumberValue(d)
		return append(dst, storage.IndexEntry{Param: code, Type: storage.TypeQuantity, Number: number, NumberLow: low, NumberHigh: high})
	}

	m, ok := n.Value().(map[string]any)
	if !ok {
		return dst
	}
	switch n.TypeName() {
	case "Money":
		d, ok := decimalOf(m["value"])
		if !ok {
			return dst
		}
		number, low, high := NumberValue(d)
		e := storage.IndexEntry{Param: code, Type: storage.TypeQuantity, Number: number, NumberLow: low, NumberHigh: high}
		if currency := jsonString(m, "currency"); currency != "" {
			e.System, e.Code = iso4217, currency
		}
		return append(dst, e)
	case "Range":
		dst = appendQuantityRange(dst, code, m, false)
		dst = appendQuantityRange(dst, code, m, true)
	}
	return dst
}

// appendQuantityRange appends the entry of a Range of quantities, as
// written or in canonical units. A canonical entry needs both ends
// converted, because a range half in canonical units compares with
// nothing.
func appendQuantityRange(dst []storage.IndexEntry, code string, r map[string]any, canonical bool) []storage.IndexEntry {
	e := storage.IndexEntry{Param: code, Type: storage.TypeQuantity, Canonical: canonical}
	if rangeEntry(&e, r, func(d *fhirpath.Decimal, q map[string]any) (float64, float64, float64, string, bool) {
		e.System = jsonString(q, "system")
		unit := jsonString(q, "code")
		if unit == "" {
			unit = jsonString(q, "unit")
		}
		if !canonical {
			number, low, high := NumberValue(d)
			return number, low, high, unit, true
		}
		return QuantityValue(d, e.System, unit)
	}) {
		dst = append(dst, e)
	}
	return dst
}

// rangeEntry fills e from a Range, converting each end with value. It
// returns false when the Range has no end with a value, when value
// returns false for an end, or when its ends are in units that do not
// convert to the same code.
func rangeEntry(e *storage.IndexEntry, r map[string]any, value func(*fhirpath.Decimal, map[string]any) (number, low, high float64, unit string, ok bool)) bool {
	e.NumberLow, e.NumberHigh = -math.MaxFloat64, math.MaxFloat64
	found := false
	units := map[string]bool{}

	if low, ok := r["low"].(map[string]any); ok {
		if d, ok := decimalOf(low["value"]); ok {
			number, lowEnd, _, unit, ok := value(d, low)
			if !ok {
				return false
			}
			e.Number, e.NumberLow, e.Code = number, lowEnd, unit
			units[unit] = true
			found = true
		}
	}
	if high, ok := r["high"].(map[string]any); ok {
		if d, ok := decimalOf(high["value"]); ok {
			number, _, highEnd, unit, ok := value(d, high)
			if !ok {
				return false
			}
			if !found {
				e.Number, e.Code = number, unit
			}
			e.NumberHigh = highEnd
			units[unit] = true
			found = true
		}
	}
	return found && len(units) == 1
}

// decimalOf returns an integer or decimal value as a Decimal.
func decimalOf(v any) (*fhirpath.Decimal, bool) {
	switch v := v.(type) {
	case *fhirpath.Decimal:
		return v, true
	case int64:
		return fhirpath.DecimalFromInt(v), true
	case json.Number:
		d, err := fhirpath.ParseDecimal(string(v))
		return d, err == nil
	}
	return nil, false
}
