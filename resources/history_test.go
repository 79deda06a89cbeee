package resources_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// bundleEntries returns a Bundle's entries as objects.
func bundleEntries(t *testing.T, bundle map[string]any) []map[string]any {
	t.Helper()
	raw, _ := bundle["entry"].([]any)
	entries := make([]map[string]any, 0, len(raw))
	for _, e := range raw {
		entries = append(entries, e.(map[string]any))
	}
	return entries
}

func bundleLink(bundle map[string]any, relation string) string {
	links, _ := bundle["link"].([]any)
	for _, l := range links {
		link := l.(map[string]any)
		if link["relation"] == relation {
			return link["url"].(string)
		}
	}
	return ""
}

func jsonString(v any) string {
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	s, _ := v.(string)
	return s
}

func TestHistoryInstance(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)
	wantStatus(t, s.do("PUT", "/Patient/"+id, body), http.StatusOK)
	wantStatus(t, s.do("DELETE", "/Patient/"+id, ""), http.StatusNoContent)

	resp := s.do("GET", "/Patient/"+id+"/_history", "")

	wantStatus(t, resp, http.StatusOK)
	bundle := resp.json(t)
	if bundle["resourceType"] != "Bundle" || bundle["type"] != "history" {
		t.Fatalf("resourceType/type = %v/%v, want Bundle/history", bundle["resourceType"], bundle["type"])
	}
	if got := jsonString(bundle["total"]); got != "3" {
		t.Errorf("total = %s, want 3", got)
	}
	entries := bundleEntries(t, bundle)
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	want := []struct {
		method, url, status, etag, lastModified string
		hasResource                             bool
	}{
		{"DELETE", "Patient/" + id, "204 No Content", `W/"3"`, "2026-03-01T10:00:02.000Z", false},
		{"PUT", "Patient/" + id, "200 OK", `W/"2"`, "2026-03-01T10:00:01.000Z", true},
		{"POST", "Patient", "201 Created", `W/"1"`, "2026-03-01T10:00:00.000Z", true},
	}
	for i, w := range want {
		e := entries[i]
		request := e["request"].(map[string]any)
		response := e["response"].(map[string]any)
		if e["fullUrl"] != s.url+"/Patient/"+id {
			t.Errorf("entry %d fullUrl = %v", i, e["fullUrl"])
		}
		if request["method"] != w.method || request["url"] != w.url {
			t.Errorf("entry %d request = %v, want %s %s", i, request, w.method, w.url)
		}
		if response["status"] != w.status || response["etag"] != w.etag || response["lastModified"] != w.lastModified {
			t.Errorf("entry %d response = %v, want %s %s %s", i, response, w.status, w.etag, w.lastModified)
		}
		if _, ok := e["resource"]; ok != w.hasResource {
			t.Errorf("entry %d has resource = %v, want %v", i, ok, w.hasResource)
		}
	}
	if self := bundleLink(bundle, "self"); self != s.url+"/Patient/"+id+"/_history?_count=50" {
		t.Errorf("self link = %q", self)
	}
}

func TestHistoryInstanceMissing(t *testing.T) {
	s := newTestServer(t)
	resp := s.do("GET", "/Patient/nope/_history", "")
	wantStatus(t, resp, http.StatusNotFound)
	wantOutcome(t, resp, "not-found", "")
}

func TestHistoryTypeAndSystem(t *testing.T) {
	s := newTestServer(t)
	s.create("Patient", patientJSON)
	s.create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"}}`)
	s.create("Patient", patientJSON)

	patients := s.do("GET", "/Patient/_history", "").json(t)
	if got := jsonString(patients["total"]); got != "2" {
		t.Errorf("Patient history total = %s, want 2", got)
	}
	for _, e := range bundleEntries(t, patients) {
		if e["resource"].(map[string]any)["resourceType"] != "Patient" {
			t.Errorf("type history holds %v", e["resource"])
		}
	}

	system := s.do("GET", "/_history", "").json(t)
	if got := jsonString(system["total"]); got != "3" {
		t.Errorf("system history total = %s, want 3", got)
	}
	entries := bundleEntries(t, system)
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	wantTimes := []string{"2026-03-01T10:00:02.000Z", "2026-03-01T10:00:01.000Z", "2026-03-01T10:00:00.000Z"}
	for i, e := range entries {
		if got := e["response"].(map[string]any)["lastModified"]; got != wantTimes[i] {
			t.Errorf("entry %d lastModified = %v, want %s (newest first)", i, got, wantTimes[i])
		}
	}
}

