package search

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

func decodeTestResource(t testing.TB, src string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", src, err)
	}
	return m
}

// extractParam returns the entries of one parameter of the resource.
func extractParam(t *testing.T, ix *Indexer, src, code string) []storage.IndexEntry {
	t.Helper()
	r := decodeTestResource(t, src)
	all, err := ix.Extract(r["resourceType"].(string), r)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	var out []storage.IndexEntry
	for _, e := range all {
		if e.Param == code {
			out = append(out, e)
		}
	}
	return out
}

type extractCase struct {
	name     string
	resource string
	param    string
	want     []storage.IndexEntry
}

func runExtractCases(t *testing.T, cases []extractCase) {
	t.Helper()
	ix := newTestIndexer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := extractParam(t, ix, tc.resource, tc.param)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries, want %d:\ngot  %+v\nwant %+v", len(got), len(tc.want), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d:\ngot  %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestExtractString(t *testing.T) {
	str := func(code, exact, folded string) storage.IndexEntry {
		return storage.IndexEntry{Param: code, Type: storage.TypeString, Text: folded, Exact: exact}
	}
	runExtractCases(t, []extractCase{
		{
			name:     "name parts folded for accents and case",
			resource: `{"resourceType":"Patient","name":[{"family":"Müller","given":["ÉLODIE","Anne"],"prefix":["Dr."],"suffix":["PhD"],"text":"Dr. Élodie Müller"}]}`,
			param:    "name",
			want: []storage.IndexEntry{
				str("name", "Müller", "muller"), str("name", "ÉLODIE", "elodie"), str("name", "Anne", "anne"),
				str("name", "Dr.", "dr."), str("name", "PhD", "phd"), str("name", "Dr. Élodie Müller", "dr. elodie muller"),
			},
		},
		{
			name:     "family only",
			resource: `{"resourceType":"Patient","name":[{"family":"Ødegård","given":["Sigurd"]},{"family":"Straße"}]}`,
			param:    "family",
			want:     []storage.IndexEntry{str("family", "Ødegård", "odegard"), str("family", "Straße", "strasse")},
		},
		{
			name:     "address parts",
			resource: `{"resourceType":"Patient","address":[{"line":["12 Rue de l'Église","Bât. B"],"city":"Genève","district":"GE","state":"Genève","postalCode":"1204","country":"CH","text":"12 Rue de l'Église, Genève"}]}`,
			param:    "address",
			want: []storage.IndexEntry{
				str("address", "12 Rue de l'Église", "12 rue de l'eglise"), str("address", "Bât. B", "bat. b"),
				str("address", "Genève", "geneve"), str("address", "GE", "ge"), str("address", "1204", "1204"),
				str("address", "CH", "ch"), str("address", "12 Rue de l'Église, Genève", "12 rue de l'eglise, geneve"),
			},
		},
		{
			name:     "address-city picks one part",
			resource: `{"resourceType":"Patient","address":[{"city":"Zürich"},{"city":"Bern"}]}`,
			param:    "address-city",
			want:     []storage.IndexEntry{str("address-city", "Zürich", "zurich"), str("address-city", "Bern", "bern")},
		},
		{
			name:     "plain string element",
			resource: `{"resourceType":"Organization","name":"Hôpital Saint-Éloi"}`,
			param:    "name",
			want:     []storage.IndexEntry{str("name", "Hôpital Saint-Éloi", "hopital saint-eloi")},
		},
		{
			name:     "duplicate values appear once",
			resource: `{"resourceType":"Patient","name":[{"given":["Ann"]},{"given":["Ann"]}]}`,
			param:    "given",
			want:     []storage.IndexEntry{str("given", "Ann", "ann")},
		},
	})
}

