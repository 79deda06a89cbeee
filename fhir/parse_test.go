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
		{"duplicate key escaped differently", `{"resourceType":"Patient","active":true,"\u0061ctive":false}`,
			[]issueKey{{"structure", "Patient.active"}}},
		{"duplicate key among many", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"v",` + manyKeys(40) + `,"k7":1}]}`,
			[]issueKey{{"structure", "Patient.extension[0].k7"}}},
		{"lone high surrogate", `{"resourceType":"Patient","name":[{"family":"\ud800"}]}`,
			[]issueKey{{"value", "Patient.name[0].family"}}},
		{"lone low surrogate", `{"resourceType":"Patient","name":[{"given":["a","x\udc00y"]}]}`,
			[]issueKey{{"value", "Patient.name[0].given[1]"}}},
		{"high surrogate before a letter", `{"resourceType":"Patient","name":[{"family":"\ud800\u0041"}]}`,
			[]issueKey{{"value", "Patient.name[0].family"}}},
		{"two high surrogates", `{"resourceType":"Patient","name":[{"family":"\ud800\ud800"}]}`,
			[]issueKey{{"value", "Patient.name[0].family"}}},
		{"surrogate pair accepted", `{"resourceType":"Patient","name":[{"family":"\ud83d\ude00"}]}`, nil},
		{"lone surrogate in a key", `{"resourceType":"Patient","name":[{"\udbff":"x"}]}`,
			[]issueKey{{"structure", "Patient.name[0]"}}},
		{"number overflows in integer", `{"resourceType":"Patient","multipleBirthInteger":1e999}`,
			[]issueKey{{"value", "Patient.multipleBirth.ofType(integer)"}}},
		{"number overflows in decimal", obsHead + `,"valueQuantity":{"value":2e308}}`,
			[]issueKey{{"value", "Observation.value.ofType(Quantity).value"}}},
		{"negative number overflows", obsHead + `,"valueQuantity":{"value":-1E+999}}`,
			[]issueKey{{"value", "Observation.value.ofType(Quantity).value"}}},
		{"long number overflows", obsHead + `,"component":[{"code":{"text":"x"},"valueQuantity":{"value":1` + strings.Repeat("0", 400) + `}}]}`,
			[]issueKey{{"value", "Observation.component[0].value.ofType(Quantity).value"}}},
		{"number underflow accepted", obsHead + `,"valueQuantity":{"value":1e-400}}`, nil},
		{"largest float accepted", obsHead + `,"valueQuantity":{"value":1.7976931348623157e308}}`, nil},
		{"integer beyond 64 bits", `{"resourceType":"Patient","multipleBirthInteger":99999999999999999999}`,
			[]issueKey{{"value", "Patient.multipleBirth.ofType(integer)"}}},

		// Found by jsonformat.
		{"resourceType in a data type", `{"resourceType":"Patient","name":[{"resourceType":"Patient","family":"x"}]}`,
			[]issueKey{{"structure", "Patient.name[0].resourceType"}}},

		{"unknown element", `{"resourceType":"Patient","foo":1}`, []issueKey{{"structure", "Patient.foo"}}},
		{"unknown nested element", `{"resourceType":"Patient","name":[{"surname":"x"}]}`,
			[]issueKey{{"structure", "Patient.name[0].surname"}}},
		{"unknown choice type", obsHead + `,"valueFoo":1}`, []issueKey{{"structure", "Observation.valueFoo"}}},
		{"unknown element in primitive extension", `{"resourceType":"Patient","_birthDate":{"foo":1}}`,
			[]issueKey{{"structure", "Patient.birthDate.foo"}}},
		{"unknown element in contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","foo":1}],"managingOrganization":{"reference":"#o"}}`,
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
		{"paired null in contained accepted", `{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"p","name":[{"given":[null],"_given":[{"id":"x"}]}]}],"link":[{"other":{"reference":"#p"},"type":"seealso"}]}`, nil},
		{"contained with paired null still validated", `{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"a b","name":[{"given":[null],"_given":[{"id":"x"}]}]}],"link":[{"other":{"reference":"#a b"},"type":"seealso"}]}`,
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
		{"contained required element", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"o","code":{"text":"x"},"subject":{"reference":"#"}}]}`,
			[]issueKey{{"required", "Patient.contained[0].status"}}},
		{"contained invalid id", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"a b","name":"x"}],"managingOrganization":{"reference":"#a b"}}`,
			[]issueKey{{"value", "Patient.contained[0].id"}}},
		{"contained nested contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","contained":[{"resourceType":"Organization","id":"p"}]}],"managingOrganization":{"reference":"#o"}}`,
			[]issueKey{{"invariant", "Patient.contained[0].contained"}}},
		{"contained with versionId", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","meta":{"versionId":"1"}}],"managingOrganization":{"reference":"#o"}}`,
			[]issueKey{{"invariant", "Patient.contained[0].meta.versionId"}}},
		{"contained with security label", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","meta":{"security":[{"code":"R"}]}}],"managingOrganization":{"reference":"#o"}}`,
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
		{"contained narrative script", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script/>x</div>"}}],"managingOrganization":{"reference":"#o"}}`,
			[]issueKey{{"invariant", "Patient.contained[0].text.div"}}},
		{"narrative accepted", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><table><tr><td>&nbsp;<b>x</b></td></tr></table><img src="#pic"/></div>`),
			nil},
		{"narrative image only", narrative(`<div xmlns="http://www.w3.org/1999/xhtml"><img src="data:image/png;base64,AAAA" alt=""/></div>`),
			nil},
		{"bundle entry resource required element", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","link":[{"type":"seealso"}]}}]}`,
			[]issueKey{{"required", "Bundle.entry[0].resource.link[0].other"}}},

		// dom-3, ref-1 and unique contained ids.
		{"contained not referenced", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"},{"resourceType":"Organization","id":"o2","name":"y"}],"managingOrganization":{"reference":"#o1"}}`,
			[]issueKey{{"invariant", "Patient.contained[1]"}}},
		{"contained without id", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":"x"}]}`,
			[]issueKey{{"invariant", "Patient.contained[0]"}}},
		{"contained without id referring to container", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#"}}]}`,
			[]issueKey{{"invariant", "Patient.contained[0]"}}},
		{"contained named only in a string", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}],"name":[{"text":"#o1"}]}`,
			[]issueKey{{"invariant", "Patient.contained[0]"}}},
		{"contained named only in the narrative", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"#o1\">x</a></div>"},"contained":[{"resourceType":"Organization","id":"o1","name":"x"}]}`,
			[]issueKey{{"invariant", "Patient.contained[0]"}}},
		{"local reference to missing contained", `{"resourceType":"Patient","managingOrganization":{"reference":"#o2"}}`,
			[]issueKey{{"invariant", "Patient.managingOrganization.reference"}}},
		{"local reference to other contained id", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}],"managingOrganization":{"reference":"#o1"},"generalPractitioner":[{"reference":"#o2"}]}`,
			[]issueKey{{"invariant", "Patient.generalPractitioner[0].reference"}}},
		{"local reference in contained to missing", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"obs","status":"final","code":{"text":"x"},"subject":{"reference":"#"},"performer":[{"reference":"#nobody"}]}]}`,
			[]issueKey{{"invariant", "Patient.contained[0].performer[0].reference"}}},
		{"local reference in extension to missing", `{"resourceType":"Patient","extension":[{"url":"http://x","valueReference":{"reference":"#nope"}}]}`,
			[]issueKey{{"invariant", "Patient.extension[0].value.ofType(Reference).reference"}}},
		{"contained ids repeated", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"},{"resourceType":"Organization","id":"o1","name":"y"}],"managingOrganization":{"reference":"#o1"}}`,
			[]issueKey{{"invariant", "Patient.contained[1].id"}}},
		{"bundle entries are separate scopes", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}]}},{"resource":{"resourceType":"Patient","managingOrganization":{"reference":"#o1"}}}]}`,
			[]issueKey{{"invariant", "Bundle.entry[0].resource.contained[0]"}, {"invariant", "Bundle.entry[1].resource.managingOrganization.reference"}}},
		{"contained referenced by canonical accepted", `{"resourceType":"Questionnaire","status":"draft","contained":[{"resourceType":"ValueSet","id":"vs","status":"draft"}],"item":[{"linkId":"1","type":"choice","answerValueSet":"#vs"}]}`, nil},
		{"contained referring to container accepted", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"obs","status":"final","code":{"text":"x"},"subject":{"reference":"#"}}]}`, nil},
		{"contained referenced from other contained accepted", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x","partOf":{"reference":"#o2"}},{"resourceType":"Organization","id":"o2","name":"y"}],"managingOrganization":{"reference":"#o1"}}`, nil},
		{"reference to container accepted", `{"resourceType":"Patient","link":[{"other":{"reference":"#"},"type":"seealso"}]}`, nil},
		{"uri named reference is no local reference", `{"resourceType":"DetectedIssue","status":"final","reference":"#x"}`, nil},
		{"contained in bundle entry referenced accepted", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}],"managingOrganization":{"reference":"#o1"}}}]}`, nil},

		// Keys starting with "_".
		{"value key in primitive extension", `{"resourceType":"Patient","_gender":{"value":"female"}}`,
			[]issueKey{{"structure", "Patient.gender.value"}}},
		{"value key in primitive array extension", `{"resourceType":"Patient","name":[{"given":["a"],"_given":[{"value":"b"}]}]}`,
			[]issueKey{{"structure", "Patient.name[0].given[0].value"}}},
		{"underscore on complex element", `{"resourceType":"Patient","_name":[{"id":"x"}]}`,
			[]issueKey{{"structure", "Patient.name"}}},
		{"underscore on complex choice", obsHead + `,"_valueQuantity":{"id":"x"}}`,
			[]issueKey{{"structure", "Observation.value.ofType(Quantity)"}}},
		{"underscore on unknown element", `{"resourceType":"Patient","_foo":{"id":"x"}}`,
			[]issueKey{{"structure", "Patient._foo"}}},
		{"resource id given only as extension", `{"resourceType":"Patient","_id":{"extension":[{"url":"http://x","valueString":"y"}]}}`,
			[]issueKey{{"value", "Patient.id"}}},
		{"underscore on narrative div", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>","_div":{"id":"d"}}}`,
			[]issueKey{{"structure", "Patient.text.div"}}},
		{"escaped underscore on narrative div", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>","_\u0064iv":{"id":"d"}}}`,
			[]issueKey{{"structure", "Patient.text.div"}}},
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
			want := append(keysOf(nil), tt.want...)
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
		{"lone surrogate", `{"resourceType":"Patient","name":[{"family":"\ud800"}]}`, `invalid string at Patient.name[0].family: the escape \ud800 is half of a UTF-16 surrogate pair`},
		{"number out of range", `{"resourceType":"Patient","multipleBirthInteger":1e999}`, `invalid number 1e999 at Patient.multipleBirth.ofType(integer): number out of range`},
		{"integer out of 32 bits", `{"resourceType":"Patient","multipleBirthInteger":99999999999999999999}`, `out of range for integer (32-bit): must be between -2147483648 and 2147483647`},
		{"unsignedInt out of range", `{"resourceType":"Patient","photo":[{"size":-1}]}`, `out of range for unsignedInt: must be between 0 and 2147483647`},
		{"dom-3", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}]}`, `dom-3: the contained resource Patient.contained[0] (id "o1") is not referenced`},
		{"ref-1", `{"resourceType":"Patient","managingOrganization":{"reference":"#o2"}}`, `ref-1: the local reference "#o2" at Patient.managingOrganization.reference names no contained resource`},
		{"contained ids repeated", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"},{"resourceType":"Organization","id":"o1","name":"y"}],"managingOrganization":{"reference":"#o1"}}`,
			`contained resources Patient.contained[0] and Patient.contained[1] have the same id "o1"`},
		{"value key in primitive extension", `{"resourceType":"Patient","_gender":{"value":"female"}}`,
			`unknown element "value" in the "_gender" object of Patient.gender, which may contain only "id" and "extension"`},
		{"unknown key in primitive extension", `{"resourceType":"Patient","_birthDate":{"foo":1}}`,
			`unknown element "foo" in the "_birthDate" object of Patient.birthDate, which may contain only "id" and "extension"`},
		{"underscore on complex element", `{"resourceType":"Patient","_name":[{"id":"x"}]}`,
			`"_name" is not allowed in Patient: Patient.name is not a primitive element`},
		{"underscore on unknown element", `{"resourceType":"Patient","_foo":{"id":"x"}}`, `unknown element "_foo" in Patient; Patient has no element foo`},
		{"resource id given only as extension", `{"resourceType":"Patient","_id":{"id":"x"}}`,
			`Patient.id has no value, only the "_id" object with its id or extensions`},
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

