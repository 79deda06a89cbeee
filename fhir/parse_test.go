package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// issueKey is what a rejection case asserts about each issue.
type issueKey struct {
	Code       string
	Expression string
}

func keysOf(issues []Issue) []issueKey {
	keys := make([]issueKey, 0, len(issues))
	for _, issue := range issues {
		keys = append(keys, issueKey{issue.Code, strings.Join(issue.Expression, ",")})
	}
	slices.SortFunc(keys, func(a, b issueKey) int {
		return strings.Compare(a.Code+" "+a.Expression, b.Code+" "+b.Expression)
	})
	return keys
}

func parseInvalid(t *testing.T, body string) *InvalidError {
	t.Helper()
	res, err := ParseResource([]byte(body), DefaultLimits())
	if err == nil {
		t.Fatalf("ParseResource accepted %s as %s", body, res.Type)
	}
	var invalidErr *InvalidError
	if !errors.As(err, &invalidErr) {
		t.Fatalf("ParseResource error is %T (%v), want *InvalidError", err, err)
	}
	for _, issue := range invalidErr.Issues {
		if issue.Severity != "error" {
			t.Errorf("issue %+v: severity %q, want error", issue, issue.Severity)
		}
		if issue.Diagnostics == "" {
			t.Errorf("issue %+v has no diagnostics", issue)
		}
	}
	return invalidErr
}

const (
	obsHead = `{"resourceType":"Observation","status":"final","code":{"text":"glucose"}`
)

// narrative returns a Patient whose text.div is div.
func narrative(div string) string {
	quoted, _ := json.Marshal(div)
	return `{"resourceType":"Patient","text":{"status":"generated","div":` + string(quoted) + `}}`
}

func TestParseResourceRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []issueKey
	}{
		// Steps before jsonformat.
		{"empty body", ``, []issueKey{{"structure", ""}}},
		{"whitespace body", " \n\t ", []issueKey{{"structure", ""}}},
		{"syntax error", `{"resourceType":"Patient",}`, []issueKey{{"structure", ""}}},
		{"truncated", `{"resourceType":"Patient"`, []issueKey{{"structure", ""}}},
		{"data after value", `{"resourceType":"Patient"} {}`, []issueKey{{"structure", ""}}},
		{"invalid utf-8", "{\"resourceType\":\"Patient\",\"gender\":\"\xff\"}", []issueKey{{"structure", ""}}},
		{"top level array", `[{"resourceType":"Patient"}]`, []issueKey{{"structure", ""}}},
		{"top level string", `"Patient"`, []issueKey{{"structure", ""}}},
		{"missing resourceType", `{"id":"x"}`, []issueKey{{"required", ""}}},
		{"resourceType not string", `{"resourceType":1}`, []issueKey{{"value", ""}}},
		{"resourceType unknown", `{"resourceType":"Patients"}`, []issueKey{{"value", ""}}},
		{"resourceType wrong case", `{"resourceType":"patient"}`, []issueKey{{"value", ""}}},
		{"resourceType abstract", `{"resourceType":"DomainResource"}`, []issueKey{{"value", ""}}},
		{"duplicate top-level key", `{"resourceType":"Patient","active":true,"active":false}`,
			[]issueKey{{"structure", "Patient.active"}}},
		{"duplicate nested key", `{"resourceType":"Patient","name":[{"family":"a"},{"family":"b","family":"c"}]}`,
			[]issueKey{{"structure", "Patient.name[1].family"}}},
		{"duplicate choice key", obsHead + `,"valueString":"a","valueString":"b"}`,
			[]issueKey{{"structure", "Observation.value.ofType(string)"}}},
		{"duplicate keys reported together", `{"resourceType":"Patient","id":"a","id":"b","gender":"male","gender":"female"}`,
			[]issueKey{{"structure", "Patient.gender"}, {"structure", "Patient.id"}}},
		{"duplicate key in contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":"a","name":"b"}]}`,
			[]issueKey{{"structure", "Patient.contained[0].name"}}},

		{"duplicate choice key in contained", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","valueString":"b"}]}`,
			[]issueKey{{"structure", "Patient.contained[0].value.ofType(string)"}}},

		// Found by jsonformat.
		{"resourceType in a data type", `{"resourceType":"Patient","name":[{"resourceType":"Patient","family":"x"}]}`,
			[]issueKey{{"structure", "Patient.name[0].resourceType"}}},

		{"unknown element", `{"resourceType":"Patient","foo":1}`, []issueKey{{"structure", "Patient.foo"}}},
		{"unknown nested element", `{"resourceType":"Patient","name":[{"surname":"x"}]}`,
			[]issueKey{{"structure", "Patient.name[0].surname"}}},
		{"unknown choice type", obsHead + `,"valueFoo":1}`, []issueKey{{"structure", "Observation.valueFoo"}}},
		{"unknown element in primitive extension", `{"resourceType":"Patient","_birthDate":{"foo":1}}`,
			[]issueKey{{"structure", "Patient.birthDate.foo"}}},
		{"unknown element in contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","foo":1}]}`,
			[]issueKey{{"structure", "Patient.contained[0].foo"}}},
		{"unknown element in bundle entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","foo":1}}]}`,
			[]issueKey{{"structure", "Bundle.entry[0].resource.foo"}}},
		{"array for single element", `{"resourceType":"Patient","gender":["male"]}`,
			[]issueKey{{"structure", "Patient.gender"}}},
		{"array for single complex element", `{"resourceType":"Patient","maritalStatus":[{"text":"x"}]}`,
			[]issueKey{{"structure", "Patient.maritalStatus"}}},
		{"object for repeating element", `{"resourceType":"Patient","name":{"family":"x"}}`,
			[]issueKey{{"structure", "Patient.name"}}},
		{"scalar for repeating primitive", `{"resourceType":"Patient","name":[{"given":"x"}]}`,
			[]issueKey{{"structure", "Patient.name[0].given"}}},
		{"string for complex element", `{"resourceType":"Patient","name":["x"]}`,
			[]issueKey{{"structure", "Patient.name[0]"}}},
		{"date month out of range", `{"resourceType":"Patient","birthDate":"1990-13-01"}`,
			[]issueKey{{"value", "Patient.birthDate"}}},
		{"date day out of range", `{"resourceType":"Patient","birthDate":"2023-02-29"}`,
			[]issueKey{{"value", "Patient.birthDate"}}},
		{"date with time", `{"resourceType":"Patient","birthDate":"1990-01-01T10:00:00Z"}`,
			[]issueKey{{"value", "Patient.birthDate"}}},
		{"dateTime without zone", obsHead + `,"effectiveDateTime":"2020-01-01T10:00:00"}`,
			[]issueKey{{"value", "Observation.effective.ofType(dateTime)"}}},
		{"instant without time", obsHead + `,"issued":"2020-01-01"}`,
			[]issueKey{{"value", "Observation.issued"}}},
		{"meta lastUpdated year only", `{"resourceType":"Patient","meta":{"lastUpdated":"2020"}}`,
			[]issueKey{{"value", "Patient.meta.lastUpdated"}}},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`,
			[]issueKey{{"value", "Patient.active"}}},
		{"string as number", `{"resourceType":"Patient","name":[{"given":["a",1]}]}`,
			[]issueKey{{"value", "Patient.name[0].given[1]"}}},
		{"decimal as string", obsHead + `,"valueQuantity":{"value":"1.5"}}`,
			[]issueKey{{"value", "Observation.value.ofType(Quantity).value"}}},
		{"integer with fraction", `{"resourceType":"Patient","multipleBirthInteger":2.5}`,
			[]issueKey{{"value", "Patient.multipleBirth.ofType(integer)"}}},
		{"integer out of range", `{"resourceType":"Patient","multipleBirthInteger":2147483648}`,
			[]issueKey{{"value", "Patient.multipleBirth.ofType(integer)"}}},
		{"unsignedInt zero accepted", `{"resourceType":"Patient","photo":[{"size":0}]}`, nil},
		{"positiveInt zero", `{"resourceType":"Patient","contact":[{"period":{"start":"2020"}}],"communication":[{"language":{"text":"x"}}],"photo":[{"size":-1}]}`, []issueKey{{"value", "Patient.photo[0].size"}}},
		{"positiveInt zero in Timing", obsHead + `,"effectiveTiming":{"repeat":{"count":0}}}`, []issueKey{{"value", "Observation.effective.ofType(Timing).repeat.count"}}},
		{"invalid base64", `{"resourceType":"Patient","photo":[{"data":"!!!"}]}`,
			[]issueKey{{"value", "Patient.photo[0].data"}}},
		{"code not in required value set", `{"resourceType":"Patient","gender":"unknown-ish"}`,
			[]issueKey{{"code-invalid", "Patient.gender"}}},
		{"id with space", `{"resourceType":"Patient","id":"a b"}`, []issueKey{{"value", "Patient.id"}}},
		{"id too long", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`,
			[]issueKey{{"value", "Patient.id"}}},
		{"id with underscore", `{"resourceType":"Patient","id":"a_b"}`, []issueKey{{"value", "Patient.id"}}},
		{"id not a string", `{"resourceType":"Patient","id":12}`, []issueKey{{"value", "Patient.id"}}},
		{"meta versionId invalid", `{"resourceType":"Patient","meta":{"versionId":"1 2"}}`,
			[]issueKey{{"value", "Patient.meta.versionId"}}},
		{"code with double space", `{"resourceType":"Patient","maritalStatus":{"coding":[{"code":"a  b"}]}}`,
			[]issueKey{{"value", "Patient.maritalStatus.coding[0].code"}}},
		{"control character in string", obsHead + `,"valueString":"a\u0001b"}`,
			[]issueKey{{"value", "Observation.value.ofType(string)"}}},
		{"invalid uri", `{"resourceType":"Patient","identifier":[{"system":"http://x/%zz"}]}`,
			[]issueKey{{"value", "Patient.identifier[0].system"}}},
		{"two types for choice", obsHead + `,"valueQuantity":{"value":1},"valueString":"x"}`,
			[]issueKey{{"structure", "Observation.value"}}},
		{"value and extension arrays differ", `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[{"id":"x"}]}]}`,
			[]issueKey{{"structure", "Patient.name[0].given"}}},
		{"required element missing", `{"resourceType":"Observation","code":{"text":"x"}}`,
			[]issueKey{{"required", "Observation.status"}}},
		{"required backbone elements missing", `{"resourceType":"Patient","link":[{"type":"seealso"}]}`,
			[]issueKey{{"required", "Patient.link[0].other"}}},
		{"required choice missing", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}}`,
			[]issueKey{{"required", "MedicationRequest.medication"}}},
		{"extension without url", `{"resourceType":"Patient","extension":[{"valueString":"x"}]}`,
			[]issueKey{{"required", "Patient.extension[0].url"}}},
		{"extension with two values", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"x","valueBoolean":true}]}`,
			[]issueKey{{"structure", "Patient.extension[0].value"}}},
		{"reference to wrong type", `{"resourceType":"Patient","managingOrganization":{"reference":"Patient/2"}}`,
			[]issueKey{{"invalid", "Patient.managingOrganization"}}},
		{"reference in choice to wrong type", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"},"medicationReference":{"reference":"Patient/1"}}`,
			[]issueKey{{"invalid", "MedicationRequest.medication.ofType(Reference)"}}},
		{"contained without resourceType", `{"resourceType":"Patient","contained":[{"id":"x"}]}`,
			[]issueKey{{"required", "Patient.contained[0]"}}},
		{"contained unknown type", `{"resourceType":"Patient","contained":[{"resourceType":"Nope"}]}`,
			[]issueKey{{"value", "Patient.contained[0]"}}},
		{"every problem reported", `{"resourceType":"Observation","code":{"text":"x"},"foo":1,"valueQuantity":{"value":"1"},"subject":{"reference":"Medication/1"},"id":"a b"}`,
			[]issueKey{
				{"invalid", "Observation.subject"},
				{"required", "Observation.status"},
				{"structure", "Observation.foo"},
				{"value", "Observation.id"},
				{"value", "Observation.value.ofType(Quantity).value"},
			}},
		{"removed element not reported as missing", `{"resourceType":"Observation","status":"done","code":{"text":"x"}}`,
			[]issueKey{{"code-invalid", "Observation.status"}}},

		// Found by Ward's checks because jsonformat accepts them.
		{"upper-case element name", `{"resourceType":"Patient","Active":true}`,
			[]issueKey{{"structure", "Patient.Active"}}},
		{"empty array", `{"resourceType":"Patient","name":[]}`, []issueKey{{"structure", "Patient.name"}}},
		{"empty object", `{"resourceType":"Patient","name":[{}]}`, []issueKey{{"structure", "Patient.name[0]"}}},
		{"empty string", `{"resourceType":"Patient","name":[{"family":""}]}`,
			[]issueKey{{"value", "Patient.name[0].family"}}},
		{"null complex element", `{"resourceType":"Patient","maritalStatus":null}`,
			[]issueKey{{"structure", "Patient.maritalStatus"}}},
		{"null array item", `{"resourceType":"Patient","name":[null]}`,
			[]issueKey{{"structure", "Patient.name[0]"}}},
		{"null without partner", `{"resourceType":"Patient","name":[{"given":["a",null]}]}`,
			[]issueKey{{"structure", "Patient.name[0].given[1]"}}},
		{"null in both arrays", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}`,
			[]issueKey{{"structure", "Patient.name[0].given[1]"}}},
		{"null primitive", `{"resourceType":"Patient","birthDate":null}`,
			[]issueKey{{"structure", "Patient.birthDate"}}},
		{"paired null accepted", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`, nil},
		{"paired null with extension accepted", `{"resourceType":"Patient","name":[{"given":[null,"b"],"_given":[{"extension":[{"url":"http://x","valueCode":"masked"}]},null]}]}`, nil},
		{"paired null in enum code array accepted", `{"resourceType":"Questionnaire","status":"draft","subjectType":["Patient",null],"_subjectType":[null,{"id":"s"}]}`, nil},
		{"paired null in contained accepted", `{"resourceType":"Patient","contained":[{"resourceType":"Patient","name":[{"given":[null],"_given":[{"id":"x"}]}]}]}`, nil},
		{"contained with paired null still validated", `{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"a b","name":[{"given":[null],"_given":[{"id":"x"}]}]}]}`,
			[]issueKey{{"value", "Patient.contained[0].id"}}},
		{"paired null extension still validated", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"foo":1}]}]}`,
			[]issueKey{{"structure", "Patient.name[0].given[1].foo"}}},
		{"extension with value and extensions", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"x","extension":[{"url":"y","valueString":"z"}]}]}`,
			[]issueKey{{"invariant", "Patient.extension[0]"}}},
		{"extension with neither", `{"resourceType":"Patient","extension":[{"url":"http://x"}]}`,
			[]issueKey{{"invariant", "Patient.extension[0]"}}},
		{"modifier extension with neither", `{"resourceType":"Patient","modifierExtension":[{"url":"http://x"}]}`,
			[]issueKey{{"invariant", "Patient.modifierExtension[0]"}}},
		{"extension on primitive with neither", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x"}]}}`,
			[]issueKey{{"invariant", "Patient.birthDate.extension[0]"}}},
		{"contained required element", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","code":{"text":"x"}}]}`,
			[]issueKey{{"required", "Patient.contained[0].status"}}},
		{"contained invalid id", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"a b","name":"x"}]}`,
			[]issueKey{{"value", "Patient.contained[0].id"}}},
		{"contained nested contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","contained":[{"resourceType":"Organization","id":"p"}]}]}`,
			[]issueKey{{"invariant", "Patient.contained[0].contained"}}},
		{"contained with versionId", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","meta":{"versionId":"1"}}]}`,
			[]issueKey{{"invariant", "Patient.contained[0].meta.versionId"}}},
		{"contained with security label", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","meta":{"security":[{"code":"R"}]}}]}`,
			[]issueKey{{"invariant", "Patient.contained[0].meta.security"}}},
		{"reference with invalid id", `{"resourceType":"Patient","managingOrganization":{"reference":"Organization/a b"}}`,
			[]issueKey{{"value", "Patient.managingOrganization.reference"}}},
		{"reference with empty id", `{"resourceType":"Patient","managingOrganization":{"reference":"Organization/"}}`,
			[]issueKey{{"value", "Patient.managingOrganization.reference"}}},
		{"reference with invalid version", `{"resourceType":"Patient","managingOrganization":{"reference":"Organization/1/_history/a_b"}}`,
			[]issueKey{{"value", "Patient.managingOrganization.reference"}}},
		{"reference forms accepted", `{"resourceType":"Patient","generalPractitioner":[{"reference":"Practitioner/p-1.x/_history/2"},{"reference":"urn:uuid:9b1c3a3e-1b4f-4b8e-9a53-0d2f6f1c1a11"},{"reference":"http://example.org/fhir/Practitioner/a b"},{"reference":"Practitioner?identifier=http://x|1"},{"reference":"Unknown/a b"}]}`,
			nil},
		{"outcome resource checked", `{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","Details":{"text":"x"}}]}}}]}`,
			[]issueKey{{"structure", "Bundle.entry[0].response.outcome.issue[0].Details"}}},
		{"narrative script element", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative event handler", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p></div>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative javascript link", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><a href=" JavaScript:x()">a</a></div>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative not well-formed", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><p>a</div>`),
			[]issueKey{{"value", "Patient.text.div"}}},
		{"narrative plain text", narrative(`just text`), []issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative without namespace", narrative(`<div>a</div>`), []issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative root not div", narrative(`<p xmlns="http://www.w3.org/1999/xhtml">a</p>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative empty", narrative(`<div xmlns="http://www.w3.org/1999/xhtml">  </div>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative form element", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><form><input/></form></div>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"narrative two roots", narrative(`<div xmlns="http://www.w3.org/1999/xhtml">a</div><div xmlns="http://www.w3.org/1999/xhtml">b</div>`),
			[]issueKey{{"invariant", "Patient.text.div"}}},
		{"contained narrative script", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script/>x</div>"}}]}`,
			[]issueKey{{"invariant", "Patient.contained[0].text.div"}}},
		{"narrative accepted", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><table><tr><td>&nbsp;<b>x</b></td></tr></table><img src="#pic"/></div>`),
			nil},
		{"narrative image only", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><img src="data:image/png;base64,AAAA" alt=""/></div>`),
			nil},
		{"bundle entry resource required element", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","link":[{"type":"seealso"}]}}]}`,
			[]issueKey{{"required", "Bundle.entry[0].resource.link[0].other"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				if _, err := ParseResource([]byte(tt.body), DefaultLimits()); err != nil {
					t.Fatalf("ParseResource rejected a valid body: %v", err)
				}
				return
			}
			got := keysOf(parseInvalid(t, tt.body).Issues)
			want := keysOf(nil)
			for _, w := range tt.want {
				want = append(want, w)
			}
			slices.SortFunc(want, func(a, b issueKey) int {
				return strings.Compare(a.Code+" "+a.Expression, b.Code+" "+b.Expression)
			})
			if !slices.Equal(got, want) {
				t.Errorf("issues = %v, want %v\nbody: %s\nerror: %v", got, want, tt.body, parseInvalid(t, tt.body))
			}
		})
	}
}

func TestParseResourceDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"date month", `{"resourceType":"Patient","birthDate":"1990-13-01"}`, `invalid value "1990-13-01" for date: month out of range`},
		{"date day", `{"resourceType":"Patient","birthDate":"2023-02-29"}`, `invalid value "2023-02-29" for date: day out of range`},
		{"dateTime zone", obsHead + `,"effectiveDateTime":"2020-01-01T10:00:00"}`, `for dateTime: a dateTime with a time of day must have a time zone`},
		{"dateTime hour", obsHead + `,"effectiveDateTime":"2020-01-01T25:00:00Z"}`, `for dateTime: hour out of range`},
		{"id format", `{"resourceType":"Patient","id":"a b"}`, `invalid value "a b" for id: must match [A-Za-z0-9\-\.]{1,64}`},
		{"id length", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, `is 65 characters long; an id has at most 64`},
		{"code value set", `{"resourceType":"Patient","gender":"xx"}`, `invalid value "xx" for code: not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender`},
		{"decimal string", obsHead + `,"valueQuantity":{"value":"1.5"}}`, `invalid value "1.5" for decimal: must be a JSON number`},
		{"unknown element", `{"resourceType":"Patient","foo":1}`, `unknown element "foo" in Patient`},
		{"duplicate key", `{"resourceType":"Patient","active":true,"active":false}`, `duplicate JSON key "active" at Patient.active`},
		{"syntax offset", `{"resourceType":"Patient",}`, `invalid JSON at byte offset 27`},
		{"trailing data offset", `{"resourceType":"Patient"}  x`, `invalid JSON at byte offset 28: data after the top-level value`},
		{"utf-8 offset", "{\"resourceType\":\"Patient\",\"id\":\"\xff\"}", `invalid UTF-8 at byte offset 32`},
		{"reference type", `{"resourceType":"Patient","managingOrganization":{"reference":"Patient/2"}}`,
			`reference "Patient/2" points to a resource of type Patient, but Patient.managingOrganization may only refer to Organization`},
		{"choice two values", obsHead + `,"valueQuantity":{"value":1},"valueString":"x"}`, `(valueQuantity, valueString)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			invalidErr := parseInvalid(t, tt.body)
			var all []string
			for _, issue := range invalidErr.Issues {
				all = append(all, issue.Diagnostics)
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("diagnostics %q do not contain %q", all, tt.want)
			}
		})
	}
}

func TestParseResourceAccepts(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		wantID string
	}{
		{"minimal patient", `{"resourceType":"Patient"}`, ""},
		{"patient with id", `{"resourceType":"Patient","id":"pat-1.a"}`, "pat-1.a"},
		{"id of 64 characters", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 64) + `"}`, strings.Repeat("a", 64)},
		{"byte order mark", "\uFEFF{\"resourceType\":\"Patient\"}", ""},
		{"surrounding whitespace", " \n{\"resourceType\":\"Patient\"}\n ", ""},
		{"decimal with exponent", obsHead + `,"valueQuantity":{"value":1e2}}`, ""},
		{"negative integer", `{"resourceType":"Patient","multipleBirthInteger":-1}`, ""},
		{"dateTime with zone", obsHead + `,"effectiveDateTime":"2020-01-01T10:00:00+14:00"}`, ""},
		{"partial dates", `{"resourceType":"Patient","birthDate":"1990-02"}`, ""},
		{"leap day", `{"resourceType":"Patient","birthDate":"2024-02-29"}`, ""},
		{"primitive extension only", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]}}`, ""},
		{"nested extensions", `{"resourceType":"Patient","extension":[{"url":"http://x","extension":[{"url":"y","valueString":"z"}]}]}`, ""},
		{"contained referenced", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}],"managingOrganization":{"reference":"#o1"}}`, ""},
		{"absolute reference", `{"resourceType":"Patient","managingOrganization":{"reference":"http://example.org/fhir/Organization/1"}}`, ""},
		{"narrative", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`, ""},
		{"html characters kept", `{"resourceType":"Patient","name":[{"text":"<b>&amp;</b>"}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ParseResource([]byte(tt.body), DefaultLimits())
			if err != nil {
				t.Fatalf("ParseResource: %v", err)
			}
			if res.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", res.ID, tt.wantID)
			}
			if res.Type != res.Object["resourceType"] {
				t.Errorf("Type = %q, object resourceType = %v", res.Type, res.Object["resourceType"])
			}
		})
	}
}

