package resources_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/resources"
)

// loadClinic writes two organizations, patients, a location, observations
// about them and a Provenance, for chains, _has, includes and
// compartments.
func loadClinic(s *testServer) {
	s.put("Organization", "org1", `{"resourceType":"Organization","id":"org1","name":"Acme Hospital"}`)
	s.put("Organization", "org2", `{"resourceType":"Organization","id":"org2","name":"Beta Clinic"}`)
	s.put("Patient", "pa", patient("pa", `,"name":[{"family":"Parker","given":["Peter"]}],"managingOrganization":{"reference":"Organization/org1"}`))
	s.put("Patient", "pb", patient("pb", `,"name":[{"given":["Paula"]}],"managingOrganization":{"reference":"Organization/org2"}`))
	s.put("Location", "loc1", `{"resourceType":"Location","id":"loc1","name":"Peter's Ward"}`)
	s.put("Practitioner", "dr1", `{"resourceType":"Practitioner","id":"dr1","name":[{"family":"House"}]}`)
	s.put("Observation", "oa", `{"resourceType":"Observation","id":"oa","status":"final","code":{"coding":[{"code":"1234"}]},"subject":{"reference":"Patient/pa"}}`)
	s.put("Observation", "ob", `{"resourceType":"Observation","id":"ob","status":"final","code":{"coding":[{"code":"999"}]},"subject":{"reference":"Patient/pb"}}`)
	s.put("Observation", "oc", `{"resourceType":"Observation","id":"oc","status":"final","code":{"coding":[{"code":"1234"}]},"subject":{"reference":"Location/loc1"}}`)
	s.put("Observation", "od", `{"resourceType":"Observation","id":"od","status":"final","code":{"coding":[{"code":"1234"}]},"subject":{"reference":"Group/none"},"performer":[{"reference":"Patient/pa"}]}`)
	s.put("Provenance", "prov1", `{"resourceType":"Provenance","id":"prov1","target":[{"reference":"Observation/ob"}],"recorded":"2024-01-01T00:00:00Z","agent":[{"who":{"reference":"Practitioner/dr1"}}]}`)
}

func TestSearchChain(t *testing.T) {
	s := newTestServer(t)
	loadClinic(s)
	runSearchCases(t, s, "Observation", []searchCase{
		{"subject:Patient.name=peter", refs("Observation", "oa")},
		{"subject.name=peter", refs("Observation", "oa", "oc")},
		{"patient.name=paula", refs("Observation", "ob")},
		{"subject:Patient.organization.name=acme", refs("Observation", "oa")},
		{"subject:Patient.organization.name=acme,beta", refs("Observation", "oa", "ob")},
		{"subject:Patient.name=peter&code=999", nil},
		{"subject:Patient.organization=Organization/org2", refs("Observation", "ob")},
	})

	ambiguous := s.do("GET", "/Observation?focus.location=x", "")
	wantStatus(t, ambiguous, http.StatusBadRequest)
	wantOutcome(t, ambiguous, "invalid", "focus.location")
}

func TestSearchChainDepthLimit(t *testing.T) {
	s := newTestServer(t, func(c *resources.Config) { c.MaxChainDepth = 1 })
	loadClinic(s)
	wantRefs(t, "one link", s.search("/Observation?subject:Patient.name=peter"), "Observation/oa")
	resp := s.do("GET", "/Observation?subject:Patient.organization.name=acme", "")
	wantStatus(t, resp, http.StatusBadRequest)
	wantOutcome(t, resp, "invalid", "subject:Patient.organization.name")
}

func TestSearchHas(t *testing.T) {
	s := newTestServer(t)
	loadClinic(s)
	runSearchCases(t, s, "Patient", []searchCase{
		{"_has:Observation:patient:code=1234", refs("Patient", "pa")},
		{"_has:Observation:subject:code=999", refs("Patient", "pb")},
		{"_has:Observation:patient:_has:Provenance:target:agent=Practitioner/dr1", refs("Patient", "pb")},
		{"_has:Observation:patient:code=555", nil},
		{"_has:Observation:performer:code=1234", refs("Patient", "pa")},
	})
	runSearchCases(t, s, "Organization", []searchCase{
		{"_has:Patient:organization:name=paula", refs("Organization", "org2")},
	})
}

