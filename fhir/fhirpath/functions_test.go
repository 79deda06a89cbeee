package fhirpath

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

const testPatientJSON = `{
  "resourceType": "Patient",
  "id": "p1",
  "contained": [{"resourceType": "Organization", "id": "org1", "name": "Clinic"}],
  "active": true,
  "name": [
    {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
    {"use": "usual", "given": ["Jim"]}
  ],
  "gender": "male",
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "multipleBirthInteger": 2,
  "managingOrganization": {"reference": "#org1"},
  "generalPractitioner": [{"reference": "Practitioner/pr1"}, {"reference": "https://example.org/fhir/Organization/o2/_history/3"}],
  "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}, "preferred": true}]
}`

const testObservationJSON = `{
  "resourceType": "Observation",
  "id": "o1",
  "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
  "subject": {"reference": "Patient/p1"},
  "effectiveDateTime": "2020-03-04T10:15:00+01:00",
  "valueQuantity": {"value": 185.0, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
  "component": [
    {"code": {"text": "systolic"}, "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
    {"code": {"text": "note"}, "valueString": "ok"}
  ]
}`

func decodeTestJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode test resource: %v", err)
	}
	return m
}

// functionCase is one expression with its expected result, written as
// the items' FHIRPath renderings, or an expected error.
type functionCase struct {
	expr    string
	want    []string
	wantErr bool
}

func runFunctionCases(t *testing.T, resource map[string]any, cases []functionCase, opts ...Option) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := Compile(tc.expr)
			var got Collection
			if err == nil {
				got, err = e.Evaluate(resource, opts...)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %s, want an error", formatCollection(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			rendered := make([]string, len(got))
			for i, n := range got {
				rendered[i] = n.String()
			}
			if strings.Join(rendered, "|") != strings.Join(tc.want, "|") || len(rendered) != len(tc.want) {
				t.Errorf("got %q, want %q", rendered, tc.want)
			}
		})
	}
}

func TestExistenceFunctions(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	runFunctionCases(t, p, []functionCase{
		{"name.empty()", []string{"false"}, false},
		{"name.suffix.empty()", []string{"true"}, false},
		{"name.exists()", []string{"true"}, false},
		{"name.exists(use = 'nickname')", []string{"false"}, false},
		{"name.all(given.exists())", []string{"true"}, false},
		{"name.all(family.exists())", []string{"false"}, false},
		{"{}.all(false)", []string{"true"}, false},
		{"(true | false).allTrue()", []string{"false"}, false},
		{"(true | false).anyTrue()", []string{"true"}, false},
		{"(false).allFalse()", []string{"true"}, false},
		{"(true).anyFalse()", []string{"false"}, false},
		{"(1 | 2).subsetOf(1 | 2 | 3)", []string{"true"}, false},
		{"(1 | 2 | 3).supersetOf(4)", []string{"false"}, false},
		{"name.given.count()", []string{"3"}, false},
		{"(1 | 1 | 2).count()", []string{"2"}, false},
		{"(1).combine(1).distinct()", []string{"1"}, false},
		{"(1).combine(1).isDistinct()", []string{"false"}, false},
		{"(1 | 'a').allTrue()", nil, true},
	})
}

func TestFilteringFunctions(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	runFunctionCases(t, p, []functionCase{
		{"name.where(use = 'usual').given", []string{"Jim"}, false},
		{"name.where(given.count() > 1).family", []string{"Chalmers"}, false},
		{"name.select(given.first())", []string{"Peter", "Jim"}, false},
		{"name.given.where($index = 1)", []string{"James"}, false},
		{"(1 | 2).select($this * 10)", []string{"10", "20"}, false},
		{"contained.repeat(name)", []string{"Clinic"}, false},
		{"children().ofType(HumanName).use", []string{"official", "usual"}, false},
		{"contained.ofType(Organization).id", []string{"org1"}, false},
		{"name.where(1 | 2)", nil, true},
	})
}

