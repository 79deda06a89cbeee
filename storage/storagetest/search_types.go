package storagetest

import (
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

const (
	loinc    = "http://loinc.org"
	snomed   = "http://snomed.info/sct"
	mrn      = "http://hospital.example/mrn"
	v2Types  = "http://terminology.hl7.org/CodeSystem/v2-0203"
	ucum     = "http://unitsofmeasure.org"
	genderCS = "http://hl7.org/fhir/administrative-gender"
)

// observationFixture holds Observations with codes, subjects, effective
// dates, values and statuses, and the Patients and Group they refer to.
func observationFixture() []resourceFixture {
	t0, _ := second(2024, time.March, 1, 10, 0, 0)
	mar1, _ := day(2024, time.March, 1)
	_, mar5 := day(2024, time.March, 5)
	t3, _ := second(2023, time.December, 31, 23, 0, 0)
	jan1, _ := day(2024, time.January, 1)

	return []resourceFixture{
		res("Patient", "p1", str("name", "peter", "Peter"), str("name", "chalmers", "Chalmers")),
		res("Patient", "p2", str("name", "petra", "Petra"), str("name", "jones", "Jones")),
		res("Group", "g1", str("name", "ward 3", "Ward 3")),
		res("Observation", "o1",
			tokText("code", loinc, "8480-6", "systolic blood pressure"),
			ref("subject", "Patient", "p1"),
			dateRange("date", t0, t0),
			tok("status", "http://hl7.org/fhir/observation-status", "final")),
		res("Observation", "o2",
			tokText("code", loinc, "8462-4", "diastolic blood pressure"),
			ref("subject", "Patient", "p1"),
			dateRange("date", mar1, mar5),
			tok("status", "http://hl7.org/fhir/observation-status", "final")),
		res("Observation", "o3",
			tokText("code", loinc, "8480-6", "systolic blood pressure"),
			ref("subject", "Patient", "p2"),
			dateRange("date", t3, t3),
			tok("status", "http://hl7.org/fhir/observation-status", "preliminary")),
		res("Observation", "o4",
			tokText("code", snomed, "271649006", "systolic blood pressure"),
			tokText("code", loinc, "8480-6", "sbp"),
			ref("subject", "Patient", "p3"),
			// An open-ended Period: started, not ended.
			dateRange("date", jan1, time.Time{}),
			tok("status", "http://hl7.org/fhir/observation-status", "final")),
		res("Observation", "o5",
			tok("code", "", "bp"),
			ref("subject", "Group", "g1"),
			tok("status", "http://hl7.org/fhir/observation-status", "cancelled")),
		res("Observation", "o6",
			storage.IndexEntry{Param: "subject", Type: storage.TypeReference, System: mrn, Code: "12345"},
			tok("status", "http://hl7.org/fhir/observation-status", "registered")),
		res("Patient", "p3", str("name", "muller", "Müller"), str("name", "anna", "Anna")),
	}
}

func testSearchToken(t *testing.T, b searchBackend) {
	put(t, b, observationFixture()...)
	put(t, b,
		res("Patient", "p10",
			storage.IndexEntry{Param: "identifier", Type: storage.TypeToken, System: mrn, Code: "12345",
				TypeSystem: v2Types, TypeCode: "MR", Text: "medical record number"},
			tok("active", "", "true")),
		res("Patient", "p11",
			storage.IndexEntry{Param: "identifier", Type: storage.TypeToken, System: mrn, Code: "12345",
				TypeSystem: v2Types, TypeCode: "DL"},
			tok("active", "", "false")),
	)

	runSearchCases(t, b, []searchCase{
		{name: "system and code", q: query("Observation", clause("code", storage.TypeToken, codeValue(loinc, "8480-6"))),
			want: []string{"Observation/o1", "Observation/o3", "Observation/o4"}},
		{name: "code in any system", q: query("Observation", clause("code", storage.TypeToken, anyCode("8480-6"))),
			want: []string{"Observation/o1", "Observation/o3", "Observation/o4"}},
		{name: "code without system", q: query("Observation", clause("code", storage.TypeToken, codeValue("", "bp"))),
			want: []string{"Observation/o5"}},
		{name: "code without system skips coded", q: query("Observation", clause("code", storage.TypeToken, codeValue("", "8480-6")))},
		{name: "any code of a system", q: query("Observation", clause("code", storage.TypeToken, codeValue(snomed, ""))),
			want: []string{"Observation/o4"}},
		{name: "wrong system", q: query("Observation", clause("code", storage.TypeToken, codeValue(snomed, "8480-6")))},
		{name: "values are OR-ed", q: query("Observation", clause("status", storage.TypeToken, anyCode("preliminary"), anyCode("cancelled"))),
			want: []string{"Observation/o3", "Observation/o5"}},
		{name: "clauses are AND-ed", q: query("Observation",
			clause("status", storage.TypeToken, anyCode("final")),
			clause("code", storage.TypeToken, anyCode("8480-6"))),
			want: []string{"Observation/o1", "Observation/o4"}},
		{name: "text starts with folded display", q: query("Observation", modified(clause("code", storage.TypeToken, textValue("systolic")), "text")),
			want: []string{"Observation/o1", "Observation/o3", "Observation/o4"}},
		{name: "text matches any coding's display", q: query("Observation", modified(clause("code", storage.TypeToken, textValue("sb")), "text")),
			want: []string{"Observation/o4"}},
		{name: "not excludes matches and keeps resources without a value", q: query("Observation",
			modified(clause("code", storage.TypeToken, codeValue(loinc, "8480-6")), "not")),
			want: []string{"Observation/o2", "Observation/o5", "Observation/o6"}},
		{name: "not with two values excludes both", q: query("Observation",
			modified(clause("code", storage.TypeToken, anyCode("8480-6"), anyCode("bp")), "not")),
			want: []string{"Observation/o2", "Observation/o6"}},
		{name: "not with another clause", q: query("Observation",
			clause("status", storage.TypeToken, anyCode("final")),
			modified(clause("code", storage.TypeToken, anyCode("8462-4")), "not")),
			want: []string{"Observation/o1", "Observation/o4"}},
		{name: "of-type matches type and value", q: query("Patient",
			modified(clause("identifier", storage.TypeToken, storage.Value{Prefix: "eq", System: v2Types, Code: "MR", Text: "12345"}), "of-type")),
			want: []string{"Patient/p10"}},
		{name: "of-type with another type", q: query("Patient",
			modified(clause("identifier", storage.TypeToken, storage.Value{Prefix: "eq", System: v2Types, Code: "PPN", Text: "12345"}), "of-type"))},
		{name: "identifier system and value", q: query("Patient", clause("identifier", storage.TypeToken, codeValue(mrn, "12345"))),
			want: []string{"Patient/p10", "Patient/p11"}},
		{name: "boolean", q: query("Patient", clause("active", storage.TypeToken, anyCode("true"))),
			want: []string{"Patient/p10"}},
		{name: "codes are case-sensitive", q: query("Patient", clause("active", storage.TypeToken, anyCode("TRUE")))},
	})
}

func testSearchString(t *testing.T, b searchBackend) {
	put(t, b, observationFixture()...)
	runSearchCases(t, b, []searchCase{
		{name: "starts with", q: query("Patient", clause("name", storage.TypeString, textValue("pet"))),
			want: []string{"Patient/p1", "Patient/p2"}},
		{name: "whole value", q: query("Patient", clause("name", storage.TypeString, textValue("chalmers"))),
			want: []string{"Patient/p1"}},
		{name: "folded text of an accented name", q: query("Patient", clause("name", storage.TypeString, textValue("mul"))),
			want: []string{"Patient/p3"}},
		{name: "not a prefix", q: query("Patient", clause("name", storage.TypeString, textValue("halm")))},
		{name: "longer than the value", q: query("Patient", clause("name", storage.TypeString, textValue("peterson")))},
		{name: "OR of prefixes", q: query("Patient", clause("name", storage.TypeString, textValue("jon"), textValue("ann"))),
			want: []string{"Patient/p2", "Patient/p3"}},
		{name: "AND of prefixes", q: query("Patient",
			clause("name", storage.TypeString, textValue("pet")),
			clause("name", storage.TypeString, textValue("jo"))),
			want: []string{"Patient/p2"}},
		{name: "exact as written", q: query("Patient", modified(clause("name", storage.TypeString, textValue("Müller")), "exact")),
			want: []string{"Patient/p3"}},
		{name: "exact is case-sensitive", q: query("Patient", modified(clause("name", storage.TypeString, textValue("müller")), "exact"))},
		{name: "exact is not a prefix", q: query("Patient", modified(clause("name", storage.TypeString, textValue("Pet")), "exact"))},
		{name: "contains", q: query("Patient", modified(clause("name", storage.TypeString, textValue("al")), "contains")),
			want: []string{"Patient/p1"}},
		{name: "contains at the start", q: query("Patient", modified(clause("name", storage.TypeString, textValue("pe")), "contains")),
			want: []string{"Patient/p1", "Patient/p2"}},
		{name: "types are separate", q: query("Group", clause("name", storage.TypeString, textValue("p")))},
		{name: "a percent sign is not a wildcard", q: query("Patient", clause("name", storage.TypeString, textValue("%")))},
		{name: "an underscore is not a wildcard", q: query("Patient", modified(clause("name", storage.TypeString, textValue("p_t")), "contains"))},
	})
}

func testSearchReference(t *testing.T, b searchBackend) {
	put(t, b, observationFixture()...)
	put(t, b,
		res("QuestionnaireResponse", "qr1",
			storage.IndexEntry{Param: "questionnaire", Type: storage.TypeReference, Exact: "http://forms.example/Questionnaire/phq9", RefVersion: "1.0"}),
		res("QuestionnaireResponse", "qr2",
			storage.IndexEntry{Param: "questionnaire", Type: storage.TypeReference, Exact: "http://forms.example/Questionnaire/phq9", RefVersion: "2.0"}),
		res("QuestionnaireResponse", "qr3",
			storage.IndexEntry{Param: "questionnaire", Type: storage.TypeReference, Exact: "http://forms.example/Questionnaire/gad7"}),
		res("Observation", "o7",
			storage.IndexEntry{Param: "subject", Type: storage.TypeReference, RefType: "Patient", RefID: "p2", RefVersion: "3",
				Exact: "Patient/p2/_history/3"}),
	)

	runSearchCases(t, b, []searchCase{
		{name: "type and id", q: query("Observation", clause("subject", storage.TypeReference, refValue("Patient", "p1"))),
			want: []string{"Observation/o1", "Observation/o2"}},
		{name: "id alone", q: query("Observation", clause("subject", storage.TypeReference, refValue("", "g1"))),
			want: []string{"Observation/o5"}},
		{name: "type, id and version", q: query("Observation", clause("subject", storage.TypeReference,
			storage.Value{Prefix: "eq", RefType: "Patient", RefID: "p2", RefVersion: "3"})),
			want: []string{"Observation/o7"}},
		{name: "type and id match any version", q: query("Observation", clause("subject", storage.TypeReference, refValue("Patient", "p2"))),
			want: []string{"Observation/o3", "Observation/o7"}},
		{name: "target type restricts", q: query("Observation", storage.Clause{Param: "subject", Type: storage.TypeReference, TargetType: "Patient",
			Values: []storage.Value{refValue("", "g1")}})},
		{name: "target type keeps its type", q: query("Observation", storage.Clause{Param: "subject", Type: storage.TypeReference, TargetType: "Group",
			Values: []storage.Value{refValue("", "g1")}}),
			want: []string{"Observation/o5"}},
		{name: "wrong type", q: query("Observation", clause("subject", storage.TypeReference, refValue("Group", "p1")))},
		{name: "OR of references", q: query("Observation", clause("subject", storage.TypeReference, refValue("Patient", "p1"), refValue("Group", "g1"))),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o5"}},
		{name: "canonical without version", q: query("QuestionnaireResponse", clause("questionnaire", storage.TypeReference,
			textValue("http://forms.example/Questionnaire/phq9"))),
			want: []string{"QuestionnaireResponse/qr1", "QuestionnaireResponse/qr2"}},
		{name: "canonical with version", q: query("QuestionnaireResponse", clause("questionnaire", storage.TypeReference,
			storage.Value{Prefix: "eq", Text: "http://forms.example/Questionnaire/phq9", RefVersion: "2.0"})),
			want: []string{"QuestionnaireResponse/qr2"}},
		{name: "canonical is not a prefix match", q: query("QuestionnaireResponse", clause("questionnaire", storage.TypeReference,
			textValue("http://forms.example/Questionnaire/")))},
		{name: "identifier", q: query("Observation", modified(clause("subject", storage.TypeReference, codeValue(mrn, "12345")), "identifier")),
			want: []string{"Observation/o6"}},
		{name: "identifier value in any system", q: query("Observation", modified(clause("subject", storage.TypeReference, anyCode("12345")), "identifier")),
			want: []string{"Observation/o6"}},
		{name: "a reference does not match an identifier", q: query("Observation", clause("subject", storage.TypeReference, refValue("", "12345")))},
	})
}

func testSearchDate(t *testing.T, b searchBackend) {
	p1Low, p1High := day(1974, time.December, 25)
	p2Low, p2High := year(1980)
	p3Low, p3High := month(1974, time.December)
	put(t, b,
		res("Patient", "b1", dateRange("birthdate", p1Low, p1High)),
		res("Patient", "b2", dateRange("birthdate", p2Low, p2High)),
		res("Patient", "b3", dateRange("birthdate", p3Low, p3High)),
		res("Patient", "b4"),
	)
	put(t, b, observationFixture()...)

	y1974l, y1974h := year(1974)
	d1225l, d1225h := day(1974, time.December, 25)
	y1980l, y1980h := year(1980)
	y1981l, y1981h := year(1981)
	mar24l, mar24h := month(2024, time.March)
	feb24l, feb24h := month(2024, time.February)
	y2024l, y2024h := year(2024)
	y2023l, y2023h := year(2023)
	s0l, s0h := second(2024, time.March, 1, 10, 0, 0)

	birthdate := func(v storage.Value) storage.Query {
		return query("Patient", clause("birthdate", storage.TypeDate, v))
	}
	effective := func(v storage.Value) storage.Query {
		return query("Observation", clause("date", storage.TypeDate, v))
	}

	runSearchCases(t, b, []searchCase{
		{name: "eq contains day and month", q: birthdate(dateValue("eq", y1974l, y1974h)), want: []string{"Patient/b1", "Patient/b3"}},
		{name: "eq day excludes a month", q: birthdate(dateValue("eq", d1225l, d1225h)), want: []string{"Patient/b1"}},
		{name: "ne", q: birthdate(dateValue("ne", y1974l, y1974h)), want: []string{"Patient/b2"}},
		{name: "gt reaches above", q: birthdate(dateValue("gt", d1225l, d1225h)), want: []string{"Patient/b2", "Patient/b3"}},
		{name: "lt reaches below", q: birthdate(dateValue("lt", d1225l, d1225h)), want: []string{"Patient/b3"}},
		{name: "ge", q: birthdate(dateValue("ge", d1225l, d1225h)), want: []string{"Patient/b1", "Patient/b2", "Patient/b3"}},
		{name: "le", q: birthdate(dateValue("le", d1225l, d1225h)), want: []string{"Patient/b1", "Patient/b3"}},
		{name: "ge year", q: birthdate(dateValue("ge", y1980l, y1980h)), want: []string{"Patient/b2"}},
		{name: "le year", q: birthdate(dateValue("le", y1980l, y1980h)), want: []string{"Patient/b1", "Patient/b2", "Patient/b3"}},
		{name: "sa", q: birthdate(dateValue("sa", y1974l, y1974h)), want: []string{"Patient/b2"}},
		{name: "eb", q: birthdate(dateValue("eb", y1980l, y1980h)), want: []string{"Patient/b1", "Patient/b3"}},
		{name: "eb is strict", q: birthdate(dateValue("eb", d1225l, d1225h))},
		// ap widens 1981 by 10% of the 40-odd years to now, about four
		// years, reaching 1980 but not December 1974.
		{name: "ap", q: birthdate(dateValue("ap", y1981l, y1981h)), want: []string{"Patient/b2"}},
		{name: "OR of dates", q: query("Patient", clause("birthdate", storage.TypeDate,
			dateValue("eq", d1225l, d1225h), dateValue("eq", y1980l, y1980h))),
			want: []string{"Patient/b1", "Patient/b2"}},
		{name: "AND as a range", q: query("Patient",
			clause("birthdate", storage.TypeDate, dateValue("ge", y1974l, y1974h)),
			clause("birthdate", storage.TypeDate, dateValue("lt", y1980l, y1980h))),
			want: []string{"Patient/b1", "Patient/b3"}},
		{name: "eq month contains an instant and a period", q: effective(dateValue("eq", mar24l, mar24h)),
			want: []string{"Observation/o1", "Observation/o2"}},
		{name: "eq instant", q: effective(dateValue("eq", s0l, s0h)), want: []string{"Observation/o1"}},
		{name: "eq year excludes an open-ended period", q: effective(dateValue("eq", y2024l, y2024h)),
			want: []string{"Observation/o1", "Observation/o2"}},
		{name: "gt includes an open-ended period", q: effective(dateValue("gt", feb24l, feb24h)),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o4"}},
		{name: "gt year after", q: effective(dateValue("gt", y2024l, y2024h)), want: []string{"Observation/o4"}},
		{name: "lt", q: effective(dateValue("lt", y2024l, y2024h)), want: []string{"Observation/o3"}},
		{name: "sa", q: effective(dateValue("sa", y2023l, y2023h)),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o4"}},
		{name: "eb", q: effective(dateValue("eb", mar24l, mar24h)), want: []string{"Observation/o3"}},
		{name: "ne keeps partly overlapping", q: effective(dateValue("ne", mar24l, mar24h)),
			want: []string{"Observation/o3", "Observation/o4"}},
	})
}

func testSearchNumber(t *testing.T, b searchBackend) {
	put(t, b,
		res("RiskAssessment", "r99", num("probability", 99)),
		res("RiskAssessment", "r100", num("probability", 100)),
		res("RiskAssessment", "r100.4", num("probability", 100.4)),
		res("RiskAssessment", "r100.5", num("probability", 100.5)),
		res("RiskAssessment", "r150", num("probability", 150)),
		res("RiskAssessment", "rneg", num("probability", -5)),
		res("RiskAssessment", "rnone"),
	)
	probability := func(v storage.Value) storage.Query {
		return query("RiskAssessment", clause("probability", storage.TypeNumber, v))
	}
	runSearchCases(t, b, []searchCase{
		{name: "eq covers the implied precision", q: probability(numberValue("eq", 100, 0.5)),
			want: []string{"RiskAssessment/r100", "RiskAssessment/r100.4"}},
		{name: "eq with more precision", q: probability(numberValue("eq", 100.0, 0.05)),
			want: []string{"RiskAssessment/r100"}},
		{name: "eq with an exponent", q: probability(numberValue("eq", 100, 5)),
			want: []string{"RiskAssessment/r99", "RiskAssessment/r100", "RiskAssessment/r100.4", "RiskAssessment/r100.5"}},
		{name: "ne", q: probability(numberValue("ne", 100, 0.5)),
			want: []string{"RiskAssessment/r99", "RiskAssessment/r100.5", "RiskAssessment/r150", "RiskAssessment/rneg"}},
		{name: "gt is exact", q: probability(numberValue("gt", 100, 0.5)),
			want: []string{"RiskAssessment/r100.4", "RiskAssessment/r100.5", "RiskAssessment/r150"}},
		{name: "lt is exact", q: probability(numberValue("lt", 100, 0.5)),
			want: []string{"RiskAssessment/r99", "RiskAssessment/rneg"}},
		{name: "ge", q: probability(numberValue("ge", 100, 0.5)),
			want: []string{"RiskAssessment/r100", "RiskAssessment/r100.4", "RiskAssessment/r100.5", "RiskAssessment/r150"}},
		{name: "le", q: probability(numberValue("le", 100, 0.5)),
			want: []string{"RiskAssessment/r99", "RiskAssessment/r100", "RiskAssessment/rneg"}},
		{name: "sa starts above the range", q: probability(numberValue("sa", 100, 0.5)),
			want: []string{"RiskAssessment/r100.5", "RiskAssessment/r150"}},
		{name: "eb ends below the range", q: probability(numberValue("eb", 100, 0.5)),
			want: []string{"RiskAssessment/r99", "RiskAssessment/rneg"}},
		{name: "ap within ten percent", q: probability(numberValue("ap", 100, 0.5)),
			want: []string{"RiskAssessment/r99", "RiskAssessment/r100", "RiskAssessment/r100.4", "RiskAssessment/r100.5"}},
		{name: "negative", q: probability(numberValue("eq", -5, 0.5)), want: []string{"RiskAssessment/rneg"}},
		{name: "OR of numbers", q: query("RiskAssessment", clause("probability", storage.TypeNumber,
			numberValue("eq", 99, 0.5), numberValue("eq", 150, 0.5))),
			want: []string{"RiskAssessment/r99", "RiskAssessment/r150"}},
	})
}

func testSearchQuantity(t *testing.T, b searchBackend) {
	put(t, b,
		res("Observation", "q1", qty("value-quantity", 5.4, ucum, "mg")),
		res("Observation", "q2", qty("value-quantity", 5.4, ucum, "g")),
		res("Observation", "q3", qty("value-quantity", 5.4, "http://other.example/units", "mg")),
		res("Observation", "q4", qty("value-quantity", 7, ucum, "mg")),
	)
	valueQuantity := func(v storage.Value) storage.Query {
		return query("Observation", clause("value-quantity", storage.TypeQuantity, v))
	}
	withUnit := func(v storage.Value, system, code string) storage.Value {
		v.System, v.Code, v.AnySystem = system, code, system == ""
		return v
	}
	runSearchCases(t, b, []searchCase{
		{name: "number alone", q: valueQuantity(withUnit(numberValue("eq", 5.4, 0.05), "", "")),
			want: []string{"Observation/q1", "Observation/q2", "Observation/q3"}},
		{name: "system and code", q: valueQuantity(withUnit(numberValue("eq", 5.4, 0.05), ucum, "mg")),
			want: []string{"Observation/q1"}},
		{name: "code in any system", q: valueQuantity(withUnit(numberValue("eq", 5.4, 0.05), "", "mg")),
			want: []string{"Observation/q1", "Observation/q3"}},
		{name: "prefix with unit", q: valueQuantity(withUnit(numberValue("gt", 5, 0.5), ucum, "mg")),
			want: []string{"Observation/q1", "Observation/q4"}},
		{name: "le with unit", q: valueQuantity(withUnit(numberValue("le", 5.4, 0.05), ucum, "g")),
			want: []string{"Observation/q2"}},
	})
}

// testSearchQuantityAsWrittenAndCanonical stores quantities as the search
// package indexes them: a UCUM quantity as written plus a canonical copy.
// A value without Canonical compares only the entries as written, so 7.4
// finds 7.4 % and not 0.074; a canonical value compares only the copies,
// so 0.25 g finds 250 mg and 250 g does not.
func testSearchQuantityAsWrittenAndCanonical(t *testing.T, b searchBackend) {
	const code = "code-value-quantity"
	put(t, b,
		res("Observation", "hba1c",
			qty("value-quantity", 7.4, ucum, "%"),
			canonicalQty("value-quantity", 0.074, ucum, "1"),
			component(code, 1, 0, tok("", loinc, "4548-4")),
			component(code, 1, 1, qty("", 7.4, ucum, "%")),
			component(code, 1, 1, canonicalQty("", 0.074, ucum, "1"))),
		res("Observation", "mass",
			qty("value-quantity", 250, ucum, "mg"),
			canonicalQty("value-quantity", 0.25, ucum, "g")),
		res("Observation", "temperature",
			qty("value-quantity", 37.5, ucum, "Cel")),
	)
	valueQuantity := func(v storage.Value) storage.Query {
		return query("Observation", clause("value-quantity", storage.TypeQuantity, v))
	}
	unitless := func(prefix string, value, half float64) storage.Value {
		v := numberValue(prefix, value, half)
		v.AnySystem = true
		return v
	}
	withUnit := func(v storage.Value, system, code string, canonical bool) storage.Value {
		v.System, v.Code, v.AnySystem, v.Canonical = system, code, system == "", canonical
		return v
	}
	codeValue := func(value storage.Value) storage.Query {
		c := codeValue(loinc, "4548-4")
		c.Type = storage.TypeToken
		value.Type = storage.TypeQuantity
		return query("Observation", clause(code, storage.TypeComposite, storage.Value{Prefix: "eq", Components: []storage.Value{c, value}}))
	}
	runSearchCases(t, b, []searchCase{
		{name: "unitless gt compares as written", q: valueQuantity(unitless("gt", 7.0, 0.05)),
			want: []string{"Observation/hba1c", "Observation/mass", "Observation/temperature"}},
		{name: "unitless eq finds percent", q: valueQuantity(unitless("eq", 7.4, 0.05)),
			want: []string{"Observation/hba1c"}},
		{name: "unitless eq skips canonical", q: valueQuantity(unitless("eq", 0.074, 0.0005))},
		{name: "unitless finds mg as written", q: valueQuantity(unitless("eq", 250, 0.5)),
			want: []string{"Observation/mass"}},
		{name: "unitless skips grams", q: valueQuantity(unitless("eq", 0.25, 0.005))},
		{name: "unitless lt skips canonical", q: valueQuantity(unitless("lt", 1, 0.5))},
		{name: "canonical grams find mg", q: valueQuantity(withUnit(numberValue("eq", 0.25, 0.005), ucum, "g", true)),
			want: []string{"Observation/mass"}},
		{name: "canonical skips as written", q: valueQuantity(withUnit(numberValue("eq", 250, 0.5), ucum, "g", true))},
		{name: "canonical percent", q: valueQuantity(withUnit(numberValue("eq", 0.074, 0.0005), ucum, "1", true)),
			want: []string{"Observation/hba1c"}},
		{name: "unconverted unit as written", q: valueQuantity(withUnit(numberValue("eq", 37.5, 0.05), ucum, "Cel", false)),
			want: []string{"Observation/temperature"}},
		{name: "code in any system as written", q: valueQuantity(withUnit(numberValue("eq", 250, 0.5), "", "mg", false)),
			want: []string{"Observation/mass"}},
		{name: "composite unitless", q: codeValue(unitless("gt", 7.0, 0.05)), want: []string{"Observation/hba1c"}},
		{name: "composite unitless skips canonical", q: codeValue(unitless("lt", 1, 0.5))},
		{name: "composite canonical", q: codeValue(withUnit(numberValue("eq", 0.074, 0.0005), ucum, "1", true)),
			want: []string{"Observation/hba1c"}},
		{name: "composite canonical skips as written", q: codeValue(withUnit(numberValue("eq", 7.4, 0.05), ucum, "1", true))},
		{name: "sort by the value as written", q: sorted("Observation", sortBy("value-quantity", storage.TypeQuantity, false)),
			want: []string{"Observation/hba1c", "Observation/temperature", "Observation/mass"}, ordered: true},
	})
}

func testSearchURI(t *testing.T, b searchBackend) {
	put(t, b,
		res("ValueSet", "v1", uri("url", "http://acme.org/fhir/ValueSet/123")),
		res("ValueSet", "v2", uri("url", "http://acme.org/fhir/ValueSet/123/_history/5")),
		res("ValueSet", "v3", uri("url", "http://acme.org/fhir/ValueSet")),
		res("ValueSet", "v4", uri("url", "http://acme.org/fhir")),
		res("ValueSet", "v5", uri("url", "http://acme.org/fhirx")),
		res("ValueSet", "v6", uri("url", "urn:oid:1.2.3")),
	)
	url := func(modifier, value string) storage.Query {
		return query("ValueSet", modified(clause("url", storage.TypeURI, textValue(value)), modifier))
	}
	runSearchCases(t, b, []searchCase{
		{name: "exact", q: url("", "http://acme.org/fhir/ValueSet/123"), want: []string{"ValueSet/v1"}},
		{name: "exact is not a prefix", q: url("", "http://acme.org/fhir/ValueSet/12")},
		{name: "urn", q: url("", "urn:oid:1.2.3"), want: []string{"ValueSet/v6"}},
		{name: "below", q: url("below", "http://acme.org/fhir"),
			want: []string{"ValueSet/v1", "ValueSet/v2", "ValueSet/v3", "ValueSet/v4"}},
		{name: "below with a trailing slash", q: url("below", "http://acme.org/fhir/ValueSet/"),
			want: []string{"ValueSet/v1", "ValueSet/v2", "ValueSet/v3"}},
		{name: "above", q: url("above", "http://acme.org/fhir/ValueSet/123/_history/5"),
			want: []string{"ValueSet/v1", "ValueSet/v2", "ValueSet/v3", "ValueSet/v4"}},
		{name: "above stops at path segments", q: url("above", "http://acme.org/fhirx/ValueSet"),
			want: []string{"ValueSet/v5"}},
	})
}

func testSearchComposite(t *testing.T, b searchBackend) {
	// Observation.component: each component's code and value form one
	// group, so the code of one component never pairs with the value of
	// another.
	put(t, b,
		res("Observation", "bp1",
			component("component-code-value-quantity", 1, 0, tok("", loinc, "8480-6")),
			component("component-code-value-quantity", 1, 1, qty("", 120, ucum, "mm[Hg]")),
			component("component-code-value-quantity", 2, 0, tok("", loinc, "8462-4")),
			component("component-code-value-quantity", 2, 1, qty("", 80, ucum, "mm[Hg]"))),
		res("Observation", "bp2",
			component("component-code-value-quantity", 1, 0, tok("", loinc, "8480-6")),
			component("component-code-value-quantity", 1, 1, qty("", 80, ucum, "mm[Hg]")),
			component("component-code-value-quantity", 2, 0, tok("", loinc, "8462-4")),
			component("component-code-value-quantity", 2, 1, qty("", 60, ucum, "mm[Hg]"))),
		res("Group", "g1",
			component("characteristic-value", 1, 0, tok("", "", "gender")),
			component("characteristic-value", 1, 1, tok("", "", "female"))),
	)
	codeValue := func(code string, value storage.Value) storage.Value {
		c := codeValue(loinc, code)
		c.Type = storage.TypeToken
		value.Type = storage.TypeQuantity
		return storage.Value{Prefix: "eq", Components: []storage.Value{c, value}}
	}
	q := func(values ...storage.Value) storage.Query {
		return query("Observation", clause("component-code-value-quantity", storage.TypeComposite, values...))
	}
	mmHg := func(prefix string, value, half float64) storage.Value {
		v := numberValue(prefix, value, half)
		v.System, v.Code = ucum, "mm[Hg]"
		return v
	}
	runSearchCases(t, b, []searchCase{
		{name: "components of one group", q: q(codeValue("8480-6", mmHg("gt", 100, 0.5))), want: []string{"Observation/bp1"}},
		{name: "components of different groups do not pair", q: q(codeValue("8462-4", mmHg("eq", 120, 0.5)))},
		{name: "value shared by two resources", q: q(codeValue("8480-6", mmHg("eq", 80, 0.5)), codeValue("8462-4", mmHg("eq", 80, 0.5))),
			want: []string{"Observation/bp1", "Observation/bp2"}},
		{name: "AND of two composites", q: query("Observation",
			clause("component-code-value-quantity", storage.TypeComposite, codeValue("8480-6", mmHg("ge", 80, 0.5))),
			clause("component-code-value-quantity", storage.TypeComposite, codeValue("8462-4", mmHg("lt", 70, 0.5)))),
			want: []string{"Observation/bp2"}},
		{name: "types inferred without Value.Type", q: query("Group", clause("characteristic-value", storage.TypeComposite,
			storage.Value{Prefix: "eq", Components: []storage.Value{anyCode("gender"), anyCode("female")}})),
			want: []string{"Group/g1"}},
	})
}

func testSearchMissing(t *testing.T, b searchBackend) {
	put(t, b, observationFixture()...)
	runSearchCases(t, b, []searchCase{
		{name: "token missing", q: query("Observation", missing("code", storage.TypeToken, true)),
			want: []string{"Observation/o6"}},
		{name: "token present", q: query("Observation", missing("code", storage.TypeToken, false)),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4", "Observation/o5"}},
		{name: "date missing", q: query("Observation", missing("date", storage.TypeDate, true)),
			want: []string{"Observation/o5", "Observation/o6"}},
		{name: "missing with a value clause", q: query("Observation",
			missing("date", storage.TypeDate, true),
			clause("status", storage.TypeToken, anyCode("cancelled"))),
			want: []string{"Observation/o5"}},
		{name: "unknown parameter is missing everywhere", q: query("Observation", missing("no-such-param", storage.TypeString, true)),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4", "Observation/o5", "Observation/o6"}},
		{name: "composite missing", q: query("Observation", missing("component-code-value-quantity", storage.TypeComposite, false))},
	})
}

func testSearchIDAndLastUpdated(t *testing.T, b searchBackend) {
	put(t, b,
		res("Patient", "a"), // tick(0)
		res("Patient", "b"), // tick(1)
		res("Patient", "c"), // tick(2)
		res("Observation", "a"),
	)
	at := func(n int) (time.Time, time.Time) {
		return tick(n), tick(n).Add(time.Second - time.Nanosecond)
	}
	t1l, t1h := at(1)
	runSearchCases(t, b, []searchCase{
		{name: "id", q: query("Patient", clause("_id", storage.TypeToken, anyCode("b"))), want: []string{"Patient/b"}},
		{name: "OR of ids", q: query("Patient", clause("_id", storage.TypeToken, anyCode("a"), anyCode("c"), anyCode("zz"))),
			want: []string{"Patient/a", "Patient/c"}},
		{name: "not id", q: query("Patient", modified(clause("_id", storage.TypeToken, anyCode("a")), "not")),
			want: []string{"Patient/b", "Patient/c"}},
		{name: "lastUpdated in a second", q: query("Patient", clause("_lastUpdated", storage.TypeDate, dateValue("eq", t1l, t1h))),
			want: []string{"Patient/b"}},
		{name: "lastUpdated gt", q: query("Patient", clause("_lastUpdated", storage.TypeDate, dateValue("gt", t1l, t1h))),
			want: []string{"Patient/c"}},
		{name: "lastUpdated le", q: query("Patient", clause("_lastUpdated", storage.TypeDate, dateValue("le", t1l, t1h))),
			want: []string{"Patient/a", "Patient/b"}},
		{name: "id with lastUpdated", q: query("Patient",
			clause("_id", storage.TypeToken, anyCode("a"), anyCode("b")),
			clause("_lastUpdated", storage.TypeDate, dateValue("ge", t1l, t1h))),
			want: []string{"Patient/b"}},
	})
}

func testSearchTypes(t *testing.T, b searchBackend) {
	put(t, b, observationFixture()...)
	put(t, b, res("Practitioner", "dr1", str("name", "peter", "Peter")))
	runSearchCases(t, b, []searchCase{
		{name: "type search", q: query("Practitioner", clause("name", storage.TypeString, textValue("pet"))),
			want: []string{"Practitioner/dr1"}},
		{name: "several types", q: storage.Query{Types: []string{"Patient", "Practitioner"},
			Filter: []storage.Clause{clause("name", storage.TypeString, textValue("pet"))}},
			want: []string{"Patient/p1", "Patient/p2", "Practitioner/dr1"}},
		{name: "all types", q: storage.Query{Filter: []storage.Clause{clause("name", storage.TypeString, textValue("p"))}},
			want: []string{"Patient/p1", "Patient/p2", "Practitioner/dr1"}},
		{name: "all types without a filter", q: storage.Query{Types: []string{"Group", "Practitioner"}},
			want: []string{"Group/g1", "Practitioner/dr1"}},
		{name: "type with no resources", q: storage.Query{Types: []string{"Encounter"}}},
	})
}