func TestParseResourceDepthBeforeDecoding(t *testing.T) {
	// encoding/json stops at 10,000 levels with an error of its own, so
	// bodies nested that deep show that the depth check runs first.
	deepArrays := strings.Repeat("[", 20000)
	tests := []struct {
		name           string
		body           string
		limits         Limits
		wantExpression string
	}{
		{"closed arrays", `{"resourceType":"Patient","extension":` + deepArrays + strings.Repeat("]", 20000) + `}`,
			DefaultLimits(), "Patient.extension" + strings.Repeat("[0]", 63)},
		{"arrays never closed", `{"resourceType":"Patient","extension":` + deepArrays,
			DefaultLimits(), "Patient.extension" + strings.Repeat("[0]", 63)},
		{"objects", `{"resourceType":"Patient","extension":[` + strings.Repeat(`{"extension":[`, 10000),
			DefaultLimits(), "Patient" + strings.Repeat(".extension[0]", 32)},
		{"resourceType after the deep part", `{"extension":` + deepArrays + strings.Repeat("]", 20000) + `,"resourceType":"Patient"}`,
			DefaultLimits(), "$.extension" + strings.Repeat("[0]", 63)},
		{"top-level array", deepArrays, DefaultLimits(), "$" + strings.Repeat("[0]", 64)},
		{"inside a contained resource", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","valueQuantity":{"extension":[{"url":"x"}]}}]}`,
			Limits{MaxDepth: 5}, "Patient.contained[0].value.ofType(Quantity).extension[0]"},
		{"inside a bundle entry", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","valueQuantity":{"extension":[{"url":"x"}]}}}]}`,
			Limits{MaxDepth: 5}, "Bundle.entry[0].resource.value.ofType(Quantity).extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			invalidErr := parseInvalidWith(t, tt.body, tt.limits)
			want := []issueKey{{"too-costly", tt.wantExpression}}
			if got := keysOf(invalidErr.Issues); !slices.Equal(got, want) {
				t.Errorf("issues = %v, want %v", got, want)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []issueKey // nil when the body passes
	}{
		{"patch document", `[{"op":"replace","path":"/active","value":false}]`, nil},
		{"empty", ``, []issueKey{{"required", ""}}},
		{"syntax error", `[{"op":}]`, []issueKey{{"structure", ""}}},
		{"too deep", strings.Repeat("[", 20000), []issueKey{{"too-costly", "$" + strings.Repeat("[0]", 64)}}},
		{"duplicate key", `[{"op":"add","op":"remove"}]`, []issueKey{{"structure", "$[0].op"}}},
		{"lone surrogate", `[{"op":"add","path":"/name/0/family","value":"\udfff"}]`, []issueKey{{"value", "$[0].value"}}},
		{"number out of range", `[{"op":"add","path":"/multipleBirthInteger","value":1e400}]`, []issueKey{{"value", "$[0].value"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSON([]byte(tt.body), DefaultLimits())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckJSON rejected a valid body: %v", err)
				}
				return
			}
			var invalidErr *InvalidError
			if !errors.As(err, &invalidErr) {
				t.Fatalf("CheckJSON error = %v, want *InvalidError", err)
			}
			if got := keysOf(invalidErr.Issues); !slices.Equal(got, tt.want) {
				t.Errorf("issues = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestParseResourceManyKeys checks objects with 200,000 keys. The duplicate
// check keeps the keys of a large object in a map, so its cost is linear
// in the number of keys. Comparing each key with every earlier one took
// over a minute on this body.
func TestParseResourceManyKeys(t *testing.T) {
	const n = 200000
	object := `{"url":"http://x","valueString":"v",` + manyKeys(n)

	invalidErr := parseInvalid(t, `{"resourceType":"Patient","extension":[`+object+`,"k199999":0}]}`)
	want := []issueKey{{"structure", "Patient.extension[0].k199999"}}
	if got := keysOf(invalidErr.Issues); !slices.Equal(got, want) {
		t.Errorf("issues = %v, want %v", got, want)
	}

	if err := CheckJSON([]byte(`[`+object+`}]`), DefaultLimits()); err != nil {
		t.Errorf("CheckJSON rejected %d distinct keys: %v", n, err)
	}
}

func TestParseResourceIssueCap(t *testing.T) {
	repeat := func(item string, n int) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	contained := func(n int) string {
		var items []string
		for i := range n {
			items = append(items, fmt.Sprintf(`{"resourceType":"Organization","id":"o%d","name":"x"}`, i))
		}
		return strings.Join(items, ",")
	}
	tests := []struct {
		name         string
		body         string
		wantCode     string
		wantUnlisted int
	}{
		{"repeated key", `{"resourceType":"Patient",` + repeat(`"active":true`, 100000) + `}`, "structure", 99999 - maxIssues},
		{"lone surrogates", `{"resourceType":"Patient","name":[{"given":[` + repeat(`"\ud800"`, 5000) + `]}]}`, "value", 5000 - maxIssues},
		{"empty strings", `{"resourceType":"Patient","name":[{"given":[` + repeat(`""`, 5000) + `]}]}`, "value", 5000 - maxIssues},
		{"numbers for strings", `{"resourceType":"Patient","name":[{"given":[` + repeat(`1`, 5000) + `]}]}`, "value", 5000 - maxIssues},
		{"unreferenced contained", `{"resourceType":"Patient","contained":[` + contained(500) + `]}`, "invariant", 500 - maxIssues},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := parseInvalid(t, tt.body).Issues
			if len(issues) != maxIssues+1 {
				t.Fatalf("%d issues, want %d and one that counts the rest", len(issues), maxIssues)
			}
			for _, issue := range issues[:maxIssues] {
				if issue.Code != tt.wantCode {
					t.Fatalf("issue %+v: code %q, want %q", issue, issue.Code, tt.wantCode)
				}
			}
			last := issues[maxIssues]
			if last.Code != "too-costly" || len(last.Expression) != 0 {
				t.Errorf("last issue = %+v, want code too-costly without expression", last)
			}
			if want := fmt.Sprintf("%d more problems not listed", tt.wantUnlisted); !strings.Contains(last.Diagnostics, want) {
				t.Errorf("last issue diagnostics = %q, want %q", last.Diagnostics, want)
			}
		})
	}

	// A body with exactly maxIssues problems lists them all.
	issues := parseInvalid(t, `{"resourceType":"Patient",`+repeat(`"active":true`, maxIssues+1)+`}`).Issues
	if len(issues) != maxIssues || issues[len(issues)-1].Code != "structure" {
		t.Errorf("%d issues, last %+v; want %d duplicate-key issues", len(issues), issues[len(issues)-1], maxIssues)
	}
}

// manyKeys returns n members "k0":0, "k1":1, ... of a JSON object.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
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

// FuzzParseResource checks that any body gives a resource or an
// *InvalidError, never a panic or another error, and that the issue count
// stays within maxIssues and the one issue that counts the rest.
func FuzzParseResource(f *testing.F) {
	for _, seed := range []string{
		summaryPatient,
		`{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"x"}],"managingOrganization":{"reference":"#o1"}}`,
		`{"resourceType":"Patient","_gender":{"value":"female"},"_name":[{"id":"x"}],"_id":{"id":"x"}}`,
		`{"resourceType":"Patient","name":[{"family":"\ud800","given":["a",null],"_given":[null,{"id":"g"}]}]}`,
		obsHead + `,"valueQuantity":{"value":1e999}}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","managingOrganization":{"reference":"#x"}}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := ParseResource(body, DefaultLimits())
		if err == nil {
			return
		}
		var invalidErr *InvalidError
		if !errors.As(err, &invalidErr) {
			t.Fatalf("error %v is not an *InvalidError", err)
		}
		if len(invalidErr.Issues) == 0 || len(invalidErr.Issues) > maxIssues+1 {
			t.Fatalf("%d issues, want 1 to %d", len(invalidErr.Issues), maxIssues+1)
		}
	})
}
