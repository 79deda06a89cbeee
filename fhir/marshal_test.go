package fhir

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestMarshalCanonicalOrder(t *testing.T) {
	obj := map[string]any{
		"zeta":         "z",
		"meta":         map[string]any{"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"},
		"active":       true,
		"id":           "p1",
		"resourceType": "Patient",
		"name":         []any{map[string]any{"given": []any{"A"}, "family": "B"}},
	}
	got, err := Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z","versionId":"1"},"active":true,"name":[{"family":"B","given":["A"]}],"zeta":"z"}`
	if string(got) != want {
		t.Errorf("Marshal = %s\nwant      %s", got, want)
	}
}

func TestMarshalNestedIDNotFirst(t *testing.T) {
	got, err := Marshal(map[string]any{"resourceType": "Patient", "contained": []any{
		map[string]any{"resourceType": "Organization", "id": "o", "active": true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","contained":[{"active":true,"id":"o","resourceType":"Organization"}]}`
	if string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func TestMarshalValues(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"number kept verbatim", json.Number("1.50"), `1.50`},
		{"exponent kept", json.Number("1e-7"), `1e-7`},
		{"negative zero kept", json.Number("-0"), `-0`},
		{"html not escaped", "<b>&amp;</b>", `"<b>&amp;</b>"`},
		{"quotes and backslash", `a"b\c`, `"a\"b\\c"`},
		{"control characters", "a\nb\tc\rd\x01", `"a\nb\tc\rd\u0001"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"non-ascii kept", "Zoë 東京", `"Zoë 東京"`},
		{"invalid utf-8 replaced", "a\xffb", `"a\ufffdb"`},
		{"null", nil, `null`},
		{"false", false, `false`},
		{"float64", 2.5, `2.5`},
		{"int", 42, `42`},
		{"int64", int64(-7), `-7`},
		{"empty array", []any{}, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(map[string]any{"v": tt.value})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"v":` + tt.want + `}`; string(got) != want {
				t.Errorf("Marshal = %s, want %s", got, want)
			}
		})
	}
}

func TestMarshalMatchesEncodingJSON(t *testing.T) {
	// Every string encoding/json would write the same way, except for
	// HTML escaping, which it does by default.
	inputs := []string{"plain", "tab\there", "\x00\x1f", "<>&", "\u2028", "é", "\U0001F600", "a\xc3"}
	for _, s := range inputs {
		got, err := Marshal(map[string]any{"s": s})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		encoder := json.NewEncoder(&want)
		encoder.SetEscapeHTML(false)
		if err := encoder.Encode(map[string]any{"s": s}); err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("Marshal(%q) = %s, encoding/json = %s", s, got, want.String())
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"invalid number", json.Number("1."), `v: invalid json.Number "1."`},
		{"number with spaces", json.Number(" 1"), `invalid json.Number`},
		{"unsupported type", struct{}{}, `v: unsupported type struct {}`},
		{"nested path", []any{map[string]any{"x": json.Number("NaN")}}, `v: [0]: x: invalid json.Number "NaN"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(map[string]any{"v": tt.value})
			if err == nil {
				t.Fatal("Marshal accepted an invalid value")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	body := `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50,"unit":"mg"}}`
	res, err := ParseResource([]byte(body), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	first, err := Marshal(res.Object)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseResource(first, DefaultLimits())
	if err != nil {
		t.Fatalf("canonical bytes do not parse: %v", err)
	}
	second, err := Marshal(again.Object)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("not stable:\n%s\n%s", first, second)
	}
	if !strings.Contains(string(first), `"value":1.50`) {
		t.Errorf("decimal precision lost: %s", first)
	}
}