func TestSubsettingFunctions(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	runFunctionCases(t, p, []functionCase{
		{"name.given[1]", []string{"James"}, false},
		{"name.given[5]", nil, false},
		{"name.given.first()", []string{"Peter"}, false},
		{"name.given.last()", []string{"Jim"}, false},
		{"name.given.tail()", []string{"James", "Jim"}, false},
		{"name.given.skip(2)", []string{"Jim"}, false},
		{"name.given.take(2)", []string{"Peter", "James"}, false},
		{"name.given.take(0)", nil, false},
		{"gender.single()", []string{"male"}, false},
		{"name.single()", nil, true},
		{"(1 | 2 | 3).intersect(2 | 3 | 4)", []string{"2", "3"}, false},
		{"(1 | 2 | 3).exclude(2)", []string{"1", "3"}, false},
	})
}

func TestCombiningFunctions(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"(1 | 2).union(2 | 3)", []string{"1", "2", "3"}, false},
		{"(1 | 2).combine(2 | 3)", []string{"1", "2", "2", "3"}, false},
		{"(1 | 1.0)", []string{"1"}, false},
		{"{} | 'a'", []string{"a"}, false},
	})
}

func TestConversionFunctions(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"'yes'.toBoolean()", []string{"true"}, false},
		{"'maybe'.toBoolean()", nil, false},
		{"'12'.toInteger() + 1", []string{"13"}, false},
		{"'1.50'.toDecimal()", []string{"1.50"}, false},
		{"true.toDecimal()", []string{"1"}, false},
		{"1.5.toInteger()", nil, false},
		{"12.toString() & 'x'", []string{"12x"}, false},
		{"'2020-03'.toDate()", []string{"@2020-03"}, false},
		{"'2020-03-04T10:15:00Z'.toDateTime()", []string{"@2020-03-04T10:15:00Z"}, false},
		{"'10:15'.toTime()", []string{"@T10:15"}, false},
		{"'5 \\'mg\\''.toQuantity()", []string{"5 'mg'"}, false},
		{"'5 \\'g\\''.toQuantity('mg')", []string{"5000 'mg'"}, false},
		{"'abc'.convertsToInteger()", []string{"false"}, false},
		{"(1 | 2).toString()", nil, true},
		{"iif(true, 'a', 'b')", []string{"a"}, false},
		{"iif({}, 'a', 'b')", []string{"b"}, false},
		{"iif(false, 'a')", nil, false},
		{"iif('x', 'a', 'b')", nil, true},
	})
}

func TestStringFunctions(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"'abcdef'.indexOf('cd')", []string{"2"}, false},
		{"'abcdef'.indexOf('x')", []string{"-1"}, false},
		{"'abcdef'.substring(2, 3)", []string{"cde"}, false},
		{"'abcdef'.substring(4)", []string{"ef"}, false},
		{"'abcdef'.substring(9)", nil, false},
		{"'abc'.startsWith('ab')", []string{"true"}, false},
		{"'abc'.endsWith('bc')", []string{"true"}, false},
		{"'abc'.contains('d')", []string{"false"}, false},
		{"'Abc'.upper() & 'Abc'.lower()", []string{"ABCabc"}, false},
		{"'a-b-c'.replace('-', '+')", []string{"a+b+c"}, false},
		{"'2020-01'.matches('^[0-9]{4}-[0-9]{2}$')", []string{"true"}, false},
		{"'abc123'.replaceMatches('([a-z]+)([0-9]+)', '$2$1')", []string{"123abc"}, false},
		{"'héllo'.length()", []string{"5"}, false},
		{"'ab'.toChars()", []string{"a", "b"}, false},
		{"'  x  '.trim()", []string{"x"}, false},
		{"'a,b'.split(',')", []string{"a", "b"}, false},
		{"('a' | 'b').join('-')", []string{"a-b"}, false},
		{"'abc'.encode('base64').decode('base64')", []string{"abc"}, false},
		{"'x'.matches('(')", nil, true},
		{"1.startsWith('1')", nil, true},
	})
}

func TestMathFunctions(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"(-3).abs()", []string{"3"}, false},
		{"(-2.50).abs()", []string{"2.50"}, false},
		{"(-2 'mg').abs()", []string{"2 'mg'"}, false},
		{"2.1.ceiling()", []string{"3"}, false},
		{"(-2.1).floor()", []string{"-3"}, false},
		{"2.567.round(2)", []string{"2.57"}, false},
		{"(-2.5).round()", []string{"-3"}, false},
		{"2.9.truncate()", []string{"2"}, false},
		{"16.sqrt()", []string{"4"}, false},
		{"(-1).sqrt()", nil, false},
		{"2.power(10)", []string{"1024"}, false},
		{"8.log(2)", []string{"3"}, false},
		{"1.exp().round(5)", []string{"2.71828"}, false},
		{"'a'.abs()", nil, true},
	})
}

