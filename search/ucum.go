package search

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/ward-fhir/ward/fhir/fhirpath"
)

// Quantity search compares values in one canonical unit per dimension, so
// that 1 g matches 1000 mg. Ward converts the UCUM units that clinical
// data uses, with the values that the UCUM specification (version 2.1)
// gives in its tables of base units, prefixes, derived and customary
// units. A canonical unit is a product of the base units g, m, s, mol, K,
// A, cd and the arbitrary unit [iU] with their exponents, written as UCUM
// writes it: "g.m-3" for a mass concentration, "s-1" for a rate, "1" for a
// pure number.
//
// Not converted, so compared only with the same unit: special units with
// an offset or a logarithmic scale (Cel, [degF], [pH], dB), units in
// parentheses, and any atom missing from the table below.

// ucumDimension counts the powers of the base units, in the order of
// ucumBaseUnits.
type ucumDimension [8]int8

var ucumBaseUnits = [8]string{"g", "m", "s", "mol", "K", "A", "cd", "[iU]"}

// ucumAtom is a unit symbol: its value in base units and whether metric
// prefixes apply to it.
type ucumAtom struct {
	factor    string
	dim       ucumDimension
	prefixing bool
}

var (
	dimMass     = ucumDimension{1}
	dimLength   = ucumDimension{0, 1}
	dimTime     = ucumDimension{0, 0, 1}
	dimAmount   = ucumDimension{0, 0, 0, 1}
	dimVolume   = ucumDimension{0, 3}
	dimPressure = ucumDimension{1, -1, -2}
	dimEnergy   = ucumDimension{1, 2, -2}
)

// ucumAtoms holds the atoms Ward converts, with their UCUM definitions.
var ucumAtoms = map[string]ucumAtom{
	// Base units.
	"g":   {"1", dimMass, true},
	"m":   {"1", dimLength, true},
	"s":   {"1", dimTime, true},
	"mol": {"1", dimAmount, true},
	"K":   {"1", ucumDimension{0, 0, 0, 0, 1}, true},
	"A":   {"1", ucumDimension{0, 0, 0, 0, 0, 1}, true},
	"cd":  {"1", ucumDimension{0, 0, 0, 0, 0, 0, 1}, true},

	// Volume: the liter is 1 dm3; UCUM has "L" and "l".
	"L": {"1/1000", dimVolume, true},
	"l": {"1/1000", dimVolume, true},

	// Time. Year and month are the Julian ones UCUM defines as "a" and "mo".
	"min": {"60", dimTime, false},
	"h":   {"3600", dimTime, false},
	"d":   {"86400", dimTime, false},
	"wk":  {"604800", dimTime, false},
	"mo":  {"2629800", dimTime, false},
	"a":   {"31557600", dimTime, false},

	// Amount of substance: UCUM defines the equivalent and the osmole as
	// one mole each, and the enzyme unit as 1 umol/min.
	"eq":  {"1", dimAmount, true},
	"osm": {"1", dimAmount, true},
	"U":   {"1/60000000", ucumDimension{0, 0, -1, 1}, true},
	"kat": {"1", ucumDimension{0, 0, -1, 1}, true},

	// Arbitrary units: comparable with each other, not with anything else.
	"[iU]": {"1", ucumDimension{0, 0, 0, 0, 0, 0, 0, 1}, true},
	"[IU]": {"1", ucumDimension{0, 0, 0, 0, 0, 0, 0, 1}, true},

	// Derived SI units (with the gram as the base of mass, so the newton is
	// 1000 g.m.s-2).
	"Hz":  {"1", ucumDimension{0, 0, -1}, true},
	"N":   {"1000", ucumDimension{1, 1, -2}, true},
	"Pa":  {"1000", dimPressure, true},
	"bar": {"100000000", dimPressure, true},
	"J":   {"1000", dimEnergy, true},
	"W":   {"1000", ucumDimension{1, 2, -3}, true},
	"cal": {"4184", dimEnergy, true},
	"t":   {"1000000", dimMass, true},

	// Pressure of a column of mercury or water; UCUM defines m[Hg] as
	// 133.3220 kPa and m[H2O] as 9.80665 kPa.
	"m[Hg]":  {"133322000", dimPressure, true},
	"m[H2O]": {"9806650", dimPressure, true},

	// Pure numbers.
	"%":     {"1/100", ucumDimension{}, false},
	"[ppm]": {"1/1000000", ucumDimension{}, false},
	"[ppb]": {"1/1000000000", ucumDimension{}, false},

	// US customary (international) length, mass and volume.
	"[in_i]":   {"127/5000", dimLength, false},
	"[ft_i]":   {"381/1250", dimLength, false},
	"[yd_i]":   {"1143/1250", dimLength, false},
	"[mi_i]":   {"201168/125", dimLength, false},
	"[lb_av]":  {"45359237/100000", dimMass, false},
	"[oz_av]":  {"45359237/1600000", dimMass, false},
	"[foz_us]": {"473176473/16000000000000", dimVolume, false},
	"[pt_us]":  {"473176473/1000000000000", dimVolume, false},
	"[qt_us]":  {"473176473/500000000000", dimVolume, false},
	"[gal_us]": {"473176473/125000000000", dimVolume, false},
	"[drp]":    {"1/20000000", dimVolume, false},
}

