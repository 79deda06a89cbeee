package resources_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const patientJSON = `{"resourceType":"Patient","id":"ignored-by-create","active":true,` +
	`"name":[{"family":"Chalmers","given":["Peter","James"]}],"gender":"male","birthDate":"1974-12-25"}`

func TestCreateAssignsIDAndMeta(t *testing.T) {
	s := newTestServer(t)

	resp := s.do("POST", "/Patient", patientJSON)

	wantStatus(t, resp, http.StatusCreated)
	obj := resp.json(t)
	id, _ := obj["id"].(string)
	if id == "" || id == "ignored-by-create" {
		t.Fatalf("id = %q, want a new server-assigned id", id)
	}
	wantHeader(t, resp, "Location", s.url+"/Patient/"+id+"/_history/1")
	wantHeader(t, resp, "ETag", `W/"1"`)
	wantHeader(t, resp, "Last-Modified", "Sun, 01 Mar 2026 10:00:00 GMT")
	wantHeader(t, resp, "Content-Type", "application/fhir+json; charset=utf-8")
	meta := obj["meta"].(map[string]any)
	if meta["versionId"] != "1" {
		t.Errorf("meta.versionId = %v, want 1", meta["versionId"])
	}
	if meta["lastUpdated"] != "2026-03-01T10:00:00.000Z" {
		t.Errorf("meta.lastUpdated = %v, want 2026-03-01T10:00:00.000Z", meta["lastUpdated"])
	}
	if obj["birthDate"] != "1974-12-25" {
		t.Errorf("birthDate = %v, want 1974-12-25", obj["birthDate"])
	}
}

func TestReadReturnsStoredVersion(t *testing.T) {
	s := newTestServer(t)
	created := s.do("POST", "/Patient", patientJSON)
	id := created.json(t)["id"].(string)

	resp := s.do("GET", "/Patient/"+id, "")

	wantStatus(t, resp, http.StatusOK)
	if string(resp.body) != string(created.body) {
		t.Errorf("read body differs from create response:\nread:   %s\ncreate: %s", resp.body, created.body)
	}
	wantHeader(t, resp, "ETag", `W/"1"`)
	wantHeader(t, resp, "Last-Modified", "Sun, 01 Mar 2026 10:00:00 GMT")
	wantHeader(t, resp, "Content-Type", "application/fhir+json; charset=utf-8")
}

func TestReadHeadHasNoBody(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)

	resp := s.do("HEAD", "/Patient/"+id, "")

	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "ETag", `W/"1"`)
	if len(resp.body) != 0 {
		t.Errorf("HEAD body = %q, want empty", resp.body)
	}
}

func TestReadErrors(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"missing resource", "/Patient/does-not-exist", http.StatusNotFound, "not-found"},
		{"unknown type", "/Patient2/1", http.StatusNotFound, "not-supported"},
		{"abstract type", "/DomainResource/1", http.StatusNotFound, "not-supported"},
		{"id with invalid characters", "/Patient/a_b", http.StatusBadRequest, "invalid"},
		{"id over 64 characters", "/Patient/" + strings.Repeat("a", 65), http.StatusBadRequest, "invalid"},
		{"missing version", "/Patient/does-not-exist/_history/1", http.StatusNotFound, "not-found"},
		{"version not a number", "/Patient/x/_history/abc", http.StatusNotFound, "not-found"},
		{"unknown route", "/Patient/1/_history/1/extra", http.StatusNotFound, "not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("GET", tc.path, "")
			wantStatus(t, resp, tc.status)
			wantOutcome(t, resp, tc.code, "")
		})
	}
}

func TestVread(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	update := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)
	update = strings.Replace(update, `"active":true`, `"active":false`, 1)
	wantStatus(t, s.do("PUT", "/Patient/"+id, update), http.StatusOK)

	v1 := s.do("GET", "/Patient/"+id+"/_history/1", "")
	v2 := s.do("GET", "/Patient/"+id+"/_history/2", "")
	v3 := s.do("GET", "/Patient/"+id+"/_history/3", "")

	wantStatus(t, v1, http.StatusOK)
	wantHeader(t, v1, "ETag", `W/"1"`)
	if v1.json(t)["active"] != true {
		t.Errorf("version 1 active = %v, want true", v1.json(t)["active"])
	}
	wantStatus(t, v2, http.StatusOK)
	wantHeader(t, v2, "ETag", `W/"2"`)
	wantHeader(t, v2, "Last-Modified", "Sun, 01 Mar 2026 10:00:01 GMT")
	if v2.json(t)["active"] != false {
		t.Errorf("version 2 active = %v, want false", v2.json(t)["active"])
	}
	wantStatus(t, v3, http.StatusNotFound)
	wantOutcome(t, v3, "not-found", "")
}