func TestExtractToken(t *testing.T) {
	tok := func(code, system, value, text string) storage.IndexEntry {
		return storage.IndexEntry{Param: code, Type: storage.TypeToken, System: system, Code: value, Text: text}
	}
	runExtractCases(t, []extractCase{
		{
			name:     "code without system",
			resource: `{"resourceType":"Patient","gender":"female"}`,
			param:    "gender",
			want:     []storage.IndexEntry{tok("gender", "", "female", "")},
		},
		{
			name:     "boolean",
			resource: `{"resourceType":"Patient","active":true}`,
			param:    "active",
			want:     []storage.IndexEntry{tok("active", "", "true", "")},
		},
		{
			name:     "resource id",
			resource: `{"resourceType":"Patient","id":"p-1"}`,
			param:    "_id",
			want:     []storage.IndexEntry{tok("_id", "", "p-1", "")},
		},
		{
			name:     "CodeableConcept codings and text",
			resource: `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic BP"},{"code":"sys"}],"text":"Blood Pressure"}}`,
			param:    "code",
			want: []storage.IndexEntry{
				tok("code", "http://loinc.org", "8480-6", "systolic bp"),
				tok("code", "", "sys", ""),
				tok("code", "", "", "blood pressure"),
			},
		},
		{
			name:     "CodeableConcept text equal to a display is not repeated",
			resource: `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic BP"}],"text":"SYSTOLIC BP"}}`,
			param:    "code",
			want:     []storage.IndexEntry{tok("code", "http://loinc.org", "8480-6", "systolic bp")},
		},
		{
			name:     "CodeableConcept with text only",
			resource: `{"resourceType":"Condition","code":{"text":"Pain in the knee"},"subject":{"reference":"Patient/1"}}`,
			param:    "code",
			want:     []storage.IndexEntry{tok("code", "", "", "pain in the knee")},
		},
		{
			name:     "meta tag Coding",
			resource: `{"resourceType":"Patient","meta":{"tag":[{"system":"http://example.org/tags","code":"vip","display":"VIP"}]}}`,
			param:    "_tag",
			want:     []storage.IndexEntry{tok("_tag", "http://example.org/tags", "vip", "vip")},
		},
		{
			name: "identifier with type",
			resource: `{"resourceType":"Patient","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}],"text":"Medical record"},"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345"},` +
				`{"value":"no-system"}]}`,
			param: "identifier",
			want: []storage.IndexEntry{
				{Param: "identifier", Type: storage.TypeToken, System: "urn:oid:1.2.36.146.595.217.0.1", Code: "12345", Text: "medical record",
					TypeSystem: "http://terminology.hl7.org/CodeSystem/v2-0203", TypeCode: "MR"},
				tok("identifier", "", "no-system", ""),
			},
		},
		{
			name:     "ContactPoint value without system",
			resource: `{"resourceType":"Patient","telecom":[{"system":"phone","value":"+41 22 555 0101","use":"work"},{"system":"email","value":"a@example.org"},{"use":"home"}]}`,
			param:    "telecom",
			want:     []storage.IndexEntry{tok("telecom", "", "+41 22 555 0101", ""), tok("telecom", "", "a@example.org", "")},
		},
		{
			name:     "phone selects phone ContactPoints",
			resource: `{"resourceType":"Patient","telecom":[{"system":"phone","value":"555-0101"},{"system":"email","value":"a@example.org"}]}`,
			param:    "phone",
			want:     []storage.IndexEntry{tok("phone", "", "555-0101", "")},
		},
		{
			name:     "deceased computed as boolean",
			resource: `{"resourceType":"Patient","deceasedDateTime":"2020-01-01"}`,
			param:    "deceased",
			want:     []storage.IndexEntry{tok("deceased", "", "true", "")},
		},
	})
}