// ucumPrefixes are the metric prefixes, from UCUM's prefix table.
var ucumPrefixes = map[string]string{
	"Y": "1e24", "Z": "1e21", "E": "1e18", "P": "1e15", "T": "1e12", "G": "1e9",
	"M": "1e6", "k": "1e3", "h": "1e2", "da": "1e1", "d": "1e-1", "c": "1e-2",
	"m": "1e-3", "u": "1e-6", "n": "1e-9", "p": "1e-12", "f": "1e-15", "a": "1e-18",
	"z": "1e-21", "y": "1e-24",
}

// ucumUnit is a unit reduced to a factor times base units.
type ucumUnit struct {
	factor *big.Rat
	dim    ucumDimension
}

// canonicalCode writes the dimension as a UCUM product of base units,
// positive powers first: "mol.m-3", "g.m-1.s-2", "s-1", or "1".
func (d ucumDimension) canonicalCode() string {
	var parts []string
	for _, positive := range []bool{true, false} {
		for i, power := range d {
			switch {
			case power == 0 || (power > 0) != positive:
			case power == 1:
				parts = append(parts, ucumBaseUnits[i])
			default:
				parts = append(parts, ucumBaseUnits[i]+strconv.Itoa(int(power)))
			}
		}
	}
	if len(parts) == 0 {
		return "1"
	}
	return strings.Join(parts, ".")
}

// ucumCache keeps parsed units. Real data uses few distinct units; the
// cap keeps units from search values of arbitrary clients from growing it
// without bound.
var ucumCache = struct {
	sync.RWMutex
	parsed map[string]ucumParse
}{parsed: map[string]ucumParse{}}

const ucumCacheMax = 4096

type ucumParse struct {
	unit ucumUnit
	ok   bool
}

// parseUCUM reduces a UCUM code to base units. It accepts products and
// quotients ("mg/dL", "mmol/L", "kg.m-2"), a leading "/" ("/min"),
// integer exponents ("m2", "s-1"), ten-powers ("10*3/uL"), integer factors
// and annotations ("{cells}/uL", "{beats}/min"), which count as 1.
func parseUCUM(code string) (ucumUnit, bool) {
	ucumCache.RLock()
	cached, found := ucumCache.parsed[code]
	ucumCache.RUnlock()
	if found {
		return cached.unit, cached.ok
	}

	unit, err := parseUCUMTerm(code)
	ucumCache.Lock()
	if len(ucumCache.parsed) < ucumCacheMax {
		ucumCache.parsed[code] = ucumParse{unit: unit, ok: err == nil}
	}
	ucumCache.Unlock()
	return unit, err == nil
}

func parseUCUMTerm(code string) (ucumUnit, error) {
	result := ucumUnit{factor: big.NewRat(1, 1)}
	if code == "" || strings.ContainsAny(code, "() ") {
		return result, fmt.Errorf("unit %q is outside the converted UCUM subset", code)
	}

	divide := false
	rest := code
	if strings.HasPrefix(rest, "/") {
		divide = true
		rest = rest[1:]
	}
	for {
		end := ucumOperatorIndex(rest)
		component := rest
		if end >= 0 {
			component = rest[:end]
		}
		u, err := parseUCUMComponent(component)
		if err != nil {
			return result, fmt.Errorf("unit %q: %w", code, err)
		}
		if divide {
			result.factor.Quo(result.factor, u.factor)
			for i := range result.dim {
				result.dim[i] -= u.dim[i]
			}
		} else {
			result.factor.Mul(result.factor, u.factor)
			for i := range result.dim {
				result.dim[i] += u.dim[i]
			}
		}
		if end < 0 {
			return result, nil
		}
		divide = rest[end] == '/'
		rest = rest[end+1:]
	}
}