func TestUpdate(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)

	resp := s.do("PUT", "/Patient/"+id, body)

	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "ETag", `W/"2"`)
	wantHeader(t, resp, "Location", s.url+"/Patient/"+id+"/_history/2")
	wantHeader(t, resp, "Last-Modified", "Sun, 01 Mar 2026 10:00:01 GMT")
	meta := resp.json(t)["meta"].(map[string]any)
	if meta["versionId"] != "2" || meta["lastUpdated"] != "2026-03-01T10:00:01.000Z" {
		t.Errorf("meta = %v, want versionId 2 and lastUpdated 2026-03-01T10:00:01.000Z", meta)
	}
}

func TestUpdateAsCreate(t *testing.T) {
	s := newTestServer(t)
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"client-chosen.1"`, 1)

	resp := s.do("PUT", "/Patient/client-chosen.1", body)

	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "ETag", `W/"1"`)
	wantHeader(t, resp, "Location", s.url+"/Patient/client-chosen.1/_history/1")
	wantStatus(t, s.do("GET", "/Patient/client-chosen.1", ""), http.StatusOK)
}

func TestUpdateRejectsWrongID(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	tests := []struct {
		name       string
		body       string
		expression string
	}{
		{"id differs from URL", patientJSON, "Patient.id"},
		{"id missing", `{"resourceType":"Patient","active":true}`, "Patient.id"},
		{"resourceType differs from URL", `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"x"}}`, "resourceType"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("PUT", "/Patient/"+id, tc.body)
			wantStatus(t, resp, http.StatusBadRequest)
			code := "invalid"
			if tc.name == "id missing" {
				code = "required"
			}
			wantOutcome(t, resp, code, tc.expression)
		})
	}
	current := s.do("GET", "/Patient/"+id, "")
	wantHeader(t, current, "ETag", `W/"1"`)
}

func TestIfMatch(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)

	stale := s.do("PUT", "/Patient/"+id, body, "If-Match", `W/"7"`)
	wantStatus(t, stale, http.StatusPreconditionFailed)
	wantOutcome(t, stale, "conflict", "")

	malformed := s.do("PUT", "/Patient/"+id, body, "If-Match", `seven`)
	wantStatus(t, malformed, http.StatusBadRequest)

	current := s.do("PUT", "/Patient/"+id, body, "If-Match", `W/"1"`)
	wantStatus(t, current, http.StatusOK)
	wantHeader(t, current, "ETag", `W/"2"`)

	strongForm := s.do("PUT", "/Patient/"+id, body, "If-Match", `"2"`)
	wantStatus(t, strongForm, http.StatusOK)
	wantHeader(t, strongForm, "ETag", `W/"3"`)

	staleDelete := s.do("DELETE", "/Patient/"+id, "", "If-Match", `W/"1"`)
	wantStatus(t, staleDelete, http.StatusPreconditionFailed)
	wantHeader(t, s.do("GET", "/Patient/"+id, ""), "ETag", `W/"3"`)
}

func TestDelete(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)

	deleted := s.do("DELETE", "/Patient/"+id, "")
	wantStatus(t, deleted, http.StatusNoContent)
	wantHeader(t, deleted, "ETag", `W/"2"`)
	if len(deleted.body) != 0 {
		t.Errorf("204 body = %q, want empty", deleted.body)
	}

	gone := s.do("GET", "/Patient/"+id, "")
	wantStatus(t, gone, http.StatusGone)
	wantOutcome(t, gone, "deleted", "")

	again := s.do("DELETE", "/Patient/"+id, "")
	wantStatus(t, again, http.StatusNoContent)
	wantHeader(t, again, "ETag", `W/"2"`)

	wantStatus(t, s.do("GET", "/Patient/"+id+"/_history/1", ""), http.StatusOK)
	wantStatus(t, s.do("GET", "/Patient/"+id+"/_history/2", ""), http.StatusGone)

	missing := s.do("DELETE", "/Patient/never-existed", "")
	wantStatus(t, missing, http.StatusNotFound)
	wantOutcome(t, missing, "not-found", "")

	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)
	recreated := s.do("PUT", "/Patient/"+id, body)
	wantStatus(t, recreated, http.StatusCreated)
	wantHeader(t, recreated, "ETag", `W/"3"`)
}

func TestConditionalRead(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"If-None-Match current version", []string{"If-None-Match", `W/"1"`}, http.StatusNotModified},
		{"If-None-Match other version", []string{"If-None-Match", `W/"2"`}, http.StatusOK},
		{"If-None-Match list with current", []string{"If-None-Match", `W/"5", W/"1"`}, http.StatusNotModified},
		{"If-Modified-Since after change", []string{"If-Modified-Since", "Sun, 01 Mar 2026 10:00:00 GMT"}, http.StatusNotModified},
		{"If-Modified-Since before change", []string{"If-Modified-Since", "Sun, 01 Mar 2026 09:59:59 GMT"}, http.StatusOK},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `W/"9"`, "If-Modified-Since", "Sun, 01 Mar 2026 11:00:00 GMT"}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("GET", "/Patient/"+id, "", tc.headers...)
			wantStatus(t, resp, tc.status)
			wantHeader(t, resp, "ETag", `W/"1"`)
			if tc.status == http.StatusNotModified && len(resp.body) != 0 {
				t.Errorf("304 body = %q, want empty", resp.body)
			}
		})
	}
}

func TestPreferReturn(t *testing.T) {
	s := newTestServer(t)

	minimal := s.do("POST", "/Patient", patientJSON, "Prefer", "return=minimal")
	wantStatus(t, minimal, http.StatusCreated)
	if len(minimal.body) != 0 {
		t.Errorf("return=minimal body = %q, want empty", minimal.body)
	}
	if !strings.HasPrefix(minimal.header.Get("Location"), s.url+"/Patient/") {
		t.Errorf("Location = %q, want a Patient URL", minimal.header.Get("Location"))
	}
	wantHeader(t, minimal, "ETag", `W/"1"`)

	outcome := s.do("POST", "/Patient", patientJSON, "Prefer", "return=OperationOutcome")
	wantStatus(t, outcome, http.StatusCreated)
	obj := wantOutcome(t, outcome, "informational", "")
	issue := obj["issue"].([]any)[0].(map[string]any)
	if issue["severity"] != "information" {
		t.Errorf("severity = %v, want information", issue["severity"])
	}

	representation := s.do("POST", "/Patient", patientJSON, "Prefer", "return=representation")
	wantStatus(t, representation, http.StatusCreated)
	if representation.json(t)["resourceType"] != "Patient" {
		t.Errorf("return=representation body: %s", representation.body)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)

	const writers = 8
	statuses := make(chan int, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			statuses <- s.do("PUT", "/Patient/"+id, body, "If-Match", `W/"1"`).status
		})
	}
	wg.Wait()
	close(statuses)

	counts := map[int]int{}
	for status := range statuses {
		counts[status]++
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusPreconditionFailed] != writers-1 {
		t.Fatalf("statuses = %v, want one 200 and %d 412", counts, writers-1)
	}
	wantHeader(t, s.do("GET", "/Patient/"+id, ""), "ETag", `W/"2"`)
}

func TestConcurrentBlindUpdatesCountVersions(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	body := strings.Replace(patientJSON, `"ignored-by-create"`, `"`+id+`"`, 1)

	const writers = 8
	statuses := make(chan int, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			statuses <- s.do("PUT", "/Patient/"+id, body).status
		})
	}
	wg.Wait()
	close(statuses)

	succeeded := 0
	for status := range statuses {
		switch status {
		case http.StatusOK:
			succeeded++
		case http.StatusConflict:
		default:
			t.Errorf("status %d, want 200 or 409", status)
		}
	}
	if succeeded == 0 {
		t.Fatal("no update succeeded")
	}
	wantHeader(t, s.do("GET", "/Patient/"+id, ""), "ETag", fmt.Sprintf(`W/"%d"`, 1+succeeded))
}
