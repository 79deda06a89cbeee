package fhir

import (
	"errors"
	"slices"
	"sort"
	"testing"
)

const summaryPatient = `{
	"resourceType": "Patient",
	"id": "p1",
	"meta": {"versionId": "2", "tag": [{"system": "http://example.org/tags", "code": "t"}]},
	"implicitRules": "http://example.org/rules",
	"language": "en",
	"text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Jane</div>"},
	"contained": [{"resourceType": "Organization", "id": "o1", "name": "Clinic"}],
	"extension": [{"url": "http://example.org/ext", "valueString": "x"}],
	"modifierExtension": [{"url": "http://example.org/mod", "valueBoolean": true}],
	"identifier": [{"system": "http://example.org/mrn", "value": "123"}],
	"active": true,
	"name": [{"family": "Doe", "given": ["Jane"], "_given": [{"id": "g"}]}],
	"gender": "female",
	"birthDate": "1970-01-01",
	"_birthDate": {"id": "b"},
	"maritalStatus": {"text": "married"},
	"contact": [{"name": {"family": "Roe"}}],
	"communication": [{"language": {"text": "English"}, "preferred": true}],
	"link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}],
	"managingOrganization": {"reference": "#o1"}
}`

func decodeForTest(t *testing.T, body string) map[string]any {
	t.Helper()
	res, err := ParseResource([]byte(body), DefaultLimits())
	if err != nil {
		t.Fatalf("ParseResource: %v", err)
	}
	return res.Object
}

func topKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasSubsetted(obj map[string]any) bool {
	meta, _ := obj["meta"].(map[string]any)
	tags, _ := meta["tag"].([]any)
	count := 0
	for _, tag := range tags {
		coding := tag.(map[string]any)
		if coding["system"] == subsettedSystem && coding["code"] == subsettedCode {
			count++
		}
	}
	return count == 1
}

func TestSummaryModes(t *testing.T) {
	tests := []struct {
		mode          string
		wantKeys      []string
		wantSubsetted bool
	}{
		{"true", []string{"_birthDate", "active", "birthDate", "gender", "id", "identifier", "implicitRules", "link", "managingOrganization", "meta", "modifierExtension", "name", "resourceType"}, true},
		{"text", []string{"id", "meta", "resourceType", "text"}, true},
		{"data", []string{"_birthDate", "active", "birthDate", "communication", "contact", "contained", "extension", "gender", "id", "identifier", "implicitRules", "language", "link", "managingOrganization", "maritalStatus", "meta", "modifierExtension", "name", "resourceType"}, true},
		{"false", []string{"_birthDate", "active", "birthDate", "communication", "contact", "contained", "extension", "gender", "id", "identifier", "implicitRules", "language", "link", "managingOrganization", "maritalStatus", "meta", "modifierExtension", "name", "resourceType", "text"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			obj := decodeForTest(t, summaryPatient)
			before, _ := Marshal(obj)

			got, err := Summary(obj, tt.mode)
			if err != nil {
				t.Fatalf("Summary: %v", err)
			}
			if keys := topKeys(got); !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("keys = %v, want %v", keys, tt.wantKeys)
			}
			if hasSubsetted(got) != tt.wantSubsetted {
				t.Errorf("SUBSETTED tag present = %v, want %v", hasSubsetted(got), tt.wantSubsetted)
			}
			if after, _ := Marshal(obj); string(after) != string(before) {
				t.Errorf("Summary modified its input")
			}

			// The existing tag stays, and the result is still a valid resource,
			// except that _summary=true drops contained (not a summary
			// element), so the local reference to it breaks ref-1. The
			// SUBSETTED tag tells the client that the resource is incomplete.
			meta := got["meta"].(map[string]any)
			if first := meta["tag"].([]any)[0].(map[string]any); first["code"] != "t" {
				t.Errorf("existing tag lost: %v", meta["tag"])
			}
			body, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseResource(body, DefaultLimits())
			if tt.mode != "true" {
				if err != nil {
					t.Errorf("summary is not a valid resource: %v", err)
				}
				return
			}
			var invalidErr *InvalidError
			if !errors.As(err, &invalidErr) {
				t.Fatalf("summary error = %v, want the ref-1 issue", err)
			}
			want := []issueKey{{"invariant", "Patient.managingOrganization.reference"}}
			if got := keysOf(invalidErr.Issues); !slices.Equal(got, want) {
				t.Errorf("summary issues = %v, want %v: %v", got, want, err)
			}
		})
	}
}

