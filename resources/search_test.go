package resources_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// put stores a resource under an id the test chooses (update as create),
// so that expected search results can name it.
func (s *testServer) put(resourceType, id, body string) {
	s.t.Helper()
	resp := s.do("PUT", "/"+resourceType+"/"+id, body)
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		s.t.Fatalf("PUT %s/%s: status %d, body %s", resourceType, id, resp.status, resp.body)
	}
}

// searchBundle runs a search that must succeed and returns the Bundle.
func (s *testServer) searchBundle(path string, headers ...string) map[string]any {
	s.t.Helper()
	resp := s.do("GET", path, "", headers...)
	if resp.status != http.StatusOK {
		s.t.Fatalf("GET %s: status %d, body %s", path, resp.status, resp.body)
	}
	bundle := resp.json(s.t)
	if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" {
		s.t.Fatalf("GET %s: not a searchset Bundle: %s", path, resp.body)
	}
	return bundle
}

// search returns the Type/id of the match entries of a search, in order.
func (s *testServer) search(path string, headers ...string) []string {
	s.t.Helper()
	return entryRefs(s.searchBundle(path, headers...), "match")
}

// entryRefs lists the Type/id of a Bundle's entries of one search mode.
func entryRefs(bundle map[string]any, mode string) []string {
	refs := []string{}
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		entry := e.(map[string]any)
		search, _ := entry["search"].(map[string]any)
		if search["mode"] != mode {
			continue
		}
		resource := entry["resource"].(map[string]any)
		id, _ := resource["id"].(string)
		refs = append(refs, resource["resourceType"].(string)+"/"+id)
	}
	return refs
}

// wantRefs compares references as sets.
func wantRefs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	got = slices.Sorted(slices.Values(got))
	want = slices.Sorted(slices.Values(want))
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// searchCase is one search and the matches it must return, in any order.
type searchCase struct {
	query string
	want  []string
}

func runSearchCases(t *testing.T, s *testServer, resourceType string, cases []searchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			s.t = t
			path := "/" + resourceType + "?" + tc.query
			wantRefs(t, path, s.search(path), tc.want...)
		})
	}
}

func refs(resourceType string, ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = resourceType + "/" + id
	}
	return out
}

func patient(id, extra string) string {
	return `{"resourceType":"Patient","id":"` + id + `"` + extra + `}`
}