func TestExtractReference(t *testing.T) {
	ref := func(code, exact, refType, id, version string) storage.IndexEntry {
		return storage.IndexEntry{Param: code, Type: storage.TypeReference, Exact: exact, RefType: refType, RefID: id, RefVersion: version}
	}
	runExtractCases(t, []extractCase{
		{
			name:     "relative",
			resource: `{"resourceType":"Observation","subject":{"reference":"Patient/123"}}`,
			param:    "subject",
			want:     []storage.IndexEntry{ref("subject", "Patient/123", "Patient", "123", "")},
		},
		{
			name:     "versioned",
			resource: `{"resourceType":"Observation","subject":{"reference":"Patient/123/_history/4"}}`,
			param:    "subject",
			want:     []storage.IndexEntry{ref("subject", "Patient/123/_history/4", "Patient", "123", "4")},
		},
		{
			name:     "absolute on this server",
			resource: `{"resourceType":"Observation","subject":{"reference":"http://example.org/fhir/Patient/9"}}`,
			param:    "subject",
			want:     []storage.IndexEntry{ref("subject", "http://example.org/fhir/Patient/9", "Patient", "9", "")},
		},
		{
			name:     "absolute on another server",
			resource: `{"resourceType":"Observation","subject":{"reference":"http://other.example.com/fhir/Patient/9"}}`,
			param:    "subject",
			want:     []storage.IndexEntry{ref("subject", "http://other.example.com/fhir/Patient/9", "", "", "")},
		},
		{
			name:     "URN",
			resource: `{"resourceType":"Observation","subject":{"reference":"urn:uuid:4f1d0c5e-7e0a-4a8c-9d0b-1c2e3f4a5b6c"}}`,
			param:    "subject",
			want:     []storage.IndexEntry{ref("subject", "urn:uuid:4f1d0c5e-7e0a-4a8c-9d0b-1c2e3f4a5b6c", "", "", "")},
		},
		{
			name:     "contained is not a target",
			resource: `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p1"}],"subject":{"reference":"#p1"}}`,
			param:    "subject",
			want:     nil,
		},
		{
			name:     "display only",
			resource: `{"resourceType":"Observation","subject":{"display":"Someone"}}`,
			param:    "subject",
			want:     nil,
		},
		{
			name:     "identifier",
			resource: `{"resourceType":"Observation","subject":{"identifier":{"system":"urn:mrn","value":"77"}}}`,
			param:    "subject",
			want:     []storage.IndexEntry{{Param: "subject", Type: storage.TypeReference, System: "urn:mrn", Code: "77"}},
		},
		{
			name:     "reference and identifier in one entry",
			resource: `{"resourceType":"Observation","subject":{"reference":"Patient/5","identifier":{"system":"urn:mrn","value":"77"}}}`,
			param:    "subject",
			want: []storage.IndexEntry{{Param: "subject", Type: storage.TypeReference, Exact: "Patient/5", RefType: "Patient", RefID: "5",
				System: "urn:mrn", Code: "77"}},
		},
		{
			name:     "patient parameter keeps Patient targets",
			resource: `{"resourceType":"Observation","subject":{"reference":"Group/g1"}}`,
			param:    "patient",
			want:     nil,
		},
		{
			name:     "canonical with version",
			resource: `{"resourceType":"QuestionnaireResponse","questionnaire":"http://loinc.org/q/55757-9|2.1","status":"completed"}`,
			param:    "questionnaire",
			want:     []storage.IndexEntry{ref("questionnaire", "http://loinc.org/q/55757-9", "", "", "2.1")},
		},
		{
			name:     "canonical on this server",
			resource: `{"resourceType":"QuestionnaireResponse","questionnaire":"http://example.org/fhir/Questionnaire/q1","status":"completed"}`,
			param:    "questionnaire",
			want:     []storage.IndexEntry{ref("questionnaire", "http://example.org/fhir/Questionnaire/q1", "Questionnaire", "q1", "")},
		},
		{
			name:     "Bundle composition only for a Composition",
			resource: `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}`,
			param:    "composition",
			want:     nil,
		},
		{
			name:     "Bundle composition of a document",
			resource: `{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Composition","id":"c1"}}]}`,
			param:    "composition",
			want:     []storage.IndexEntry{ref("composition", "", "Composition", "c1", "")},
		},
	})
}