func TestArithmeticOperators(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"1 + 2 * 3", []string{"7"}, false},
		{"1.0 + 2", []string{"3.0"}, false},
		{"0.1 + 0.2 = 0.3", []string{"true"}, false},
		{"10 / 4", []string{"2.5"}, false},
		{"1 / 3", []string{"0.33333333"}, false},
		{"7 div 2", []string{"3"}, false},
		{"7 mod 2", []string{"1"}, false},
		{"1 / 0", nil, false},
		{"9223372036854775807 + 1", nil, false},
		{"'a' + 'b'", []string{"ab"}, false},
		{"'a' & {}", []string{"a"}, false},
		{"'a' - 'b'", nil, true},
		{"(1 | 2) + 1", nil, true},
		{"2 'mg' + 3 'mg'", []string{"5 'mg'"}, false},
		{"1 'g' + 500 'mg'", []string{"1.500 'g'"}, false},
		{"@2020-01-31 + 1 month", []string{"@2020-02-29"}, false},
		{"@2020-01-01T10:00:00Z - 90 minutes", []string{"@2020-01-01T08:30:00Z"}, false},
		{"@2020-01-01 + 1 'mo'", nil, true},
	})
}

func TestBooleanLogic(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"true and {}", nil, false},
		{"false and {}", []string{"false"}, false},
		{"true or {}", []string{"true"}, false},
		{"false or {}", nil, false},
		{"true xor false", []string{"true"}, false},
		{"true xor {}", nil, false},
		{"false implies {}", []string{"true"}, false},
		{"{} implies true", []string{"true"}, false},
		{"true implies {}", nil, false},
		{"{}.not()", nil, false},
		{"(1 | 2) and true", nil, true},
	})
}

func TestEqualityAndEquivalence(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"1 = 1.0", []string{"true"}, false},
		{"'a' = 'A'", []string{"false"}, false},
		{"'a  b' ~ 'A b'", []string{"true"}, false},
		{"1.2 ~ 1.21", []string{"true"}, false},
		{"{} = 1", nil, false},
		{"{} ~ {}", []string{"true"}, false},
		{"(1 | 2) = (1 | 2)", []string{"true"}, false},
		{"(1 | 2) ~ (2 | 1)", []string{"true"}, false},
		{"@2012 = @2012-01", nil, false},
		{"@2012 ~ @2012-01", []string{"false"}, false},
		{"@2012-01-01T10:00:00+01:00 = @2012-01-01T09:00:00Z", []string{"true"}, false},
		{"@T10:00 != @T10:00:00", nil, false},
		{"1 'm' = 100 'cm'", []string{"true"}, false},
		{"1 'm' = 1 'g'", nil, false},
		{"1 'mg/dL' = 10 'mg/L'", []string{"true"}, false},
		{"2 'h' = 120 'min'", []string{"true"}, false},
		{"1 year = 1 'a'", nil, false},
		{"1 day = 24 hours", []string{"true"}, false},
		{"(1 | 2) contains 2", []string{"true"}, false},
		{"3 in (1 | 2)", []string{"false"}, false},
	})
}

func TestComparisonOperators(t *testing.T) {
	runFunctionCases(t, nil, []functionCase{
		{"1 < 2", []string{"true"}, false},
		{"2.5 >= 2.50", []string{"true"}, false},
		{"'abc' < 'abd'", []string{"true"}, false},
		{"@2012-01-02 > @2012-01-01", []string{"true"}, false},
		{"@2012 < @2012-06", nil, false},
		{"@2011 < @2012-06", []string{"true"}, false},
		{"@2012-01-01T10:00:00Z < @2012-01-01T10:00:00.500Z", []string{"true"}, false},
		{"@2012-01-01T10:00:00Z < @2012-01-01T10:00:01", nil, false},
		{"@T10:00 < @T11", []string{"true"}, false},
		{"@2012-01-01 < @2012-01-01T10:00:00Z", nil, false},
		{"5 'mg' < 1 'g'", []string{"true"}, false},
		{"5 'mg' < 1 'm'", nil, true},
		{"1 < 'a'", nil, true},
		{"(1 | 2) < 3", nil, true},
	})
}