func observation(id, extra string) string {
	return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"test"}` + extra + `}`
}

// loadPeople writes six patients whose names and birth dates exercise
// folding and every date precision.
func loadPeople(s *testServer) {
	s.put("Patient", "p1", patient("p1", `,"name":[{"family":"Müller","given":["Anna"]}],"birthDate":"1970","gender":"female"`))
	s.put("Patient", "p2", patient("p2", `,"name":[{"family":"MULLER","given":["Bob"]}],"birthDate":"1970-06","gender":"male"`))
	s.put("Patient", "p3", patient("p3", `,"name":[{"family":"Mullerson"}],"birthDate":"1970-06-15","gender":"male"`))
	s.put("Patient", "p4", patient("p4", `,"name":[{"family":"Smith","given":["Zoë"]}],"birthDate":"1969-12-31"`))
	s.put("Patient", "p5", patient("p5", `,"name":[{"family":"Núñez"}],"birthDate":"1971-01-01","gender":"other"`))
	s.put("Patient", "p6", patient("p6", `,"name":[{"family":"Okafor"}],"gender":"female"`))
}

func TestSearchString(t *testing.T) {
	s := newTestServer(t)
	loadPeople(s)
	runSearchCases(t, s, "Patient", []searchCase{
		{"name=muller", refs("Patient", "p1", "p2", "p3")},
		{"family=M%C3%9CLLER", refs("Patient", "p1", "p2", "p3")},
		{"family=mullers", refs("Patient", "p3")},
		{"family:exact=M%C3%BCller", refs("Patient", "p1")},
		{"family:exact=muller", nil},
		{"family:contains=LLER", refs("Patient", "p1", "p2", "p3")},
		{"family:contains=ith", refs("Patient", "p4")},
		{"given=zoe", refs("Patient", "p4")},
		{"name=nunez", refs("Patient", "p5")},
		{"family=muller,smith", refs("Patient", "p1", "p2", "p3", "p4")},
		{"family=mull&given=bob", refs("Patient", "p2")},
		{"family=nobody", nil},
	})
}

func TestSearchDatePrecision(t *testing.T) {
	s := newTestServer(t)
	loadPeople(s)
	// p1 1970, p2 1970-06, p3 1970-06-15, p4 1969-12-31, p5 1971-01-01,
	// p6 no birthDate.
	runSearchCases(t, s, "Patient", []searchCase{
		{"birthdate=1970", refs("Patient", "p1", "p2", "p3")},
		{"birthdate=1970-06", refs("Patient", "p2", "p3")},
		{"birthdate=eq1970-06-15", refs("Patient", "p3")},
		{"birthdate=ne1970-06", refs("Patient", "p1", "p4", "p5")},
		{"birthdate=lt1970-06", refs("Patient", "p1", "p4")},
		{"birthdate=ge1970-06-15", refs("Patient", "p1", "p2", "p3", "p5")},
		{"birthdate=gt1970-12-31", refs("Patient", "p5")},
		{"birthdate=le1969-12-31", refs("Patient", "p4")},
		{"birthdate=sa1970-06", refs("Patient", "p5")},
		{"birthdate=eb1970-06", refs("Patient", "p4")},
		{"birthdate=ge1970&birthdate=lt1971", refs("Patient", "p1", "p2", "p3")},
		{"birthdate=1969-12-31,1971", refs("Patient", "p4", "p5")},
		// ap allows 10% of the time between now and the value, years here.
		{"birthdate=ap1970-06-15", refs("Patient", "p1", "p2", "p3", "p4", "p5")},
		{"birthdate:missing=true", refs("Patient", "p6")},
		{"birthdate:missing=false", refs("Patient", "p1", "p2", "p3", "p4", "p5")},
		{"gender:missing=true", refs("Patient", "p4")},
	})
}

func TestSearchDateZonesAndPeriods(t *testing.T) {
	s := newTestServer(t)
	s.put("Observation", "o1", observation("o1", `,"effectiveDateTime":"2024-03-01T23:30:00-05:00"`))
	s.put("Observation", "o2", observation("o2", `,"effectiveDateTime":"2024-03-02T10:00:00Z"`))
	s.put("Observation", "o3", observation("o3", `,"effectivePeriod":{"start":"2024-01-01"}`))
	s.put("Observation", "o4", observation("o4", `,"effectivePeriod":{"end":"2023-06-30"}`))
	s.put("Observation", "o5", observation("o5", `,"effectiveDateTime":"2024-03-01"`))
	s.put("Observation", "o6", observation("o6", `,"effectivePeriod":{"start":"2024-02-01T08:00:00+01:00","end":"2024-02-01T09:00:00+01:00"}`))
	runSearchCases(t, s, "Observation", []searchCase{
		// o1 is 2024-03-02T04:30Z in UTC, the zone Ward compares in.
		{"date=2024-03-02", refs("Observation", "o1", "o2")},
		{"date=2024-03-01", refs("Observation", "o5")},
		{"date=2024-03-01T23:30:00-05:00", refs("Observation", "o1")},
		{"date=2024-03-02T04:30Z", refs("Observation", "o1")},
		{"date=2024-03-02T04:30", refs("Observation", "o1")},
		// A millisecond does not contain the whole second that o1 covers.
		{"date=2024-03-02T04:30:00.000Z", nil},
		{"date=2024-03", refs("Observation", "o1", "o2", "o5")},
		{"date=2024", refs("Observation", "o1", "o2", "o5", "o6")},
		{"date=2024-02-01T07:00:00Z", nil},
		{"date=ge2025", refs("Observation", "o3")},
		{"date=lt2023", refs("Observation", "o4")},
		{"date=eb2023-07", refs("Observation", "o4")},
		{"date=sa2023-12-31", refs("Observation", "o1", "o2", "o3", "o5", "o6")},
		{"date=gt2024-03-01", refs("Observation", "o1", "o2", "o3")},
		{"date=2024-02-01T07:30:00Z", nil},
		{"date=ge2024-02-01T07:30:00Z&date=le2024-02-01T07:45:00Z", refs("Observation", "o3", "o6")},
	})
}

func TestSearchToken(t *testing.T) {
	s := newTestServer(t)
	s.put("Observation", "t1", `{"resourceType":"Observation","id":"t1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}]}}`)
	s.put("Observation", "t2", `{"resourceType":"Observation","id":"t2","status":"amended","code":{"coding":[{"system":"http://snomed.info/sct","code":"1234"}],"text":"Heart rate"}}`)
	s.put("Observation", "t3", `{"resourceType":"Observation","id":"t3","status":"preliminary","code":{"coding":[{"code":"1234"}]}}`)
	s.put("Patient", "mrn", patient("mrn", `,"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:hospital","value":"446053"}],"active":true`))
	s.put("Patient", "ssn", patient("ssn", `,"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"SS"}]},"system":"urn:ssn","value":"446053"}],"active":false`))

	runSearchCases(t, s, "Observation", []searchCase{
		{"code=1234", refs("Observation", "t2", "t3")},
		{"code=http://snomed.info/sct%7C1234", refs("Observation", "t2")},
		{"code=%7C1234", refs("Observation", "t3")},
		{"code=http://loinc.org%7C", refs("Observation", "t1")},
		{"code=http://loinc.org%7C1234", nil},
		{"code:text=systolic%20blood", refs("Observation", "t1")},
		{"code:text=heart", refs("Observation", "t2")},
		{"status=final,amended", refs("Observation", "t1", "t2")},
		{"status:not=final", refs("Observation", "t2", "t3")},
		{"status:not=final&status:not=amended", refs("Observation", "t3")},
		{"_id=t1,t3", refs("Observation", "t1", "t3")},
	})
	runSearchCases(t, s, "Patient", []searchCase{
		{"identifier=446053", refs("Patient", "mrn", "ssn")},
		{"identifier=urn:hospital%7C446053", refs("Patient", "mrn")},
		{"identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CSS%7C446053", refs("Patient", "ssn")},
		{"active=true", refs("Patient", "mrn")},
		{"active=false", refs("Patient", "ssn")},
	})
}