func TestExtractDate(t *testing.T) {
	date := func(code string, low, high time.Time) storage.IndexEntry {
		return storage.IndexEntry{Param: code, Type: storage.TypeDate, Low: low, High: high}
	}
	var open time.Time
	runExtractCases(t, []extractCase{
		{
			name:     "year",
			resource: `{"resourceType":"Patient","birthDate":"1970"}`,
			param:    "birthdate",
			want:     []storage.IndexEntry{date("birthdate", utc("1970-01-01T00:00:00Z"), utc("1970-12-31T23:59:59.999999999Z"))},
		},
		{
			name:     "month",
			resource: `{"resourceType":"Patient","birthDate":"1970-02"}`,
			param:    "birthdate",
			want:     []storage.IndexEntry{date("birthdate", utc("1970-02-01T00:00:00Z"), utc("1970-02-28T23:59:59.999999999Z"))},
		},
		{
			name:     "day",
			resource: `{"resourceType":"Patient","birthDate":"1970-03-15"}`,
			param:    "birthdate",
			want:     []storage.IndexEntry{date("birthdate", utc("1970-03-15T00:00:00Z"), utc("1970-03-15T23:59:59.999999999Z"))},
		},
		{
			name:     "seconds with zone offset",
			resource: `{"resourceType":"Observation","effectiveDateTime":"2020-03-04T10:15:30+02:00"}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", utc("2020-03-04T08:15:30Z"), utc("2020-03-04T08:15:30.999999999Z"))},
		},
		{
			name:     "seconds in UTC",
			resource: `{"resourceType":"Observation","effectiveDateTime":"2020-03-04T10:15:30Z"}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", utc("2020-03-04T10:15:30Z"), utc("2020-03-04T10:15:30.999999999Z"))},
		},
		{
			name:     "seconds without zone read as UTC",
			resource: `{"resourceType":"Observation","effectiveDateTime":"2020-03-04T10:15:30"}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", utc("2020-03-04T10:15:30Z"), utc("2020-03-04T10:15:30.999999999Z"))},
		},
		{
			name:     "milliseconds negative offset",
			resource: `{"resourceType":"Observation","effectiveInstant":"2020-03-04T23:15:30.250-05:00"}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", utc("2020-03-05T04:15:30.25Z"), utc("2020-03-05T04:15:30.250999999Z"))},
		},
		{
			name:     "lastUpdated instant",
			resource: `{"resourceType":"Patient","meta":{"lastUpdated":"2024-05-06T07:08:09.123Z"}}`,
			param:    "_lastUpdated",
			want:     []storage.IndexEntry{date("_lastUpdated", utc("2024-05-06T07:08:09.123Z"), utc("2024-05-06T07:08:09.123999999Z"))},
		},
		{
			name:     "Period closed",
			resource: `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2021-01-01","end":"2021-01-03T12:00:00Z"}}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", utc("2021-01-01T00:00:00Z"), utc("2021-01-03T12:00:00.999999999Z"))},
		},
		{
			name:     "Period without end",
			resource: `{"resourceType":"Encounter","status":"in-progress","class":{"code":"IMP"},"period":{"start":"2021-01-01T08:00:00Z"}}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", utc("2021-01-01T08:00:00Z"), open)},
		},
		{
			name:     "Period without start",
			resource: `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"end":"2021-06"}}`,
			param:    "date",
			want:     []storage.IndexEntry{date("date", open, utc("2021-06-30T23:59:59.999999999Z"))},
		},
		{
			name:     "Timing events",
			resource: `{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/1"},"activity":[{"detail":{"status":"scheduled","scheduledTiming":{"event":["2022-05-02T09:00:00Z","2022-05-01","2022-05-03T09:00:00Z"]}}}]}`,
			param:    "activity-date",
			want:     []storage.IndexEntry{date("activity-date", utc("2022-05-01T00:00:00Z"), utc("2022-05-03T09:00:00.999999999Z"))},
		},
		{
			name:     "Timing bounds with open end",
			resource: `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"},"occurrenceTiming":{"event":["2022-01-10"],"repeat":{"boundsPeriod":{"start":"2022-01-05"},"frequency":1,"period":1,"periodUnit":"d"}}}`,
			param:    "occurrence",
			want:     []storage.IndexEntry{date("occurrence", utc("2022-01-05T00:00:00Z"), open)},
		},
		{
			name:     "Timing with only a schedule",
			resource: `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"},"occurrenceTiming":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}}}`,
			param:    "occurrence",
			want:     nil,
		},
	})
}