func TestTreeNavigation(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	runFunctionCases(t, p, []functionCase{
		{"name[1].children()", []string{"usual", "Jim"}, false},
		{"communication.descendants().ofType(code)", []string{"en"}, false},
		{"communication.descendants().count()", []string{"5"}, false},
		{"birthDate.children().url", []string{"http://hl7.org/fhir/StructureDefinition/patient-birthTime"}, false},
	})
}

func TestUtilityFunctions(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	var traced []string
	trace := WithTrace(func(name string, values Collection) {
		traced = append(traced, name+":"+values[0].String())
	})
	runFunctionCases(t, nil, []functionCase{
		{"now()", []string{"@2024-05-06T07:08:09.123Z"}, false},
		{"today()", []string{"@2024-05-06"}, false},
		{"timeOfDay()", []string{"@T07:08:09.123"}, false},
		{"today() < now()", nil, false},
		{"(1 | 2).trace('items').count()", []string{"2"}, false},
		{"(1 | 2 | 3).aggregate($this + $total, 0)", []string{"6"}, false},
		{"(3 | 1 | 2).sort()", []string{"1", "2", "3"}, false},
		{"(3 | 1 | 2).sort(-$this)", []string{"3", "2", "1"}, false},
		{"1.587.lowBoundary(2)", []string{"1.58"}, false},
		{"@2014.highBoundary(8)", []string{"@2014-12-31"}, false},
		{"@2014-01.precision()", []string{"6"}, false},
	}, WithNow(now), trace)
	if len(traced) != 1 || traced[0] != "items:1" {
		t.Errorf("trace saw %q, want [items:1]", traced)
	}
}

func TestTypeFunctions(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	runFunctionCases(t, p, []functionCase{
		{"gender is code", []string{"true"}, false},
		{"gender is string", []string{"true"}, false},
		{"gender.as(string)", nil, false},
		{"gender is System.String", []string{"false"}, false},
		{"multipleBirth is integer", []string{"true"}, false},
		{"multipleBirth.as(integer) + 1", []string{"3"}, false},
		{"Patient.is(DomainResource)", []string{"true"}, false},
		{"Patient.as(Resource).id", []string{"p1"}, false},
		{"1 is Integer", []string{"true"}, false},
		{"1 'mg' is Quantity", []string{"true"}, false},
		{"name.type().name", []string{"HumanName", "HumanName"}, false},
		{"true.type().namespace", []string{"System"}, false},
		{"gender is Gender", nil, true},
		{"name is HumanName", nil, true},
	})
}

func TestFHIRAdditions(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	runFunctionCases(t, p, []functionCase{
		{"birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", []string{"@1974-12-25T14:35:45-05:00"}, false},
		{"birthDate.extension(%`ext-patient-birthTime`).exists()", []string{"true"}, false},
		{"birthDate.hasValue()", []string{"true"}, false},
		{"name.hasValue()", []string{"false"}, false},
		{"birthDate.getValue()", []string{"@1974-12-25"}, false},
		{"managingOrganization.resolve().name", []string{"Clinic"}, false},
		{"managingOrganization.resolve() is Organization", []string{"true"}, false},
		{"generalPractitioner.resolve().ofType(Practitioner).id", []string{"pr1"}, false},
		{"generalPractitioner.where(resolve() is Organization).reference", []string{"https://example.org/fhir/Organization/o2/_history/3"}, false},
		{"%resource.id", []string{"p1"}, false},
		{"%context.gender", []string{"male"}, false},
		{"%ucum", []string{"http://unitsofmeasure.org"}, false},
		{"%loinc & '|' & %sct", []string{"http://loinc.org|http://snomed.info/sct"}, false},
		{"%`vs-administrative-gender`", []string{"http://hl7.org/fhir/ValueSet/administrative-gender"}, false},
		{"%threshold + 1", []string{"11"}, false},
		{"%undefined", nil, true},
		{"gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", nil, true},
	}, WithVariable("threshold", 10))
}