// ucumOperatorIndex returns the index of the first "." or "/" outside
// brackets and braces, or -1.
func ucumOperatorIndex(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '.', '/':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// parseUCUMComponent reads one factor of a product: an annotation, an
// integer, a ten-power or a prefixed atom with an optional exponent.
func parseUCUMComponent(s string) (ucumUnit, error) {
	unit := ucumUnit{factor: big.NewRat(1, 1)}

	// A trailing annotation counts as 1 ("{cells}", "mL{total}").
	if i := strings.IndexByte(s, '{'); i >= 0 {
		if !strings.HasSuffix(s, "}") {
			return unit, fmt.Errorf("unclosed annotation in %q", s)
		}
		s = s[:i]
		if s == "" {
			return unit, nil
		}
	}

	if mantissa, exponent, ok := strings.Cut(s, "*"); ok || strings.HasPrefix(s, "10^") {
		if !ok {
			mantissa, exponent, _ = strings.Cut(s, "^")
		}
		if mantissa != "10" {
			return unit, fmt.Errorf("unsupported power %q", s)
		}
		power, err := strconv.Atoi(exponent)
		if err != nil || power < -maxUCUMPower || power > maxUCUMPower {
			return unit, fmt.Errorf("invalid ten-power %q: the exponent must be between %d and %d", s, -maxUCUMPower, maxUCUMPower)
		}
		unit.factor = ucumPowerOfTen(power)
		return unit, nil
	}

	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		unit.factor = big.NewRat(n, 1)
		return unit, nil
	}

	atom, power := splitUCUMExponent(s)
	if power < -maxUCUMPower || power > maxUCUMPower {
		// Unit strings come from clients, and each step of the power is a
		// multiplication, so the exponent is bounded.
		return unit, fmt.Errorf("unsupported unit %q: the exponent must be between %d and %d", s, -maxUCUMPower, maxUCUMPower)
	}
	factor, dim, err := lookupUCUMAtom(atom)
	if err != nil {
		return unit, err
	}
	for i := 0; i < ucumAbs(power); i++ {
		if power > 0 {
			unit.factor.Mul(unit.factor, factor)
		} else {
			unit.factor.Quo(unit.factor, factor)
		}
	}
	for i := range dim {
		unit.dim[i] = dim[i] * int8(power) // #nosec G115 -- power is within ±maxUCUMPower, checked above
	}
	return unit, nil
}

// maxUCUMPower bounds the exponents of unit atoms and of ten-powers; real
// units stay far below it.
const maxUCUMPower = 30

// splitUCUMExponent splits "cm2" into "cm" and 2, "s-1" into "s" and -1.
// Digits inside brackets ("[H2O]") are part of the atom.
func splitUCUMExponent(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i > 0 && (s[i-1] == '-' || s[i-1] == '+') {
		i--
	}
	if i == 0 || i == len(s) {
		return s, 1
	}
	power, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, 1
	}
	return s[:i], power
}

// lookupUCUMAtom finds an atom, with or without a metric prefix.
func lookupUCUMAtom(s string) (*big.Rat, ucumDimension, error) {
	if atom, ok := ucumAtoms[s]; ok {
		return ucumRat(atom.factor), atom.dim, nil
	}
	for _, n := range []int{2, 1} {
		if len(s) <= n {
			continue
		}
		prefix, ok := ucumPrefixes[s[:n]]
		if !ok {
			continue
		}
		atom, ok := ucumAtoms[s[n:]]
		if !ok || !atom.prefixing {
			continue
		}
		factor := ucumRat(atom.factor)
		factor.Mul(factor, ucumRat(prefix))
		return factor, atom.dim, nil
	}
	return nil, ucumDimension{}, fmt.Errorf("unit atom %q is not converted", s)
}

func ucumRat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("invalid rational constant " + s)
	}
	return r
}

func ucumPowerOfTen(power int) *big.Rat {
	ten := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(ucumAbs(power))), nil)
	if power < 0 {
		return new(big.Rat).SetFrac(big.NewInt(1), ten)
	}
	return new(big.Rat).SetInt(ten)
}

func ucumAbs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// canonicalUnit returns the factor that converts a value in the unit to
// the canonical unit, and that unit's code. It converts only UCUM units:
// system is the UCUM URL, or empty when the unit was written without a
// system (a bare "mg" is read as UCUM).
func canonicalUnit(system, code string) (*big.Rat, string, bool) {
	if system != fhirpath.UCUMSystem && system != "" {
		return nil, "", false
	}
	unit, ok := parseUCUM(code)
	if !ok {
		return nil, "", false
	}
	return unit.factor, unit.dim.canonicalCode(), true
}