func TestSummaryTrueBackboneChildren(t *testing.T) {
	obj := decodeForTest(t, `{"resourceType":"Observation","status":"final","code":{"text":"bp"},
		"interpretation":[{"text":"high"}],
		"component":[{"code":{"text":"systolic"},"valueQuantity":{"value":120},"interpretation":[{"text":"high"}]}]}`)
	got, err := Summary(obj, "true")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["interpretation"]; ok {
		t.Errorf("Observation.interpretation is not a summary element but was kept")
	}
	component := got["component"].([]any)[0].(map[string]any)
	if keys := topKeys(component); !slices.Equal(keys, []string{"code", "valueQuantity"}) {
		t.Errorf("component keys = %v, want code and valueQuantity", keys)
	}
}

func TestSummaryTextKeepsMandatory(t *testing.T) {
	obj := decodeForTest(t, `{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"valueString":"v"}`)
	got, err := Summary(obj, "text")
	if err != nil {
		t.Fatal(err)
	}
	if keys := topKeys(got); !slices.Equal(keys, []string{"code", "id", "meta", "resourceType", "status"}) {
		t.Errorf("keys = %v", keys)
	}
}

func TestSummaryNoReductionNoTag(t *testing.T) {
	obj := decodeForTest(t, `{"resourceType":"Patient","id":"p","active":true}`)
	for _, mode := range []string{"true", "data", "false"} {
		got, err := Summary(obj, mode)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["meta"]; ok {
			t.Errorf("mode %s: meta added although nothing was removed: %v", mode, got["meta"])
		}
	}
}

func TestSummaryTagNotDuplicated(t *testing.T) {
	obj := decodeForTest(t, `{"resourceType":"Patient","meta":{"tag":[{"system":"`+subsettedSystem+`","code":"SUBSETTED"}]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`)
	got, err := Summary(obj, "data")
	if err != nil {
		t.Fatal(err)
	}
	if tags := got["meta"].(map[string]any)["tag"].([]any); len(tags) != 1 {
		t.Errorf("tags = %v, want one SUBSETTED", tags)
	}
}

func TestSummaryRejectsOtherModes(t *testing.T) {
	for _, mode := range []string{"count", "", "TRUE"} {
		if _, err := Summary(map[string]any{"resourceType": "Patient"}, mode); err == nil {
			t.Errorf("mode %q accepted", mode)
		}
	}
}

func TestElementsSelection(t *testing.T) {
	tests := []struct {
		name          string
		body          string
		names         []string
		wantKeys      []string
		wantSubsetted bool
	}{
		{"named elements", summaryPatient, []string{"name", "gender"},
			[]string{"gender", "id", "meta", "name", "resourceType"}, true},
		{"primitive extension follows", summaryPatient, []string{"birthDate"},
			[]string{"_birthDate", "birthDate", "id", "meta", "resourceType"}, true},
		{"type prefix and spaces", summaryPatient, []string{" Patient.active "},
			[]string{"active", "id", "meta", "resourceType"}, true},
		{"unknown names ignored", summaryPatient, []string{"nope", "Observation.value"},
			[]string{"id", "meta", "resourceType"}, true},
		{"choice by base name", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1},"note":[{"text":"n"}]}`,
			[]string{"value"}, []string{"code", "meta", "resourceType", "status", "valueQuantity"}, true},
		{"everything named", `{"resourceType":"Patient","id":"p","active":true}`, []string{"active"},
			[]string{"active", "id", "resourceType"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := decodeForTest(t, tt.body)
			got := Elements(obj, tt.names)
			if keys := topKeys(got); !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("keys = %v, want %v", keys, tt.wantKeys)
			}
			if hasSubsetted(got) != tt.wantSubsetted {
				t.Errorf("SUBSETTED = %v, want %v", hasSubsetted(got), tt.wantSubsetted)
			}
		})
	}
}

func TestElementsDoesNotShareMeta(t *testing.T) {
	obj := decodeForTest(t, summaryPatient)
	got := Elements(obj, []string{"name"})
	got["name"].([]any)[0].(map[string]any)["family"] = "Changed"
	if family := obj["name"].([]any)[0].(map[string]any)["family"]; family != "Doe" {
		t.Errorf("changing the copy changed the input: %v", family)
	}
	if tags := obj["meta"].(map[string]any)["tag"].([]any); len(tags) != 1 {
		t.Errorf("input meta.tag changed: %v", tags)
	}
}