func TestSearchNumberAndQuantity(t *testing.T) {
	s := newTestServer(t)
	for id, p := range map[string]string{"r1": "0.8", "r2": "0.83", "r3": "0.9"} {
		s.put("RiskAssessment", id, `{"resourceType":"RiskAssessment","id":"`+id+`","status":"final","subject":{"reference":"Patient/x"},"prediction":[{"probabilityDecimal":`+p+`}]}`)
	}
	quantity := func(id, value, system, code string) string {
		return observation(id, `,"valueQuantity":{"value":`+value+`,"system":"`+system+`","code":"`+code+`"}`)
	}
	s.put("Observation", "q1", quantity("q1", "250", "http://unitsofmeasure.org", "mg"))
	s.put("Observation", "q2", quantity("q2", "0.25", "http://unitsofmeasure.org", "g"))
	s.put("Observation", "q3", quantity("q3", "300", "http://unitsofmeasure.org", "mg"))
	s.put("Observation", "q4", quantity("q4", "5", "http://example.org/units", "tab"))

	runSearchCases(t, s, "RiskAssessment", []searchCase{
		{"probability=0.8", refs("RiskAssessment", "r1", "r2")},
		{"probability=0.80", refs("RiskAssessment", "r1")},
		{"probability=gt0.8", refs("RiskAssessment", "r2", "r3")},
		{"probability=le0.83", refs("RiskAssessment", "r1", "r2")},
		{"probability=lt0.8", nil},
		{"probability=ne0.9", refs("RiskAssessment", "r1", "r2")},
		{"probability=8e-1", refs("RiskAssessment", "r1", "r2")},
		{"probability=ap0.8", refs("RiskAssessment", "r1", "r2")},
		{"probability=sa0.8", refs("RiskAssessment", "r3")},
		{"probability=eb0.9", refs("RiskAssessment", "r1", "r2")},
	})
	runSearchCases(t, s, "Observation", []searchCase{
		{"value-quantity=250%7Chttp://unitsofmeasure.org%7Cmg", refs("Observation", "q1", "q2")},
		{"value-quantity=0.25%7Chttp://unitsofmeasure.org%7Cg", refs("Observation", "q1", "q2")},
		{"value-quantity=gt0.26%7Chttp://unitsofmeasure.org%7Cg", refs("Observation", "q3")},
		{"value-quantity=5%7Chttp://example.org/units%7Ctab", refs("Observation", "q4")},
		{"value-quantity=5%7C%7Ctab", refs("Observation", "q4")},
		{"value-quantity=le250%7C%7Cmg", refs("Observation", "q1", "q2")},
		{"value-quantity=ap300%7Chttp://unitsofmeasure.org%7Cmg", refs("Observation", "q3")},
	})
}

