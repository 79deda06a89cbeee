package resources_test

import (
	"net/http"
	"testing"
)

func TestPatch(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)

	resp := s.do("PATCH", "/Patient/"+id, `[{"op":"replace","path":"/birthDate","value":"1975-01-02"}]`,
		"Content-Type", "application/json-patch+json", "If-Match", `W/"1"`)

	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "ETag", `W/"2"`)
	wantHeader(t, resp, "Location", s.url+"/Patient/"+id+"/_history/2")
	obj := resp.json(t)
	if obj["birthDate"] != "1975-01-02" {
		t.Errorf("birthDate = %v, want 1975-01-02", obj["birthDate"])
	}
	if obj["meta"].(map[string]any)["versionId"] != "2" {
		t.Errorf("meta.versionId = %v, want 2", obj["meta"])
	}
	read := s.do("GET", "/Patient/"+id, "")
	if read.json(t)["birthDate"] != "1975-01-02" {
		t.Errorf("read after patch: birthDate = %v", read.json(t)["birthDate"])
	}

	history := s.do("GET", "/Patient/"+id+"/_history", "").json(t)
	newest := bundleEntries(t, history)[0]
	request := newest["request"].(map[string]any)
	if request["method"] != "PATCH" || request["url"] != "Patient/"+id {
		t.Errorf("history entry request = %v, want PATCH Patient/%s", request, id)
	}
}

func TestPatchErrors(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	patchType := "application/json-patch+json"
	tests := []struct {
		name        string
		path        string
		body        string
		contentType string
		ifMatch     string
		status      int
		code        string
	}{
		{"FHIRPath Patch not supported", "/Patient/" + id, `{"resourceType":"Parameters"}`, "application/fhir+json", "", http.StatusUnsupportedMediaType, "not-supported"},
		{"malformed patch document", "/Patient/" + id, `{"op":"replace"}`, patchType, "", http.StatusBadRequest, "invalid"},
		{"malformed JSON", "/Patient/" + id, `[{"op":`, patchType, "", http.StatusBadRequest, "structure"},
		{"failed test operation", "/Patient/" + id, `[{"op":"test","path":"/gender","value":"female"}]`, patchType, "", http.StatusUnprocessableEntity, "processing"},
		{"path that does not exist", "/Patient/" + id, `[{"op":"remove","path":"/deceasedBoolean"}]`, patchType, "", http.StatusUnprocessableEntity, "processing"},
		{"result is invalid", "/Patient/" + id, `[{"op":"replace","path":"/birthDate","value":"1975-13-40"}]`, patchType, "", http.StatusUnprocessableEntity, "value"},
		{"result changes the id", "/Patient/" + id, `[{"op":"replace","path":"/id","value":"other"}]`, patchType, "", http.StatusUnprocessableEntity, "processing"},
		{"stale If-Match", "/Patient/" + id, `[{"op":"replace","path":"/active","value":false}]`, patchType, `W/"9"`, http.StatusPreconditionFailed, "conflict"},
		{"missing resource", "/Patient/missing", `[{"op":"replace","path":"/active","value":false}]`, patchType, "", http.StatusNotFound, "not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Content-Type", tc.contentType}
			if tc.ifMatch != "" {
				headers = append(headers, "If-Match", tc.ifMatch)
			}
			resp := s.do("PATCH", tc.path, tc.body, headers...)
			wantStatus(t, resp, tc.status)
			wantOutcome(t, resp, tc.code, "")
		})
	}
	current := s.do("GET", "/Patient/"+id, "")
	wantHeader(t, current, "ETag", `W/"1"`)
}
