package search

import (
	"math"
	"math/big"
	"testing"

	"github.com/ward-fhir/ward/fhir/fhirpath"
)

func mustDecimal(t *testing.T, s string) *fhirpath.Decimal {
	t.Helper()
	d, err := fhirpath.ParseDecimal(s)
	if err != nil {
		t.Fatalf("ParseDecimal(%q): %v", s, err)
	}
	return d
}

func TestCanonicalQuantity(t *testing.T) {
	const ucum = fhirpath.UCUMSystem
	cases := []struct {
		value, system, code string
		want                float64
		wantCode            string
	}{
		{"1", ucum, "g", 1, "g"},
		{"1", ucum, "kg", 1000, "g"},
		{"250", ucum, "mg", 0.25, "g"},
		{"5", ucum, "ug", 5e-6, "g"},
		{"1", ucum, "[lb_av]", 453.59237, "g"},
		{"1", ucum, "L", 0.001, "m3"},
		{"500", ucum, "mL", 0.0005, "m3"},
		{"1", ucum, "dL", 0.0001, "m3"},
		{"180", ucum, "cm", 1.8, "m"},
		{"12", ucum, "mm", 0.012, "m"},
		{"1", ucum, "[in_i]", 0.0254, "m"},
		{"90", ucum, "min", 5400, "s"},
		{"2", ucum, "h", 7200, "s"},
		{"1", ucum, "d", 86400, "s"},
		{"1", ucum, "wk", 604800, "s"},
		{"1", ucum, "a", 31557600, "s"},
		{"5", ucum, "mmol/L", 5, "mol.m-3"},
		{"140", ucum, "meq/L", 140, "mol.m-3"},
		{"90", ucum, "mg/dL", 900, "g.m-3"},
		{"7", ucum, "g/dL", 70000, "g.m-3"},
		{"4.5", ucum, "10*3/uL", 4.5e12, "m-3"},
		{"6", ucum, "10^9/L", 6e12, "m-3"},
		{"72", ucum, "/min", 1.2, "s-1"},
		{"72", ucum, "{beats}/min", 1.2, "s-1"},
		{"25", ucum, "kg/m2", 25000, "g.m-2"},
		{"50", ucum, "%", 0.5, "1"},
		{"120", ucum, "mm[Hg]", 15998640, "g.m-1.s-2"},
		{"2", "", "mg", 0.002, "g"},
	}
	for _, tc := range cases {
		got, code, ok := CanonicalQuantity(mustDecimal(t, tc.value), tc.system, tc.code)
		if !ok {
			t.Errorf("CanonicalQuantity(%s %q) did not convert", tc.value, tc.code)
			continue
		}
		if code != tc.wantCode {
			t.Errorf("CanonicalQuantity(%s %q) unit = %q, want %q", tc.value, tc.code, code, tc.wantCode)
		}
		if math.Abs(got-tc.want) > 1e-9*math.Abs(tc.want) {
			t.Errorf("CanonicalQuantity(%s %q) = %v, want %v", tc.value, tc.code, got, tc.want)
		}
	}
}

func TestCanonicalQuantityNotConverted(t *testing.T) {
	for _, tc := range []struct{ system, code string }{
		{fhirpath.UCUMSystem, "Cel"},
		{fhirpath.UCUMSystem, "[degF]"},
		{fhirpath.UCUMSystem, "[pH]"},
		{fhirpath.UCUMSystem, "mg/(24.h)"},
		{fhirpath.UCUMSystem, "furlong"},
		{fhirpath.UCUMSystem, ""},
		{"http://snomed.info/sct", "mg"},
	} {
		if v, code, ok := CanonicalQuantity(mustDecimal(t, "1"), tc.system, tc.code); ok {
			t.Errorf("CanonicalQuantity(1 %s|%s) = %v %q, want no conversion", tc.system, tc.code, v, code)
		}
	}
}

func TestNumberValue(t *testing.T) {
	cases := []struct {
		in               string
		value, low, high float64
	}{
		{"100", 100, 99.5, 100.5},
		{"1.00", 1, 0.995, 1.005},
		{"0.1", 0.1, 0.05, 0.15},
		{"-2.5", -2.5, -2.55, -2.45},
	}
	for _, tc := range cases {
		v, low, high := NumberValue(mustDecimal(t, tc.in))
		if v != tc.value || low != tc.low || high != tc.high {
			t.Errorf("NumberValue(%s) = %v [%v, %v], want %v [%v, %v]", tc.in, v, low, high, tc.value, tc.low, tc.high)
		}
	}
}

func TestQuantityValueConvertsRange(t *testing.T) {
	v, low, high, code, converted := QuantityValue(mustDecimal(t, "1.5"), fhirpath.UCUMSystem, "kg")
	if !converted || code != "g" {
		t.Fatalf("QuantityValue(1.5 kg) unit = %q converted = %v, want g converted", code, converted)
	}
	if v != 1500 || low != 1450 || high != 1550 {
		t.Errorf("QuantityValue(1.5 kg) = %v [%v, %v], want 1500 [1450, 1550]", v, low, high)
	}
}

func TestScaledRangeFastPathMatchesRat(t *testing.T) {
	for _, value := range []string{"0", "1", "100", "1.00", "0.1", "-2.5", "5.4", "123456.789", "0.000001", "98.6"} {
		for _, code := range []string{"g", "mg", "ug", "mmol/L", "mg/dL", "10*3/uL", "[lb_av]", "min", "mm[Hg]", "%"} {
			d := mustDecimal(t, value)
			factor, _, ok := canonicalUnit(fhirpath.UCUMSystem, code)
			if !ok {
				t.Fatalf("unit %q not converted", code)
			}
			fast, fastLow, fastHigh, ok := scaledRangeInt(d, factor)
			if !ok {
				continue
			}
			exact := new(big.Rat).Mul(d.Rat(), factor)
			half := new(big.Rat).Mul(big.NewRat(1, 2), ucumPowerOfTen(-d.Scale()))
			half.Mul(half, factor)
			want, _ := exact.Float64()
			wantLow, _ := new(big.Rat).Sub(exact, half).Float64()
			wantHigh, _ := new(big.Rat).Add(exact, half).Float64()
			if fast != want || fastLow != wantLow || fastHigh != wantHigh {
				t.Errorf("%s %s: fast path %v [%v, %v], exact %v [%v, %v]", value, code, fast, fastLow, fastHigh, want, wantLow, wantHigh)
			}
		}
	}
}

func TestUCUMExponentBounded(t *testing.T) {
	for _, unit := range []string{"m999999999", "10*999999999", "s-31", "10*-31"} {
		if _, _, ok := CanonicalQuantity(mustDecimal(t, "1"), "http://unitsofmeasure.org", unit); ok {
			t.Errorf("CanonicalQuantity accepted unit %q with an exponent beyond ±30", unit)
		}
	}
	if _, _, ok := CanonicalQuantity(mustDecimal(t, "1"), "http://unitsofmeasure.org", "m3"); !ok {
		t.Error("CanonicalQuantity rejected m3")
	}
}