func TestSearchReference(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "p1", patient("p1", ""))
	s.put("Patient", "p2", patient("p2", ""))
	s.put("Group", "g1", `{"resourceType":"Group","id":"g1","type":"person","actual":true}`)
	s.put("Observation", "r1", observation("r1", `,"subject":{"reference":"Patient/p1"}`))
	s.put("Observation", "r2", observation("r2", `,"subject":{"reference":"Patient/p1/_history/1"}`))
	s.put("Observation", "r3", observation("r3", `,"subject":{"reference":"`+s.url+`/Patient/p2"}`))
	s.put("Observation", "r4", observation("r4", `,"subject":{"reference":"http://other.example.org/fhir/Patient/p1"}`))
	s.put("Observation", "r5", observation("r5", `,"subject":{"reference":"Group/g1"}`))
	s.put("Observation", "r6", observation("r6", ""))
	s.put("Observation", "r7", observation("r7", `,"subject":{"identifier":{"system":"urn:mrn","value":"42"}}`))

	runSearchCases(t, s, "Observation", []searchCase{
		{"subject=Patient/p1", refs("Observation", "r1", "r2")},
		{"subject=p1", refs("Observation", "r1", "r2")},
		{"subject=Patient/p1/_history/1", refs("Observation", "r2")},
		{"subject:Patient=p2", refs("Observation", "r3")},
		{"subject=" + url.QueryEscape(s.url+"/Patient/p2"), refs("Observation", "r3")},
		{"subject=http://other.example.org/fhir/Patient/p1", refs("Observation", "r4")},
		{"subject:Group=g1", refs("Observation", "r5")},
		{"subject=Patient/p1,Group/g1", refs("Observation", "r1", "r2", "r5")},
		{"subject:missing=true", refs("Observation", "r6")},
		{"subject:identifier=urn:mrn%7C42", refs("Observation", "r7")},
		{"patient=Patient/p1", refs("Observation", "r1", "r2")},
	})
}

func TestSearchURIAndComposite(t *testing.T) {
	s := newTestServer(t)
	for id, u := range map[string]string{"v1": "http://acme.org/fhir/ValueSet/a", "v2": "http://acme.org/fhir/ValueSet/b", "v3": "http://other.org/vs"} {
		s.put("ValueSet", id, `{"resourceType":"ValueSet","id":"`+id+`","status":"active","url":"`+u+`"}`)
	}
	bp := func(id, code, value string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},` +
			`"valueQuantity":{"value":` + value + `,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}`
	}
	s.put("Observation", "c1", bp("c1", "8480-6", "120"))
	s.put("Observation", "c2", bp("c2", "8480-6", "150"))
	s.put("Observation", "c3", bp("c3", "8462-4", "150"))

	runSearchCases(t, s, "ValueSet", []searchCase{
		{"url=http://acme.org/fhir/ValueSet/a", refs("ValueSet", "v1")},
		{"url=http://acme.org/fhir", nil},
		{"url:below=http://acme.org/fhir", refs("ValueSet", "v1", "v2")},
		{"url:above=http://acme.org/fhir/ValueSet/a/extra", refs("ValueSet", "v1")},
	})
	runSearchCases(t, s, "Observation", []searchCase{
		{"code-value-quantity=http://loinc.org%7C8480-6$gt130%7Chttp://unitsofmeasure.org%7Cmm[Hg]", refs("Observation", "c2")},
		{"code-value-quantity=8480-6$150%7C%7Cmm[Hg]", refs("Observation", "c2")},
		{"code-value-quantity=8462-4$lt130%7C%7Cmm[Hg],8480-6$lt130%7C%7Cmm[Hg]", refs("Observation", "c1")},
		{"code-value-quantity=8462-4$120%7C%7Cmm[Hg]", nil},
	})
}

func TestSearchCommonParameters(t *testing.T) {
	s := newTestServer(t)
	// The test clock gives the n-th write the lastUpdated 10:00:0n.
	s.put("Patient", "m0", patient("m0", `,"meta":{"tag":[{"system":"urn:tags","code":"vip"}],"profile":["http://example.org/StructureDefinition/p"]}`))
	s.put("Patient", "m1", patient("m1", `,"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}],"source":"urn:source:lab"}`))
	s.put("Patient", "m2", patient("m2", ""))

	runSearchCases(t, s, "Patient", []searchCase{
		{"_id=m0,m2", refs("Patient", "m0", "m2")},
		{"_lastUpdated=gt2026-03-01T10:00:00Z", refs("Patient", "m1", "m2")},
		{"_lastUpdated=2026-03-01T10:00:01Z", refs("Patient", "m1")},
		{"_lastUpdated=lt2026-03-01T10:00:01Z", refs("Patient", "m0")},
		{"_tag=urn:tags%7Cvip", refs("Patient", "m0")},
		{"_tag:missing=true", refs("Patient", "m1", "m2")},
		{"_profile=http://example.org/StructureDefinition/p", refs("Patient", "m0")},
		{"_security=R", refs("Patient", "m1")},
		{"_source=urn:source:lab", refs("Patient", "m1")},
	})
}