func TestExtractNumber(t *testing.T) {
	num := func(code string, v, low, high float64) storage.IndexEntry {
		return storage.IndexEntry{Param: code, Type: storage.TypeNumber, Number: v, NumberLow: low, NumberHigh: high}
	}
	runExtractCases(t, []extractCase{
		{
			name:     "integer",
			resource: `{"resourceType":"MolecularSequence","coordinateSystem":0,"variant":[{"start":100,"end":1000}]}`,
			param:    "variant-start",
			want:     []storage.IndexEntry{num("variant-start", 100, 99.5, 100.5)},
		},
		{
			name:     "decimal keeps its written precision",
			resource: `{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityDecimal":1.00},{"probabilityDecimal":0.25}]}`,
			param:    "probability",
			want:     []storage.IndexEntry{num("probability", 1, 0.995, 1.005), num("probability", 0.25, 0.245, 0.255)},
		},
		{
			name:     "Range with open high end",
			resource: `{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityRange":{"low":{"value":0.2}}}]}`,
			param:    "probability",
			want:     []storage.IndexEntry{num("probability", 0.2, 0.15, math.MaxFloat64)},
		},
	})
}

func TestExtractQuantity(t *testing.T) {
	qty := func(code string, v, low, high float64, system, unit string) storage.IndexEntry {
		return storage.IndexEntry{Param: code, Type: storage.TypeQuantity, Number: v, NumberLow: low, NumberHigh: high, System: system, Code: unit}
	}
	canonical := func(e storage.IndexEntry) storage.IndexEntry {
		e.Canonical = true
		return e
	}
	const ucum = "http://unitsofmeasure.org"
	runExtractCases(t, []extractCase{
		{
			name:     "mg as written and in g",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":250,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`,
			param:    "value-quantity",
			want: []storage.IndexEntry{
				qty("value-quantity", 250, 249.5, 250.5, ucum, "mg"),
				canonical(qty("value-quantity", 0.25, 0.2495, 0.2505, ucum, "g")),
			},
		},
		{
			name:     "percent as written and as a pure number",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":7.4,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}`,
			param:    "value-quantity",
			want: []storage.IndexEntry{
				qty("value-quantity", 7.4, 7.35, 7.45, ucum, "%"),
				canonical(qty("value-quantity", 0.074, 0.0735, 0.0745, ucum, "1")),
			},
		},
		{
			name:     "canonical unit still gets both entries",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":5,"system":"http://unitsofmeasure.org","code":"g"}}`,
			param:    "value-quantity",
			want: []storage.IndexEntry{
				qty("value-quantity", 5, 4.5, 5.5, ucum, "g"),
				canonical(qty("value-quantity", 5, 4.5, 5.5, ucum, "g")),
			},
		},
		{
			name:     "mmol/L converts to mol per cubic meter",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":5.4,"system":"http://unitsofmeasure.org","code":"mmol/L"}}`,
			param:    "value-quantity",
			want: []storage.IndexEntry{
				qty("value-quantity", 5.4, 5.35, 5.45, ucum, "mmol/L"),
				canonical(qty("value-quantity", 5.4, 5.35, 5.45, ucum, "mol.m-3")),
			},
		},
		{
			name:     "mg/dL converts to g per cubic meter",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":90,"system":"http://unitsofmeasure.org","code":"mg/dL"}}`,
			param:    "value-quantity",
			want: []storage.IndexEntry{
				qty("value-quantity", 90, 89.5, 90.5, ucum, "mg/dL"),
				canonical(qty("value-quantity", 900, 895, 905, ucum, "g.m-3")),
			},
		},
		{
			name:     "unit without system or code",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":2,"unit":"h"}}`,
			param:    "value-quantity",
			want: []storage.IndexEntry{
				qty("value-quantity", 2, 1.5, 2.5, "", "h"),
				canonical(qty("value-quantity", 7200, 5400, 9000, "", "s")),
			},
		},
		{
			name:     "Celsius is not converted",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":37.5,"system":"http://unitsofmeasure.org","code":"Cel"}}`,
			param:    "value-quantity",
			want:     []storage.IndexEntry{qty("value-quantity", 37.5, 37.45, 37.55, ucum, "Cel")},
		},
		{
			name:     "other system is not converted",
			resource: `{"resourceType":"Observation","valueQuantity":{"value":3,"system":"http://snomed.info/sct","code":"258684004"}}`,
			param:    "value-quantity",
			want:     []storage.IndexEntry{qty("value-quantity", 3, 2.5, 3.5, "http://snomed.info/sct", "258684004")},
		},
		{
			name:     "Money",
			resource: `{"resourceType":"ChargeItem","status":"billed","code":{"text":"x"},"subject":{"reference":"Patient/1"},"priceOverride":{"value":40.00,"currency":"EUR"}}`,
			param:    "price-override",
			want:     []storage.IndexEntry{qty("price-override", 40, 39.995, 40.005, "urn:iso:std:iso:4217", "EUR")},
		},
	})
}