func TestHistoryPaging(t *testing.T) {
	s := newTestServer(t)
	for range 5 {
		s.create("Patient", patientJSON)
	}

	seen := map[string]bool{}
	next := "/Patient/_history?_count=2"
	pages := 0
	for next != "" && pages < 10 {
		resp := s.do("GET", next, "")
		wantStatus(t, resp, http.StatusOK)
		bundle := resp.json(t)
		if got := jsonString(bundle["total"]); got != "5" {
			t.Errorf("page %d total = %s, want 5", pages, got)
		}
		for _, e := range bundleEntries(t, bundle) {
			fullURL := e["fullUrl"].(string)
			if seen[fullURL] {
				t.Errorf("%s repeated on page %d", fullURL, pages)
			}
			seen[fullURL] = true
		}
		if pages > 0 && bundleLink(bundle, "previous") == "" {
			t.Errorf("page %d has no previous link", pages)
		}
		next = strings.TrimPrefix(bundleLink(bundle, "next"), s.url)
		pages++
		if pages == 1 {
			// A write between pages must not shift later pages.
			s.create("Patient", patientJSON)
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct entries across pages, want 5", len(seen))
	}
}

func TestHistoryParameters(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON) // 10:00:00
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)
	s.do("PUT", "/Patient/"+id, body) // 10:00:01
	s.do("PUT", "/Patient/"+id, body) // 10:00:02

	tests := []struct {
		name     string
		query    string
		total    string
		versions []string
	}{
		{"_since keeps later versions", "_since=2026-03-01T10:00:01Z", "2", []string{`W/"3"`, `W/"2"`}},
		{"_since with offset", "_since=2026-03-01T11:00:01%2B01:00", "2", []string{`W/"3"`, `W/"2"`}},
		{"_at an instant", "_at=2026-03-01T10:00:01.500Z", "1", []string{`W/"2"`}},
		{"_at a day covers all", "_at=2026-03-01", "3", []string{`W/"3"`, `W/"2"`, `W/"1"`}},
		{"_at before creation", "_at=2026-02-28", "0", nil},
		{"_count=0 gives the total only", "_count=0", "3", nil},
		{"_count over the maximum is capped", "_count=100000", "3", []string{`W/"3"`, `W/"2"`, `W/"1"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("GET", "/Patient/"+id+"/_history?"+tc.query, "")
			wantStatus(t, resp, http.StatusOK)
			bundle := resp.json(t)
			if got := jsonString(bundle["total"]); got != tc.total {
				t.Errorf("total = %s, want %s", got, tc.total)
			}
			var versions []string
			for _, e := range bundleEntries(t, bundle) {
				versions = append(versions, e["response"].(map[string]any)["etag"].(string))
			}
			if strings.Join(versions, " ") != strings.Join(tc.versions, " ") {
				t.Errorf("versions = %v, want %v", versions, tc.versions)
			}
		})
	}

	self := bundleLink(s.do("GET", "/Patient/"+id+"/_history?_since=2026-03-01&foo=bar", "").json(t), "self")
	u, err := url.Parse(self)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("foo") != "" || u.Query().Get("_since") != "2026-03-01" {
		t.Errorf("self link %q should carry _since and not the ignored foo", self)
	}
}

func TestHistoryInvalidParameters(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name       string
		query      string
		headers    []string
		expression string
	}{
		{"_since not a date", "_since=yesterday", nil, "_since"},
		{"_since impossible date", "_since=2026-02-30", nil, "_since"},
		{"_at not a date", "_at=now", nil, "_at"},
		{"_count negative", "_count=-1", nil, "_count"},
		{"_count not a number", "_count=ten", nil, "_count"},
		{"_page not a cursor", "_page=!!!", nil, "_page"},
		{"unknown parameter under strict handling", "foo=bar", []string{"Prefer", "handling=strict"}, "foo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("GET", "/_history?"+tc.query, "", tc.headers...)
			wantStatus(t, resp, http.StatusBadRequest)
			wantOutcome(t, resp, "invalid", tc.expression)
		})
	}

	lenient := s.do("GET", "/_history?foo=bar", "")
	wantStatus(t, lenient, http.StatusOK)
}
