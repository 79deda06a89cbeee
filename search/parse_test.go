package search

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

var testOptions = Options{BaseURL: "https://ward.example.org/fhir", DefaultCount: 20, MaxCount: 100}

func mustParse(t *testing.T, types []string, query string, opts Options) *Plan {
	t.Helper()
	params, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("parse query %q: %v", query, err)
	}
	plan, err := Parse(types, params, opts)
	if err != nil {
		t.Fatalf("Parse(%v, %q): %v", types, query, err)
	}
	return plan
}

func oneClause(t *testing.T, resourceType, query string) storage.Clause {
	t.Helper()
	plan := mustParse(t, []string{resourceType}, query, testOptions)
	if len(plan.Query.Filter) != 1 {
		t.Fatalf("%s?%s: %d clauses, want 1: %+v (warnings %v)", resourceType, query, len(plan.Query.Filter), plan.Query.Filter, plan.Warnings)
	}
	return plan.Query.Filter[0]
}

func utcInstant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseValues(t *testing.T) {
	yes := true
	tests := []struct {
		name  string
		rtype string
		query string
		want  storage.Clause
	}{
		{"string folds case and accents", "Patient", "name=M%C3%BCLLER",
			storage.Clause{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: "muller"}}}},
		{"string exact keeps text", "Patient", "name:exact=M%C3%BCller",
			storage.Clause{Param: "name", Type: storage.TypeString, Modifier: "exact", Values: []storage.Value{{Prefix: "eq", Text: "Müller"}}}},
		{"string contains", "Patient", "family:contains=ll",
			storage.Clause{Param: "family", Type: storage.TypeString, Modifier: "contains", Values: []storage.Value{{Prefix: "eq", Text: "ll"}}}},
		{"comma is OR and escaped comma is text", "Patient", `family=a\,b,c`,
			storage.Clause{Param: "family", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: "a,b"}, {Prefix: "eq", Text: "c"}}}},
		{"token code only", "Observation", "code=1234-5",
			storage.Clause{Param: "code", Type: storage.TypeToken, Values: []storage.Value{{Prefix: "eq", Code: "1234-5", AnySystem: true}}}},
		{"token system and code", "Observation", "code=http://loinc.org|1234-5",
			storage.Clause{Param: "code", Type: storage.TypeToken, Values: []storage.Value{{Prefix: "eq", System: "http://loinc.org", Code: "1234-5"}}}},
		{"token no system", "Observation", "code=|1234-5",
			storage.Clause{Param: "code", Type: storage.TypeToken, Values: []storage.Value{{Prefix: "eq", Code: "1234-5"}}}},
		{"token system only", "Observation", "code=http://loinc.org|",
			storage.Clause{Param: "code", Type: storage.TypeToken, Values: []storage.Value{{Prefix: "eq", System: "http://loinc.org"}}}},
		{"token escaped bar", "Patient", `identifier=urn:a|x\|y`,
			storage.Clause{Param: "identifier", Type: storage.TypeToken, Values: []storage.Value{{Prefix: "eq", System: "urn:a", Code: "x|y"}}}},
		{"token text", "Observation", "code:text=Blood%20Pressure",
			storage.Clause{Param: "code", Type: storage.TypeToken, Modifier: "text", Values: []storage.Value{{Prefix: "eq", Text: "blood pressure"}}}},
		{"token not", "Patient", "gender:not=male",
			storage.Clause{Param: "gender", Type: storage.TypeToken, Modifier: "not", Values: []storage.Value{{Prefix: "eq", Code: "male", AnySystem: true}}}},
		{"identifier of-type", "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053",
			storage.Clause{Param: "identifier", Type: storage.TypeToken, Modifier: "of-type", Values: []storage.Value{{Prefix: "eq", System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: "MR", Text: "446053"}}}},
		{"missing", "Patient", "birthdate:missing=true",
			storage.Clause{Param: "birthdate", Type: storage.TypeDate, Missing: &yes}},
		{"date year", "Patient", "birthdate=1970",
			storage.Clause{Param: "birthdate", Type: storage.TypeDate, Values: []storage.Value{{Prefix: "eq", Low: utcInstant("1970-01-01T00:00:00Z"), High: utcInstant("1970-12-31T23:59:59.999999999Z")}}}},
		{"date prefix and zone", "Observation", "date=ge2024-03-01T10:00:00%2B02:00",
			storage.Clause{Param: "date", Type: storage.TypeDate, Values: []storage.Value{{Prefix: "ge", Low: utcInstant("2024-03-01T08:00:00Z"), High: utcInstant("2024-03-01T08:00:00.999999999Z")}}}},
		{"number precision", "RiskAssessment", "probability=gt0.8",
			storage.Clause{Param: "probability", Type: storage.TypeNumber, Values: []storage.Value{{Prefix: "gt", Number: 0.8, NumberLow: 0.75, NumberHigh: 0.85}}}},
		{"quantity converts ucum", "Observation", "value-quantity=le250|http://unitsofmeasure.org|mg",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "le", System: "http://unitsofmeasure.org", Code: "g", Number: 0.25, NumberLow: 0.2495, NumberHigh: 0.2505, Canonical: true}}}},
		{"quantity any system", "Observation", "value-quantity=5.4||kg",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "eq", AnySystem: true, Code: "g", Number: 5400, NumberLow: 5350, NumberHigh: 5450, Canonical: true}}}},
		{"quantity without unit compares as written", "Observation", "value-quantity=gt7.0",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "gt", AnySystem: true, Number: 7, NumberLow: 6.95, NumberHigh: 7.05}}}},
		{"quantity other system compares as written", "Observation", "value-quantity=3|http://snomed.info/sct|258684004",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "eq", System: "http://snomed.info/sct", Code: "258684004", Number: 3, NumberLow: 2.5, NumberHigh: 3.5}}}},
		{"quantity Celsius compares as written", "Observation", "value-quantity=37.5|http://unitsofmeasure.org|Cel",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "eq", System: "http://unitsofmeasure.org", Code: "Cel", Number: 37.5, NumberLow: 37.45, NumberHigh: 37.55}}}},
		{"reference relative", "Observation", "subject=Patient/123",
			storage.Clause{Param: "subject", Type: storage.TypeReference, Values: []storage.Value{{Prefix: "eq", RefType: "Patient", RefID: "123"}}}},
		{"reference versioned", "Observation", "subject=Patient/123/_history/2",
			storage.Clause{Param: "subject", Type: storage.TypeReference, Values: []storage.Value{{Prefix: "eq", RefType: "Patient", RefID: "123", RefVersion: "2"}}}},
		{"reference absolute on this server", "Observation", "subject=https://ward.example.org/fhir/Patient/123",
			storage.Clause{Param: "subject", Type: storage.TypeReference, Values: []storage.Value{{Prefix: "eq", RefType: "Patient", RefID: "123"}}}},
		{"reference absolute elsewhere", "Observation", "subject=https://other.example.org/Patient/9",
			storage.Clause{Param: "subject", Type: storage.TypeReference, Values: []storage.Value{{Prefix: "eq", Text: "https://other.example.org/Patient/9"}}}},
		{"reference id with type modifier", "Observation", "subject:Patient=123",
			storage.Clause{Param: "subject", Type: storage.TypeReference, TargetType: "Patient", Values: []storage.Value{{Prefix: "eq", RefType: "Patient", RefID: "123"}}}},
		{"reference id with one target", "Patient", "organization=123",
			storage.Clause{Param: "organization", Type: storage.TypeReference, Values: []storage.Value{{Prefix: "eq", RefType: "Organization", RefID: "123"}}}},
		{"reference id with several targets", "Observation", "subject=123",
			storage.Clause{Param: "subject", Type: storage.TypeReference, Values: []storage.Value{{Prefix: "eq", RefID: "123"}}}},
		{"reference identifier", "Observation", "subject:identifier=urn:mrn|42",
			storage.Clause{Param: "subject", Type: storage.TypeReference, Modifier: "identifier", Values: []storage.Value{{Prefix: "eq", System: "urn:mrn", Code: "42"}}}},
		{"uri below", "ValueSet", "url:below=http://acme.org/fhir/",
			storage.Clause{Param: "url", Type: storage.TypeURI, Modifier: "below", Values: []storage.Value{{Prefix: "eq", Text: "http://acme.org/fhir/"}}}},
		{"composite", "Observation", "code-value-quantity=http://loinc.org|8480-6$gt100",
			storage.Clause{Param: "code-value-quantity", Type: storage.TypeComposite, Values: []storage.Value{{Prefix: "eq", Components: []storage.Value{
				{Prefix: "eq", System: "http://loinc.org", Code: "8480-6", Type: storage.TypeToken},
				{Prefix: "gt", AnySystem: true, Number: 100, NumberLow: 99.5, NumberHigh: 100.5, Type: storage.TypeQuantity},
			}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := oneClause(t, tc.rtype, tc.query)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("clause =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseChainAndHas(t *testing.T) {
	got := oneClause(t, "Observation", "subject:Patient.name=peter")
	want := storage.Clause{Param: "subject", Type: storage.TypeReference, TargetType: "Patient", Chain: &storage.Chain{
		TargetTypes: []string{"Patient"},
		Filter:      []storage.Clause{{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: "peter"}}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("typed chain =\n%+v\nwant\n%+v", got, want)
	}

	got = oneClause(t, "Observation", "patient.birthdate=1970")
	if got.Chain == nil || !reflect.DeepEqual(got.Chain.TargetTypes, []string{"Patient"}) || got.Chain.Filter[0].Type != storage.TypeDate {
		t.Errorf("single-target chain = %+v", got)
	}

	got = oneClause(t, "DiagnosticReport", "subject.name=peter")
	if got.Chain == nil || !reflect.DeepEqual(got.Chain.TargetTypes, []string{"Patient", "Location"}) {
		t.Errorf("untyped chain over the targets that have name = %+v", got.Chain)
	}

	got = oneClause(t, "Encounter", "subject:Patient.organization.name=acme")
	inner := got.Chain.Filter[0]
	if inner.Param != "organization" || inner.Chain == nil || inner.Chain.Filter[0].Param != "name" {
		t.Errorf("two-link chain = %+v", got)
	}

	got = oneClause(t, "Patient", "_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/1")
	if got.Has == nil || got.Has.Type != "Observation" || got.Has.Param != "patient" {
		t.Fatalf("_has = %+v", got)
	}
	nested := got.Has.Filter[0]
	if nested.Has == nil || nested.Has.Type != "AuditEvent" || nested.Has.Param != "entity" || nested.Has.Filter[0].Param != "agent" {
		t.Errorf("nested _has = %+v", nested)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		rtype string
		query string
		param string
		code  string
	}{
		{"bad date", "Patient", "birthdate=1970-13", "birthdate", "invalid"},
		{"unknown prefix", "Patient", "birthdate=xx1970", "birthdate", "invalid"},
		{"bad number", "RiskAssessment", "probability=0.8.1", "probability", "invalid"},
		{"unknown modifier", "Patient", "name:fuzzy=x", "name:fuzzy", "invalid"},
		{"modifier for another type", "Patient", "birthdate:exact=1970", "birthdate:exact", "invalid"},
		{"unsupported modifier", "Observation", "code:in=http://vs", "code:in", "not-supported"},
		{"missing not boolean", "Patient", "name:missing=maybe", "name:missing", "invalid"},
		{"token with two bars", "Observation", "code=a|b|c", "code", "invalid"},
		{"quantity with two parts", "Observation", "value-quantity=5|mg", "value-quantity", "invalid"},
		{"chain on a string", "Patient", "name.family=x", "name.family", "invalid"},
		{"ambiguous chain", "Observation", "focus.location=x", "focus.location", "invalid"},
		{"chain too deep", "Observation", "subject:Patient.organization.partof.partof.name=x", "subject:Patient.organization.partof.partof.name", "invalid"},
		{"chain target not allowed", "Observation", "subject:Medication.code=x", "subject:Medication.code", "invalid"},
		{"has on a non-reference", "Patient", "_has:Observation:code:status=final", "_has:Observation:code:status", "invalid"},
		{"bad _count", "Patient", "_count=-1", "_count", "invalid"},
		{"bad _total", "Patient", "_total=some", "_total", "invalid"},
		{"bad _summary", "Patient", "_summary=maybe", "_summary", "invalid"},
		{"bad _sort", "Patient", "_sort=nonsense", "_sort", "invalid"},
		{"bad _include", "Observation", "_include=Observation:code", "_include", "invalid"},
		{"bad _type", "", "_type=Unicorn", "_type", "invalid"},
		{"reference type mismatch", "Observation", "subject:Patient=Group/1", "subject:Patient", "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, _ := url.ParseQuery(tc.query)
			var types []string
			if tc.rtype != "" {
				types = []string{tc.rtype}
			}
			_, err := Parse(types, params, testOptions)
			pe, ok := err.(*ParamError)
			if !ok {
				t.Fatalf("Parse(%q) error = %v, want a *ParamError", tc.query, err)
			}
			if pe.Param != tc.param {
				t.Errorf("Param = %q, want %q (%s)", pe.Param, tc.param, pe.Message)
			}
			if pe.Code != tc.code {
				t.Errorf("Code = %q, want %q (%s)", pe.Code, tc.code, pe.Message)
			}
		})
	}
}

func TestParseUnknownLenientAndStrict(t *testing.T) {
	plan := mustParse(t, []string{"Patient"}, "nonsense=1&name=x&_text=foo", testOptions)
	if len(plan.Query.Filter) != 1 {
		t.Errorf("%d clauses, want only name", len(plan.Query.Filter))
	}
	if len(plan.Warnings) != 2 || plan.Warnings[0].Param != "_text" || plan.Warnings[1].Param != "nonsense" {
		t.Errorf("warnings = %v, want _text and nonsense", plan.Warnings)
	}
	if got := plan.Applied.Encode(); got != "_count=20&name=x" {
		t.Errorf("applied = %s", got)
	}

	strict := testOptions
	strict.Strict = true
	params, _ := url.ParseQuery("nonsense=1&name=x")
	_, err := Parse([]string{"Patient"}, params, strict)
	if pe, ok := err.(*ParamError); !ok || pe.Param != "nonsense" || pe.Code != "not-supported" {
		t.Errorf("strict error = %v", err)
	}
}

func TestParseResultParameters(t *testing.T) {
	plan := mustParse(t, []string{"Observation"}, "_sort=-date,code&_count=500&_total=accurate&_include=Observation:subject:Patient&_revinclude:iterate=Provenance:target&_elements=code,status&_page=abc", testOptions)
	wantSort := []storage.Sort{{Param: "date", Type: storage.TypeDate, Descending: true}, {Param: "code", Type: storage.TypeToken}}
	if !reflect.DeepEqual(plan.Query.Sort, wantSort) {
		t.Errorf("sort = %+v", plan.Query.Sort)
	}
	if plan.Query.Count != 100 {
		t.Errorf("count = %d, want the maximum 100", plan.Query.Count)
	}
	if plan.Query.Total != storage.TotalAccurate || plan.Query.Cursor != "abc" {
		t.Errorf("total, cursor = %s, %s", plan.Query.Total, plan.Query.Cursor)
	}
	if !reflect.DeepEqual(plan.Include, []Include{{SourceType: "Observation", Param: "subject", TargetType: "Patient"}}) {
		t.Errorf("include = %+v", plan.Include)
	}
	if !reflect.DeepEqual(plan.RevInclude, []Include{{SourceType: "Provenance", Param: "target", Iterate: true}}) {
		t.Errorf("revinclude = %+v", plan.RevInclude)
	}
	if !reflect.DeepEqual(plan.Elements, []string{"code", "status"}) {
		t.Errorf("elements = %v", plan.Elements)
	}

	count := mustParse(t, []string{"Patient"}, "_summary=count", testOptions)
	if !count.CountOnly || count.Query.Total != storage.TotalAccurate || count.Query.Count != 1 {
		t.Errorf("_summary=count plan = %+v", count.Query)
	}
	zero := mustParse(t, []string{"Patient"}, "_count=0", testOptions)
	if !zero.CountOnly {
		t.Error("_count=0 is not count-only")
	}
}

func TestParseSystemSearch(t *testing.T) {
	plan := mustParse(t, nil, "_type=Patient,Practitioner&name=smith&_lastUpdated=gt2024", testOptions)
	if !reflect.DeepEqual(plan.Query.Types, []string{"Patient", "Practitioner"}) {
		t.Errorf("types = %v", plan.Query.Types)
	}
	if len(plan.Query.Filter) != 2 {
		t.Errorf("filter = %+v", plan.Query.Filter)
	}

	all := mustParse(t, nil, "_id=a,b&name=x", testOptions)
	if len(all.Query.Filter) != 1 || all.Query.Filter[0].Param != "_id" || len(all.Warnings) != 1 {
		t.Errorf("search over all types: filter %+v, warnings %v", all.Query.Filter, all.Warnings)
	}
}

func TestSplitEscaped(t *testing.T) {
	got := splitEscaped(`a\,b,c\\,d`, ',')
	want := []string{`a\,b`, `c\\`, `d`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitEscaped = %q, want %q", got, want)
	}
	if u := unescape(`a\,b\$c\|d\\e\x`); u != `a,b$c|d\e\x` {
		t.Errorf("unescape = %q", u)
	}
}