func TestSearchIncludes(t *testing.T) {
	s := newTestServer(t)
	loadClinic(s)
	tests := []struct {
		query    string
		matches  []string
		included []string
	}{
		{"/Observation?_id=oa&_include=Observation:subject", refs("Observation", "oa"), refs("Patient", "pa")},
		{"/Observation?_id=oa&_include=Observation:subject:Group", refs("Observation", "oa"), nil},
		{"/Observation?_id=oa&_include=Observation:subject&_include=Patient:organization", refs("Observation", "oa"), refs("Patient", "pa")},
		{"/Observation?_id=oa&_include=Observation:subject&_include:iterate=Patient:organization", refs("Observation", "oa"), []string{"Patient/pa", "Organization/org1"}},
		{"/Observation?_id=oa,oc&_include=*", refs("Observation", "oa", "oc"), []string{"Patient/pa", "Location/loc1"}},
		{"/Patient?_id=pb&_revinclude=Observation:subject", refs("Patient", "pb"), refs("Observation", "ob")},
		{"/Patient?_id=pb&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target", refs("Patient", "pb"), []string{"Observation/ob", "Provenance/prov1"}},
		{"/Patient?_id=pa&_revinclude=Observation:subject&_revinclude=Provenance:target", refs("Patient", "pa"), refs("Observation", "oa")},
		{"/Organization?_id=org1&_revinclude=Patient:organization&_revinclude:iterate=Observation:subject&_include:iterate=Observation:subject", refs("Organization", "org1"), []string{"Patient/pa", "Observation/oa"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			s.t = t
			bundle := s.searchBundle(tc.query)
			wantRefs(t, "matches", entryRefs(bundle, "match"), tc.matches...)
			wantRefs(t, "included", entryRefs(bundle, "include"), tc.included...)
		})
	}
}

func TestSearchIncludeCap(t *testing.T) {
	s := newTestServer(t, func(c *resources.Config) { c.MaxIncluded = 1 })
	loadClinic(s)
	bundle := s.searchBundle("/Observation?_id=oa,ob&_include=Observation:subject")
	if got := entryRefs(bundle, "include"); len(got) != 1 {
		t.Errorf("included = %v, want exactly 1 under MaxIncluded 1", got)
	}
	outcome := outcomeEntry(t, bundle)
	issue := outcome["issue"].([]any)[0].(map[string]any)
	if issue["severity"] != "warning" || issue["code"] != "incomplete" {
		t.Errorf("outcome issue = %v, want an incomplete warning", issue)
	}
}

// outcomeEntry returns the OperationOutcome of the Bundle's outcome entry.
func outcomeEntry(t *testing.T, bundle map[string]any) map[string]any {
	t.Helper()
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		entry := e.(map[string]any)
		if search, _ := entry["search"].(map[string]any); search["mode"] == "outcome" {
			resource := entry["resource"].(map[string]any)
			if resource["resourceType"] != "OperationOutcome" {
				t.Fatalf("outcome entry holds a %v", resource["resourceType"])
			}
			return resource
		}
	}
	t.Fatalf("no outcome entry in %v", bundle)
	return nil
}