func TestParseResourceTooLarge(t *testing.T) {
	body := []byte(`{"resourceType":"Patient"}`)
	_, err := ParseResource(body, Limits{MaxBytes: int64(len(body)) - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
	var invalidErr *InvalidError
	if errors.As(err, &invalidErr) {
		t.Errorf("too large body also reported as *InvalidError")
	}
	if _, err := ParseResource(body, Limits{MaxBytes: int64(len(body))}); err != nil {
		t.Errorf("body of exactly MaxBytes rejected: %v", err)
	}
}

func TestParseResourceDepth(t *testing.T) {
	nested := func(levels int) string {
		// Each extension level adds an array and an object.
		inner := `{"url":"http://x","valueString":"v"}`
		for i := 0; i < levels; i++ {
			inner = `{"url":"http://x","extension":[` + inner + `]}`
		}
		return `{"resourceType":"Patient","extension":[` + inner + `]}`
	}
	// Depth: resource 1, extension array 2, each level 2 more, innermost object.
	body := nested(5) // depth 1 + 1 + 2*5 + 1 = 13
	if _, err := ParseResource([]byte(body), Limits{MaxDepth: 13}); err != nil {
		t.Fatalf("depth 13 with MaxDepth 13 rejected: %v", err)
	}
	invalidErr := parseInvalidWith(t, body, Limits{MaxDepth: 12})
	if got := keysOf(invalidErr.Issues); len(got) != 1 || got[0].Code != "too-costly" {
		t.Fatalf("issues = %v, want one too-costly issue", got)
	}
	wantExpr := "Patient.extension[0]" + strings.Repeat(".extension[0]", 5)
	if got := strings.Join(invalidErr.Issues[0].Expression, ","); got != wantExpr {
		t.Errorf("expression = %q, want %q", got, wantExpr)
	}

	// Depth is checked before duplicates, as ParseResource documents.
	deepAndDuplicate := `{"resourceType":"Patient","active":true,"active":true,"extension":[{"url":"x","extension":[{"url":"y","valueString":"z"}]}]}`
	invalidErr = parseInvalidWith(t, deepAndDuplicate, Limits{MaxDepth: 3})
	if got := keysOf(invalidErr.Issues); len(got) != 1 || got[0].Code != "too-costly" {
		t.Errorf("issues = %v, want only the depth issue", got)
	}
}

func parseInvalidWith(t *testing.T, body string, limits Limits) *InvalidError {
	t.Helper()
	_, err := ParseResource([]byte(body), limits)
	var invalidErr *InvalidError
	if !errors.As(err, &invalidErr) {
		t.Fatalf("error = %v, want *InvalidError", err)
	}
	return invalidErr
}

func TestParseResourceIssueOrderStable(t *testing.T) {
	body := `{"resourceType":"Patient","a1":1,"b2":2,"c3":3,"d4":4,"birthDate":"x","gender":"y","active":"z"}`
	first := fmt.Sprint(parseInvalid(t, body).Issues)
	for i := 0; i < 20; i++ {
		if got := fmt.Sprint(parseInvalid(t, body).Issues); got != first {
			t.Fatalf("issue order changed between runs:\n%s\n%s", first, got)
		}
	}
}

func TestInvalidErrorOutcome(t *testing.T) {
	invalidErr := parseInvalid(t, `{"resourceType":"Patient","birthDate":"1990-13-01"}`)
	if !strings.Contains(invalidErr.Error(), `Patient.birthDate: invalid value "1990-13-01" for date: month out of range`) {
		t.Errorf("Error() = %q", invalidErr.Error())
	}
	outcome := invalidErr.Outcome()
	if outcome["resourceType"] != "OperationOutcome" {
		t.Fatalf("resourceType = %v", outcome["resourceType"])
	}
	issues := outcome["issue"].([]any)
	if len(issues) != 1 {
		t.Fatalf("issues = %v, want 1", issues)
	}
	issue := issues[0].(map[string]any)
	if issue["severity"] != "error" || issue["code"] != "value" {
		t.Errorf("issue = %v", issue)
	}
	if expr := issue["expression"].([]any); len(expr) != 1 || expr[0] != "Patient.birthDate" {
		t.Errorf("expression = %v", expr)
	}

	// The outcome is itself a valid resource.
	body, err := Marshal(outcome)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseResource(body, DefaultLimits()); err != nil {
		t.Errorf("OperationOutcome does not validate: %v\n%s", err, body)
	}
}

func TestOutcomeDefaults(t *testing.T) {
	outcome := Outcome()
	issue := outcome["issue"].([]any)[0].(map[string]any)
	if issue["severity"] != "information" || issue["code"] != "informational" {
		t.Errorf("empty outcome issue = %v", issue)
	}

	outcome = Outcome(Issue{Diagnostics: "x"})
	issue = outcome["issue"].([]any)[0].(map[string]any)
	if issue["severity"] != "error" || issue["code"] != "processing" {
		t.Errorf("defaulted issue = %v", issue)
	}
	if _, ok := issue["expression"]; ok {
		t.Errorf("issue without expression has one: %v", issue)
	}

	body, err := Marshal(Outcome(Issue{Severity: "warning", Code: "not-found", Diagnostics: "gone", Expression: []string{"Patient.id"}}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"OperationOutcome","issue":[{"code":"not-found","diagnostics":"gone","expression":["Patient.id"],"severity":"warning"}]}`
	if string(body) != want {
		t.Errorf("Marshal(Outcome) = %s, want %s", body, want)
	}
}

func TestParseResourceConcurrent(t *testing.T) {
	bodies := []string{
		summaryPatient,
		`{"resourceType":"Patient","birthDate":"1990-13-01","foo":1}`,
		obsHead + `,"valueQuantity":{"value":"1"},"subject":{"reference":"Medication/1"}}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Observation","code":{"text":"x"}}]}`,
	}
	want := make([]string, len(bodies))
	for i, body := range bodies {
		_, err := ParseResource([]byte(body), DefaultLimits())
		want[i] = fmt.Sprint(err)
	}

	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for round := 0; round < 25; round++ {
				for i, body := range bodies {
					_, err := ParseResource([]byte(body), DefaultLimits())
					if got := fmt.Sprint(err); got != want[i] {
						errs <- fmt.Sprintf("body %d: got %s, want %s", i, got, want[i])
						return
					}
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if msg := <-errs; msg != "" {
			t.Error(msg)
		}
	}
}