func TestChoiceTypes(t *testing.T) {
	o := decodeTestJSON(t, testObservationJSON)
	runFunctionCases(t, o, []functionCase{
		{"value.unit", []string{"lbs"}, false},
		{"(value as Quantity).value", []string{"185.0"}, false},
		{"value.ofType(Quantity).code", []string{"[lb_av]"}, false},
		{"value is Quantity", []string{"true"}, false},
		{"value.as(Period)", nil, false},
		{"value > 80 'kg'", []string{"true"}, false},
		{"value > 90 'kg'", []string{"false"}, false},
		{"component.value.ofType(string)", []string{"ok"}, false},
		{"component.value.ofType(Quantity).value", []string{"120"}, false},
		{"effective > @2020-03-04T09:00:00Z", []string{"true"}, false},
		{"effective.ofType(dateTime)", []string{"@2020-03-04T10:15:00+01:00"}, false},
		{"subject.where(resolve() is Patient).reference", []string{"Patient/p1"}, false},
		{"valueQuantity", nil, true},
		{"component.valueString", nil, true},
	})
}

func TestNodeAccessors(t *testing.T) {
	o := decodeTestJSON(t, testObservationJSON)
	got := mustEvaluate(t, "value", o)
	if len(got) != 1 {
		t.Fatalf("value gave %d items, want 1", len(got))
	}
	n := got[0]
	if n.TypeName() != "Quantity" || n.Path() != "Observation.value" {
		t.Errorf("value node = %s at %s, want Quantity at Observation.value", n.TypeName(), n.Path())
	}
	if _, ok := n.Value().(map[string]any); !ok {
		t.Errorf("Value() of a Quantity element is %T, want map[string]any", n.Value())
	}
	q, ok := n.Quantity()
	if !ok || q.Value.String() != "185.0" || q.Code != "[lb_av]" || q.System != UCUMSystem {
		t.Errorf("Quantity() = %+v, %v", q, ok)
	}

	eff := mustEvaluate(t, "effective", o)
	dt, ok := eff[0].Value().(DateTime)
	if !ok {
		t.Fatalf("effective value is %T, want DateTime", eff[0].Value())
	}
	low, high := dt.Range()
	if want := time.Date(2020, 3, 4, 9, 15, 0, 0, time.UTC); !low.Equal(want) {
		t.Errorf("range low = %v, want %v", low, want)
	}
	if want := time.Date(2020, 3, 4, 9, 15, 0, 999999999, time.UTC); !high.Equal(want) {
		t.Errorf("range high = %v, want %v", high, want)
	}
}

func TestTemporalRanges(t *testing.T) {
	cases := []struct {
		text      string
		low, high string
	}{
		{"1970", "1970-01-01T00:00:00Z", "1970-12-31T23:59:59.999999999Z"},
		{"2020-02", "2020-02-01T00:00:00Z", "2020-02-29T23:59:59.999999999Z"},
		{"2020-02-03", "2020-02-03T00:00:00Z", "2020-02-03T23:59:59.999999999Z"},
		{"2020-02-03T10:15:00+02:00", "2020-02-03T08:15:00Z", "2020-02-03T08:15:00.999999999Z"},
		{"2020-02-03T10:15:00.250Z", "2020-02-03T10:15:00.25Z", "2020-02-03T10:15:00.250999999Z"},
	}
	for _, tc := range cases {
		dt, err := ParseDateTime(tc.text)
		if err != nil {
			t.Fatalf("ParseDateTime(%q): %v", tc.text, err)
		}
		low, high := dt.Range()
		if got := low.Format(time.RFC3339Nano); got != tc.low {
			t.Errorf("%s: low = %s, want %s", tc.text, got, tc.low)
		}
		if got := high.Format(time.RFC3339Nano); got != tc.high {
			t.Errorf("%s: high = %s, want %s", tc.text, got, tc.high)
		}
		if dt.String() != tc.text {
			t.Errorf("String() = %q, want %q", dt.String(), tc.text)
		}
	}
	for _, bad := range []string{"2020-13", "2020-02-30", "20", "2020-01-01T25:00:00Z", "2020-01-01T10:00:00+15:00"} {
		if _, err := ParseDateTime(bad); err == nil {
			t.Errorf("ParseDateTime(%q) succeeded, want an error", bad)
		}
	}
}