func TestSearchCompartment(t *testing.T) {
	s := newTestServer(t)
	loadClinic(s)
	s.put("Patient", "pc", patient("pc", `,"link":[{"other":{"reference":"Patient/pa"},"type":"seealso"}]`))
	wantRefs(t, "Patient/pa/Observation", s.search("/Patient/pa/Observation"), "Observation/oa", "Observation/od")
	wantRefs(t, "Patient/pb/Observation", s.search("/Patient/pb/Observation"), "Observation/ob")
	wantRefs(t, "Patient/pa/Observation?code=999", s.search("/Patient/pa/Observation?code=999"))
	wantRefs(t, "Patient/pa/Patient", s.search("/Patient/pa/Patient"), "Patient/pa", "Patient/pc")
	wantRefs(t, "Patient/nobody/Observation", s.search("/Patient/nobody/Observation"))

	notIn := s.do("GET", "/Patient/pa/Organization", "")
	wantStatus(t, notIn, http.StatusNotFound)
	otherCompartment := s.do("GET", "/Practitioner/dr1/Observation", "")
	wantStatus(t, otherCompartment, http.StatusNotFound)
}

func TestSearchSystemAndPost(t *testing.T) {
	s := newTestServer(t)
	loadClinic(s)
	wantRefs(t, "GET /?_type", s.search("/?_type=Patient,Organization&_id=pa,org1,oa"), "Patient/pa", "Organization/org1")
	wantRefs(t, "GET / over all types", s.search("/?_id=oa,org2"), "Observation/oa", "Organization/org2")
	wantRefs(t, "GET /?_type with name", s.search("/?_type=Patient,Practitioner&name=house"), "Practitioner/dr1")
	wantRefs(t, "GET /Patient/_search", s.search("/Patient/_search?given=paula"), "Patient/pb")

	post := func(path, body string) []string {
		t.Helper()
		resp := s.do("POST", path, body, "Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, resp, http.StatusOK)
		return entryRefs(resp.json(t), "match")
	}
	wantRefs(t, "POST /Patient/_search", post("/Patient/_search", "name=peter"), "Patient/pa")
	wantRefs(t, "POST merges URL and body", post("/Observation/_search?code=1234", "subject=Patient/pa"), "Observation/oa")
	wantRefs(t, "POST /_search", post("/_search", "_type=Organization&name=beta"), "Organization/org2")

	wrongType := s.do("POST", "/Patient/_search", `{"name":"x"}`, "Content-Type", "application/json")
	wantStatus(t, wrongType, http.StatusUnsupportedMediaType)
	wantOutcome(t, wrongType, "not-supported", "")
}

func TestSearchPagingWhileWriting(t *testing.T) {
	s := newTestServer(t)
	for _, id := range []string{"a1", "a3", "a5", "a7", "a9", "b1", "b3"} {
		s.put("Patient", id, patient(id, `,"name":[{"family":"Pager"}]`))
	}

	bundle := s.searchBundle("/Patient?family=pager&_sort=_id&_count=3&_total=accurate")
	var seen []string
	var pages [][]string
	for i := 0; ; i++ {
		if i > 5 {
			t.Fatal("more pages than 7 matches in pages of 3 can fill")
		}
		page := entryRefs(bundle, "match")
		pages = append(pages, page)
		seen = append(seen, page...)
		if total := bundle["total"]; total != json.Number("7") {
			t.Errorf("page %d total = %v, want 7", i, total)
		}
		if i == 0 {
			// Written between pages: a new match and the deletion of a
			// shown one must not shift the pages that follow.
			s.put("Patient", "a4", patient("a4", `,"name":[{"family":"Pager"}]`))
			wantStatus(t, s.do("DELETE", "/Patient/a3", ""), http.StatusNoContent)
		}
		next := link(bundle, "next")
		if next == "" {
			break
		}
		if !strings.Contains(next, "_page=") || !strings.Contains(next, "family=pager") || !strings.Contains(next, "_count=3") {
			t.Errorf("next link %s lacks the applied parameters or _page", next)
		}
		bundle = s.searchBundle(strings.TrimPrefix(next, s.url))
	}
	want := refs("Patient", "a1", "a3", "a5", "a7", "a9", "b1", "b3")
	if !slices.Equal(seen, want) {
		t.Errorf("pages gave %v, want %v", seen, want)
	}

	previous := link(bundle, "previous")
	if previous == "" {
		t.Fatal("last page has no previous link")
	}
	back := entryRefs(s.searchBundle(strings.TrimPrefix(previous, s.url)), "match")
	if !slices.Equal(back, pages[len(pages)-2]) {
		t.Errorf("previous page = %v, want %v", back, pages[len(pages)-2])
	}

	fresh := s.search("/Patient?family=pager&_sort=_id&_count=10")
	wantRefs(t, "a new search", fresh, refs("Patient", "a1", "a4", "a5", "a7", "a9", "b1", "b3")...)
}

func link(bundle map[string]any, relation string) string {
	links, _ := bundle["link"].([]any)
	for _, l := range links {
		if l := l.(map[string]any); l["relation"] == relation {
			return l["url"].(string)
		}
	}
	return ""
}

func TestSearchTotalAndSummary(t *testing.T) {
	s := newTestServer(t)
	for _, id := range []string{"t1", "t2", "t3", "t4"} {
		s.put("Patient", id, patient(id, `,"name":[{"family":"Total"}],"maritalStatus":{"text":"single"},"birthDate":"1980-01-01"`))
	}

	paged := s.searchBundle("/Patient?family=total&_count=2")
	if _, ok := paged["total"]; ok {
		t.Errorf("total = %v on a multi-page search without _total", paged["total"])
	}
	onePage := s.searchBundle("/Patient?family=total")
	if onePage["total"] != json.Number("4") {
		t.Errorf("total of a single page = %v, want 4", onePage["total"])
	}
	accurate := s.searchBundle("/Patient?family=total&_count=2&_total=accurate")
	if accurate["total"] != json.Number("4") {
		t.Errorf("_total=accurate total = %v, want 4", accurate["total"])
	}
	none := s.searchBundle("/Patient?family=total&_count=2&_total=none")
	if _, ok := none["total"]; ok {
		t.Errorf("_total=none gave total %v", none["total"])
	}
	s.searchBundle("/Patient?family=total&_count=2&_total=estimate")

	for _, query := range []string{"_summary=count", "_count=0"} {
		count := s.searchBundle("/Patient?family=total&" + query)
		if count["total"] != json.Number("4") {
			t.Errorf("%s total = %v, want 4", query, count["total"])
		}
		if _, ok := count["entry"]; ok {
			t.Errorf("%s returned entries", query)
		}
		if next := bundleLink(count, "next"); next != "" {
			t.Errorf("%s has a next link %q; a count has no pages", query, next)
		}
	}

	summary := s.searchBundle("/Patient?family=total&_summary=true&_count=1")
	resource := summary["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	if _, ok := resource["maritalStatus"]; ok {
		t.Error("_summary=true kept maritalStatus, which is not a summary element")
	}
	if _, ok := resource["birthDate"]; !ok {
		t.Error("_summary=true dropped birthDate, a summary element")
	}
	if !strings.Contains(mustJSON(t, resource["meta"]), "SUBSETTED") {
		t.Errorf("_summary=true result lacks the SUBSETTED tag: %v", resource["meta"])
	}

	elements := s.searchBundle("/Patient?family=total&_elements=birthDate&_count=1")
	resource = elements["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	if _, ok := resource["name"]; ok {
		t.Error("_elements=birthDate kept name")
	}
	if resource["birthDate"] != "1980-01-01" {
		t.Errorf("_elements=birthDate: birthDate = %v", resource["birthDate"])
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSearchLenientAndStrict(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "l1", patient("l1", `,"name":[{"family":"Lenient"}]`))

	bundle := s.searchBundle("/Patient?family=lenient&nonsense=1&_text=foo")
	wantRefs(t, "lenient matches", entryRefs(bundle, "match"), "Patient/l1")
	outcome := outcomeEntry(t, bundle)
	var ignored []string
	for _, i := range outcome["issue"].([]any) {
		issue := i.(map[string]any)
		if issue["severity"] != "warning" {
			t.Errorf("issue severity = %v, want warning", issue["severity"])
		}
		ignored = append(ignored, issue["expression"].([]any)[0].(string))
	}
	wantRefs(t, "ignored parameters", ignored, "_text", "nonsense")

	explicit := s.searchBundle("/Patient?family=lenient&nonsense=1", "Prefer", "handling=lenient")
	wantRefs(t, "explicit lenient", entryRefs(explicit, "match"), "Patient/l1")

	strict := s.do("GET", "/Patient?family=lenient&nonsense=1", "", "Prefer", "handling=strict")
	wantStatus(t, strict, http.StatusBadRequest)
	wantOutcome(t, strict, "not-supported", "nonsense")

	strictKnown := s.do("GET", "/Patient?family=lenient", "", "Prefer", "handling=strict")
	wantStatus(t, strictKnown, http.StatusOK)
}

func TestSearchBadRequests(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name       string
		path       string
		code       string
		expression string
	}{
		{"bad date", "/Patient?birthdate=1970-13", "invalid", "birthdate"},
		{"bad day", "/Patient?birthdate=2023-02-30", "invalid", "birthdate"},
		{"unknown prefix", "/Patient?birthdate=xx1970", "invalid", "birthdate"},
		{"prefix on a token", "/Patient?gender=ge", "", ""},
		{"unknown modifier", "/Patient?name:fuzzy=x", "invalid", "name:fuzzy"},
		{"modifier not for the type", "/Patient?birthdate:exact=1970", "invalid", "birthdate:exact"},
		{"unsupported modifier", "/Observation?code:in=http://example.org/vs", "not-supported", "code:in"},
		{"bad number", "/RiskAssessment?probability=abc", "invalid", "probability"},
		{"bad number prefix", "/RiskAssessment?probability=zz0.5", "invalid", "probability"},
		{"bad quantity", "/Observation?value-quantity=5%7Cmg", "invalid", "value-quantity"},
		{"bad token", "/Observation?code=a%7Cb%7Cc", "invalid", "code"},
		{"bad missing", "/Patient?name:missing=yes", "invalid", "name:missing"},
		{"bad reference type", "/Observation?subject:Medication=1", "invalid", "subject:Medication"},
		{"bad composite", "/Observation?code-value-quantity=8480-6", "invalid", "code-value-quantity"},
		{"bad _count", "/Patient?_count=many", "invalid", "_count"},
		{"bad _sort", "/Patient?_sort=nonsense", "invalid", "_sort"},
		{"bad _total", "/Patient?_total=all", "invalid", "_total"},
		{"bad _summary", "/Patient?_summary=some", "invalid", "_summary"},
		{"bad _include", "/Patient?_include=Patient:name", "invalid", "_include"},
		{"bad _revinclude", "/Patient?_revinclude=Nothing:subject", "invalid", "_revinclude"},
		{"bad _type", "/?_type=Unicorn", "invalid", "_type"},
		{"bad _page", "/Patient?_page=not-a-cursor", "invalid", "_page"},
		{"bad _has", "/Patient?_has:Observation:code:status=final", "invalid", "_has:Observation:code:status"},
		{"bad chained value", "/Observation?subject:Patient.birthdate=1970-99", "invalid", "subject:Patient.birthdate"},
		{"chain on a non-reference", "/Patient?name.family=x", "invalid", "name.family"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("GET", tc.path, "")
			if tc.code == "" {
				// A token value that starts with letters is a code, not a
				// prefix.
				wantStatus(t, resp, http.StatusOK)
				return
			}
			wantStatus(t, resp, http.StatusBadRequest)
			wantOutcome(t, resp, tc.code, tc.expression)
		})
	}
}

func TestSearchTooCostly(t *testing.T) {
	s := newTestServer(t)
	ids := make([]string, 1001)
	for i := range ids {
		ids[i] = "id" + strconv.Itoa(i)
	}
	// The SQLite store's default limit is 1,000 OR-ed values per search.
	resp := s.do("GET", "/Patient?_id="+strings.Join(ids, ","), "")
	wantStatus(t, resp, http.StatusBadRequest)
	wantOutcome(t, resp, "too-costly", "")
}