func TestSearchIndexFollowsWrites(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "w1", patient("w1", `,"name":[{"family":"Before"}]`))
	wantRefs(t, "family=before", s.search("/Patient?family=before"), "Patient/w1")

	s.put("Patient", "w1", patient("w1", `,"name":[{"family":"After"}]`))
	wantRefs(t, "family=before after update", s.search("/Patient?family=before"))
	wantRefs(t, "family=after after update", s.search("/Patient?family=after"), "Patient/w1")

	patch := s.do("PATCH", "/Patient/w1", `[{"op":"replace","path":"/name/0/family","value":"Patched"}]`, "Content-Type", "application/json-patch+json")
	wantStatus(t, patch, http.StatusOK)
	wantRefs(t, "family=patched after patch", s.search("/Patient?family=patched"), "Patient/w1")
	wantRefs(t, "family=after after patch", s.search("/Patient?family=after"))

	wantStatus(t, s.do("DELETE", "/Patient/w1", ""), http.StatusNoContent)
	wantRefs(t, "family=patched after delete", s.search("/Patient?family=patched"))
	wantRefs(t, "_id after delete", s.search("/Patient?_id=w1"))
}

func TestSearchSort(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "s1", patient("s1", `,"name":[{"family":"Adams"}],"birthDate":"1980-01-01"`))
	s.put("Patient", "s2", patient("s2", `,"name":[{"family":"Baker"}],"birthDate":"1975-05-05"`))
	s.put("Patient", "s3", patient("s3", `,"name":[{"family":"Clark"}],"birthDate":"1980-01-01"`))
	s.put("Patient", "s4", patient("s4", `,"name":[{"family":"Baker"}]`))
	s.put("Patient", "s5", patient("s5", `,"name":[{"family":"Adams"}],"birthDate":"1990-02-02"`))

	tests := []struct {
		sort string
		want []string
	}{
		{"birthdate,family", refs("Patient", "s2", "s1", "s3", "s5", "s4")},
		{"-birthdate,family", refs("Patient", "s5", "s1", "s3", "s2", "s4")},
		{"family,-birthdate", refs("Patient", "s5", "s1", "s2", "s4", "s3")},
		{"family,birthdate", refs("Patient", "s1", "s5", "s2", "s4", "s3")},
		{"-family,birthdate", refs("Patient", "s3", "s2", "s4", "s1", "s5")},
		{"_id", refs("Patient", "s1", "s2", "s3", "s4", "s5")},
		{"-_lastUpdated", refs("Patient", "s5", "s4", "s3", "s2", "s1")},
	}
	for _, tc := range tests {
		t.Run(tc.sort, func(t *testing.T) {
			s.t = t
			got := s.search("/Patient?_sort=" + tc.sort)
			if !slices.Equal(got, tc.want) {
				t.Errorf("_sort=%s: %v, want %v", tc.sort, got, tc.want)
			}
		})
	}
}

func TestSearchTokensEscaped(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "e1", patient("e1", `,"identifier":[{"system":"urn:ids","value":"a,b|c$d\\e"}],"name":[{"family":"O,Brien"}]`))
	s.put("Patient", "e2", patient("e2", `,"identifier":[{"system":"urn:ids","value":"a"}],"name":[{"family":"O"}]`))
	runSearchCases(t, s, "Patient", []searchCase{
		{"identifier=" + url.QueryEscape(`urn:ids|a\,b\|c\$d\\e`), refs("Patient", "e1")},
		{"family:exact=" + url.QueryEscape(`O\,Brien`), refs("Patient", "e1")},
		{"family:exact=" + url.QueryEscape(`O,Brien`), refs("Patient", "e2")},
	})
}

func TestSearchSelfLinkNormalised(t *testing.T) {
	s := newTestServer(t)
	bundle := s.searchBundle("/Patient?name=x&unknown=1&_format=json&_sort=-birthdate&_count=5&birthdate=ge1970")
	links := bundle["link"].([]any)
	self := links[0].(map[string]any)
	if self["relation"] != "self" {
		t.Fatalf("first link = %v, want self", self)
	}
	want := s.url + "/Patient?_count=5&_sort=-birthdate&birthdate=ge1970&name=x"
	if self["url"] != want {
		t.Errorf("self = %v, want %s", self["url"], want)
	}
	if strings.Contains(self["url"].(string), "unknown") {
		t.Error("self link shows an ignored parameter")
	}
}