func TestDecimalPrecision(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.0", "1.0"}, {"1", "1"}, {"-0.50", "-0.50"}, {"1.5e2", "150"}, {"1.25E-1", "0.125"},
	} {
		d, err := ParseDecimal(tc.in)
		if err != nil {
			t.Fatalf("ParseDecimal(%q): %v", tc.in, err)
		}
		if d.String() != tc.want {
			t.Errorf("ParseDecimal(%q) = %s, want %s", tc.in, d, tc.want)
		}
	}
	resource := decodeTestJSON(t, `{"resourceType": "Observation", "status": "final", "code": {}, "valueQuantity": {"value": 1.50}}`)
	got := mustEvaluate(t, "value.value", resource)
	if d, ok := got[0].Value().(*Decimal); !ok || d.String() != "1.50" {
		t.Errorf("value.value = %v, want the Decimal 1.50", got[0].Value())
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		expr  string
		pos   int
		token string
	}{
		{"name.given.", 11, "<end of expression>"},
		{"name..given", 5, "."},
		{"1 + + ", 6, "<end of expression>"},
		{"name.foo(1)", 5, "foo"},
		{"name.where()", 5, "where"},
		{"'unterminated", 0, "'unterminated"},
		{"name # 2", 5, "#"},
		{"@2020-13-01", 0, "@2020-13-01"},
		{"(1 + 2", 6, "<end of expression>"},
		{"name is string1", 8, "string1"},
	}
	for _, tc := range cases {
		_, err := Compile(tc.expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) error = %v, want *SyntaxError", tc.expr, err)
			continue
		}
		if se.Pos != tc.pos || se.Token != tc.token {
			t.Errorf("Compile(%q) error at %d near %q, want %d near %q (%v)", tc.expr, se.Pos, se.Token, tc.pos, tc.token, err)
		}
	}
}

func TestEvaluationErrorsAreTyped(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	_, err := MustCompile("name.single()").Evaluate(p)
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("error = %v, want *EvalError", err)
	}
	if !strings.Contains(ee.Error(), "single()") {
		t.Errorf("error %q does not name the function", ee.Error())
	}
}

func TestConcurrentEvaluation(t *testing.T) {
	p := decodeTestJSON(t, testPatientJSON)
	o := decodeTestJSON(t, testObservationJSON)
	e := MustCompile("descendants().ofType(code).count() + descendants().ofType(Quantity).count()")
	var wg sync.WaitGroup
	results := make([]string, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p
			if i%2 == 1 {
				r = o
			}
			got, err := e.Evaluate(r)
			if err != nil {
				results[i] = err.Error()
				return
			}
			results[i] = got[0].String()
		}()
	}
	wg.Wait()
	for i, r := range results {
		// Patient: use twice, gender, the language code. Observation:
		// status, the Coding code, two Quantity codes, two Quantity elements.
		want := "4"
		if i%2 == 1 {
			want = "6"
		}
		if r != want {
			t.Errorf("goroutine %d got %s, want %s", i, r, want)
		}
	}
}

func TestExpressionString(t *testing.T) {
	src := "Patient.name.where(use = 'official')"
	if got := MustCompile(src).String(); got != src {
		t.Errorf("String() = %q, want %q", got, src)
	}
}

func TestResolveInsideBundle(t *testing.T) {
	bundle := decodeTestJSON(t, `{
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p", "gender": "female"}},
    {"fullUrl": "urn:uuid:o", "resource": {"resourceType": "Observation", "status": "final", "code": {},
      "subject": {"reference": "urn:uuid:p"}, "performer": [{"reference": "#pr"}],
      "contained": [{"resourceType": "Practitioner", "id": "pr", "active": true}]}},
    {"resource": {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {}, "subject": {"reference": "Patient/p"}}}
  ]}`)
	runFunctionCases(t, bundle, []functionCase{
		{"entry.resource.ofType(Observation).subject.resolve().gender", []string{"female"}, false},
		{"entry.resource.ofType(Encounter).subject.resolve().gender", []string{"female"}, false},
		{"entry.resource.ofType(Observation).performer.resolve().active", []string{"true"}, false},
		{"entry.resource.ofType(Observation).subject.resolve() is Patient", []string{"true"}, false},
	})

	resolver := WithResolver(func(ref string) map[string]any {
		if ref == "Organization/x" {
			return map[string]any{"resourceType": "Organization", "id": "x", "name": "External"}
		}
		return nil
	})
	p := decodeTestJSON(t, `{"resourceType": "Patient", "managingOrganization": {"reference": "Organization/x"}}`)
	runFunctionCases(t, p, []functionCase{
		{"managingOrganization.resolve().name", []string{"External"}, false},
	}, resolver)
}