func TestExtractURI(t *testing.T) {
	runExtractCases(t, []extractCase{
		{
			name:     "canonical url",
			resource: `{"resourceType":"ValueSet","status":"active","url":"http://example.org/ValueSet/colors"}`,
			param:    "url",
			want:     []storage.IndexEntry{{Param: "url", Type: storage.TypeURI, Exact: "http://example.org/ValueSet/colors"}},
		},
		{
			name:     "profile with version",
			resource: `{"resourceType":"Patient","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|3.1.1"]}}`,
			param:    "_profile",
			want:     []storage.IndexEntry{{Param: "_profile", Type: storage.TypeURI, Exact: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|3.1.1"}},
		},
	})
}

func TestExtractComposite(t *testing.T) {
	const ucum = "http://unitsofmeasure.org"
	runExtractCases(t, []extractCase{
		{
			name:     "code and value of one Observation",
			resource: `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"},{"system":"urn:local","code":"GLU"}]},"valueQuantity":{"value":5,"system":"http://unitsofmeasure.org","code":"mmol/L"}}`,
			param:    "code-value-quantity",
			want: []storage.IndexEntry{
				{Param: "code-value-quantity", Type: storage.TypeToken, Group: 1, Component: 0, System: "http://loinc.org", Code: "2339-0"},
				{Param: "code-value-quantity", Type: storage.TypeToken, Group: 1, Component: 0, System: "urn:local", Code: "GLU"},
				{Param: "code-value-quantity", Type: storage.TypeQuantity, Group: 1, Component: 1, Number: 5, NumberLow: 4.5, NumberHigh: 5.5, System: ucum, Code: "mmol/L"},
				{Param: "code-value-quantity", Type: storage.TypeQuantity, Group: 1, Component: 1, Number: 5, NumberLow: 4.5, NumberHigh: 5.5, System: ucum, Code: "mol.m-3", Canonical: true},
			},
		},
		{
			name: "components do not cross (groups 1 and 2 are combo-code-value-quantity)",
			resource: `{"resourceType":"Observation","code":{"text":"BP"},"component":[` +
				`{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},` +
				`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
			param: "component-code-value-quantity",
			want: []storage.IndexEntry{
				{Param: "component-code-value-quantity", Type: storage.TypeToken, Group: 3, Component: 0, System: "http://loinc.org", Code: "8480-6"},
				{Param: "component-code-value-quantity", Type: storage.TypeQuantity, Group: 3, Component: 1, Number: 120, NumberLow: 119.5, NumberHigh: 120.5, System: ucum, Code: "mm[Hg]"},
				{Param: "component-code-value-quantity", Type: storage.TypeQuantity, Group: 3, Component: 1, Number: 15998640, NumberLow: 15931979, NumberHigh: 16065301, System: ucum, Code: "g.m-1.s-2", Canonical: true},
				{Param: "component-code-value-quantity", Type: storage.TypeToken, Group: 4, Component: 0, System: "http://loinc.org", Code: "8462-4"},
				{Param: "component-code-value-quantity", Type: storage.TypeQuantity, Group: 4, Component: 1, Number: 80, NumberLow: 79.5, NumberHigh: 80.5, System: ucum, Code: "mm[Hg]"},
				{Param: "component-code-value-quantity", Type: storage.TypeQuantity, Group: 4, Component: 1, Number: 10665760, NumberLow: 10599099, NumberHigh: 10732421, System: ucum, Code: "g.m-1.s-2", Canonical: true},
			},
		},
		{
			name:     "element without every component adds no group",
			resource: `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"valueString":"high"}`,
			param:    "code-value-quantity",
			want:     nil,
		},
		{
			name:     "code and dateTime value",
			resource: `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"21112-8"}]},"valueDateTime":"1980-05"}`,
			param:    "code-value-date",
			want: []storage.IndexEntry{
				{Param: "code-value-date", Type: storage.TypeToken, Group: 1, Component: 0, System: "http://loinc.org", Code: "21112-8"},
				{Param: "code-value-date", Type: storage.TypeDate, Group: 1, Component: 1, Low: utc("1980-05-01T00:00:00Z"), High: utc("1980-05-31T23:59:59.999999999Z")},
			},
		},
		{
			name:     "relatesTo target and code",
			resource: `{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"url":"http://x"}}],"relatesTo":[{"code":"replaces","target":{"reference":"DocumentReference/old"}}]}`,
			param:    "relationship",
			want: []storage.IndexEntry{
				{Param: "relationship", Type: storage.TypeReference, Group: 1, Component: 0, Exact: "DocumentReference/old", RefType: "DocumentReference", RefID: "old"},
				{Param: "relationship", Type: storage.TypeToken, Group: 1, Component: 1, Code: "replaces"},
			},
		},
	})
}

func TestExtractGroupsUniquePerVersion(t *testing.T) {
	ix := newTestIndexer(t)
	r := decodeTestResource(t, `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[`+
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]","system":"http://unitsofmeasure.org"}},`+
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]","system":"http://unitsofmeasure.org"}}]}`)
	entries, err := ix.Extract("Observation", r)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[int]string{}
	for _, e := range entries {
		if e.Group == 0 {
			if e.Component != 0 {
				t.Errorf("entry %+v has a component position but no group", e)
			}
			continue
		}
		if p, ok := owner[e.Group]; ok && p != e.Param {
			t.Errorf("group %d is shared by %s and %s", e.Group, p, e.Param)
		}
		owner[e.Group] = e.Param
	}
	if len(owner) != 4 {
		t.Errorf("got %d composite groups, want 4 (combo-code-value-quantity twice, component-code-value-quantity twice)", len(owner))
	}
}

