package resources_test

import "testing"

// TestQuantitySearchUnits checks the rule of R4 search.html#quantity: a
// value without a unit matches the value as written, whatever its unit,
// and a value with a UCUM unit matches across units.
func TestQuantitySearchUnits(t *testing.T) {
	s := newTestServer(t)
	s.put("Observation", "hba1c", `{"resourceType":"Observation","id":"hba1c","status":"final",`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},`+
		`"valueQuantity":{"value":7.4,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}`)
	s.put("Observation", "mass", `{"resourceType":"Observation","id":"mass","status":"final",`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},`+
		`"valueQuantity":{"value":250,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`)

	runSearchCases(t, s, "Observation", []searchCase{
		{"code=http://loinc.org%7C4548-4&value-quantity=gt7.0", refs("Observation", "hba1c")},
		{"value-quantity=7.4", refs("Observation", "hba1c")},
		{"value-quantity=0.074", nil},
		{"value-quantity=0.074%7Chttp://unitsofmeasure.org%7C1", refs("Observation", "hba1c")},
		{"value-quantity=7.4%7Chttp://unitsofmeasure.org%7C%25", refs("Observation", "hba1c")},
		{"value-quantity=250", refs("Observation", "mass")},
		{"value-quantity=0.25", nil},
		{"value-quantity=0.25%7Chttp://unitsofmeasure.org%7Cg", refs("Observation", "mass")},
		{"value-quantity=250%7Chttp://unitsofmeasure.org%7Cmg", refs("Observation", "mass")},
		{"value-quantity=250%7Chttp://unitsofmeasure.org%7Cg", nil},
		{"value-quantity=250%7C%7Cmg", refs("Observation", "mass")},
		{"value-quantity=250%7Chttp://example.org/units%7Cmg", nil},
		{"code-value-quantity=http://loinc.org%7C4548-4$gt7.0", refs("Observation", "hba1c")},
		{"code-value-quantity=http://loinc.org%7C4548-4$7.4", refs("Observation", "hba1c")},
		{"code-value-quantity=http://loinc.org%7C4548-4$0.074", nil},
		{"code-value-quantity=http://loinc.org%7C29463-7$250", refs("Observation", "mass")},
		{"code-value-quantity=http://loinc.org%7C29463-7$0.25%7Chttp://unitsofmeasure.org%7Cg", refs("Observation", "mass")},
		{"code-value-quantity=http://loinc.org%7C29463-7$250%7Chttp://unitsofmeasure.org%7Cg", nil},
	})
}

// TestQuantitySearchComponent checks the same rule on
// component-code-value-quantity, whose values come from
// Observation.component.
func TestQuantitySearchComponent(t *testing.T) {
	s := newTestServer(t)
	s.put("Observation", "bp", `{"resourceType":"Observation","id":"bp","status":"final",`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[`+
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},`+
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`)

	runSearchCases(t, s, "Observation", []searchCase{
		{"component-code-value-quantity=http://loinc.org%7C8480-6$gt100", refs("Observation", "bp")},
		{"component-code-value-quantity=http://loinc.org%7C8462-4$80", refs("Observation", "bp")},
		{"component-code-value-quantity=http://loinc.org%7C8462-4$120", nil},
		{"component-code-value-quantity=http://loinc.org%7C8480-6$120%7Chttp://unitsofmeasure.org%7Cmm%5BHg%5D", refs("Observation", "bp")},
		{"component-value-quantity=gt100", refs("Observation", "bp")},
		{"component-value-quantity=gt1000", nil},
	})
}