// CanonicalQuantity converts a value in a UCUM unit to Ward's canonical
// unit for its dimension: 250 mg becomes 0.25 g, 5 mmol/L becomes 5
// mol.m-3. System "" counts as UCUM. It returns false when the unit is not
// converted: another system, a special unit such as Cel, or an atom
// outside the table. Query parsing must convert search values with this
// function, or with QuantityValue, so that they meet the index entries.
func CanonicalQuantity(value *fhirpath.Decimal, system, code string) (float64, string, bool) {
	factor, canonical, ok := canonicalUnit(system, code)
	if !ok || value == nil {
		return 0, "", false
	}
	v, _ := new(big.Rat).Mul(value.Rat(), factor).Float64()
	return v, canonical, true
}

// NumberValue returns a decimal with the range its written precision
// implies: half a unit of its last digit either side, so 100 covers
// [99.5, 100.5] and 1.00 covers [0.995, 1.005]. The index stores these
// three numbers, and query parsing must compute number search values the
// same way.
func NumberValue(value *fhirpath.Decimal) (number, low, high float64) {
	return scaledRange(value, big.NewRat(1, 1))
}

// QuantityValue returns the value and its precision range (as
// NumberValue) and the unit code. When the unit is convertible (see
// CanonicalQuantity), the numbers are in the canonical unit, the code is
// that unit's and converted is true: the index stores this form in the
// entry with Canonical set. Otherwise code is returned unchanged.
func QuantityValue(value *fhirpath.Decimal, system, code string) (number, low, high float64, unit string, converted bool) {
	factor := big.NewRat(1, 1)
	unit = code
	if f, canonical, ok := canonicalUnit(system, code); ok {
		factor, unit, converted = f, canonical, true
	}
	number, low, high = scaledRange(value, factor)
	return number, low, high, unit, converted
}

// scaledRange returns value×factor and the ends of the value's precision
// range times factor, each the float64 nearest to the exact result.
func scaledRange(value *fhirpath.Decimal, factor *big.Rat) (number, low, high float64) {
	if number, low, high, ok := scaledRangeInt(value, factor); ok {
		return number, low, high
	}

	exact := new(big.Rat).Set(value.Rat())
	half := new(big.Rat).Mul(big.NewRat(1, 2), ucumPowerOfTen(-value.Scale()))
	lowRat := new(big.Rat).Sub(exact, half)
	highRat := new(big.Rat).Add(exact, half)
	number, _ = exact.Mul(exact, factor).Float64()
	low, _ = lowRat.Mul(lowRat, factor).Float64()
	high, _ = highRat.Mul(highRat, factor).Float64()
	return number, low, high
}

// maxExactFloat is 2^53: integers below it convert to float64 exactly.
const maxExactFloat = 1 << 53

// scaledRangeInt is the fast path of scaledRange for the usual case where
// the decimal's digits and the factor's numerator and denominator are
// small integers. Each result is then one division of two integers that
// float64 holds exactly, which IEEE 754 rounds to the nearest float64, the
// same result as the big.Rat path. ok is false when an integer is too
// large.
func scaledRangeInt(value *fhirpath.Decimal, factor *big.Rat) (number, low, high float64, ok bool) {
	if !factor.Num().IsInt64() || !factor.Denom().IsInt64() {
		return 0, 0, 0, false
	}
	num, den := factor.Num().Int64(), factor.Denom().Int64()
	scale := value.Scale()
	coefficient, ok := decimalCoefficient(value.String())
	if !ok || scale > 15 || num >= maxExactFloat || den >= maxExactFloat || -num >= maxExactFloat {
		return 0, 0, 0, false
	}

	// number = c·num / (10^s·den); the range ends are (2c ∓ 1)·num / (2·10^s·den).
	pow := int64(1)
	for range scale {
		pow *= 10
	}
	numerators := [3]int64{coefficient, 2*coefficient - 1, 2*coefficient + 1}
	denominators := [3]int64{pow, 2 * pow, 2 * pow}
	var out [3]float64
	for i := range out {
		n, overflowN := mulInt64(numerators[i], num)
		d, overflowD := mulInt64(denominators[i], den)
		if overflowN || overflowD || n >= maxExactFloat || -n >= maxExactFloat || d >= maxExactFloat {
			return 0, 0, 0, false
		}
		out[i] = float64(n) / float64(d)
	}
	return out[0], out[1], out[2], true
}

// decimalCoefficient reads the digits of a plain decimal ("-12.50") as an
// integer (-1250), when it has at most 15 digits.
func decimalCoefficient(s string) (int64, bool) {
	negative := strings.HasPrefix(s, "-")
	if negative {
		s = s[1:]
	}
	var c int64
	digits := 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '.':
		case ch >= '0' && ch <= '9':
			digits++
			c = c*10 + int64(ch-'0')
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	if negative {
		c = -c
	}
	return c, true
}

// mulInt64 returns a×b and whether it overflowed.
func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, false
	}
	p := a * b
	return p, p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64)
}