func TestExtractRejectsWrongType(t *testing.T) {
	ix := newTestIndexer(t)
	if _, err := ix.Extract("Patient", map[string]any{"resourceType": "Observation"}); err == nil {
		t.Error("Extract accepted an Observation as a Patient")
	}
	if _, err := ix.Extract("NoSuchType", map[string]any{"resourceType": "NoSuchType"}); err == nil {
		t.Error("Extract accepted an unknown resource type")
	}
}

func TestExtractConcurrent(t *testing.T) {
	ix := newTestIndexer(t)
	src := `{"resourceType":"Observation","id":"o","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},` +
		`"subject":{"reference":"Patient/1"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":5,"system":"http://unitsofmeasure.org","code":"mmol/L"}}`
	want, err := ix.Extract("Observation", decodeTestResource(t, src))
	if err != nil {
		t.Fatal(err)
	}

	results := make(chan []storage.IndexEntry, 8)
	for range 8 {
		go func() {
			got, err := ix.Extract("Observation", decodeTestResource(t, src))
			if err != nil {
				t.Error(err)
			}
			results <- got
		}()
	}
	for range 8 {
		got := <-results
		if len(got) != len(want) {
			t.Errorf("concurrent Extract returned %d entries, want %d", len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("concurrent Extract entry %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
}

// TestDateRangesMatchQueryParsing checks that a value indexed from a
// resource covers the same range as the same text given as a search value.
func TestDateRangesMatchQueryParsing(t *testing.T) {
	for _, s := range []string{
		"1970", "1970-02", "2024-02-29", "2020-03-04T10:15:30Z", "2020-03-04T10:15:30+02:00",
		"2020-03-04T10:15:30", "2020-03-04T23:15:30.250-05:00", "2020-03-04T10:15:30.123456Z",
	} {
		low, high, ok := temporalRange(s)
		if !ok {
			t.Errorf("temporalRange(%q) failed", s)
			continue
		}
		wantLow, wantHigh, err := ParseDateRange(s)
		if err != nil {
			t.Errorf("ParseDateRange(%q): %v", s, err)
			continue
		}
		if !low.Equal(wantLow) || !high.Equal(wantHigh) {
			t.Errorf("%q indexes as [%v, %v], searches as [%v, %v]", s, low, high, wantLow, wantHigh)
		}
	}
}
