package resources_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/resources"
)

func TestCreateRejectsInvalidBodies(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		status     int
		code       string
		expression string
	}{
		{"empty body", "", http.StatusBadRequest, "structure", ""},
		{"malformed JSON", `{"resourceType":"Patient",`, http.StatusBadRequest, "structure", ""},
		{"array instead of object", `[{"resourceType":"Patient"}]`, http.StatusBadRequest, "structure", ""},
		{"missing resourceType", `{"active":true}`, http.StatusBadRequest, "required", ""},
		{"unknown resourceType", `{"resourceType":"Patientt"}`, http.StatusBadRequest, "value", ""},
		{"resourceType differs from URL", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, http.StatusBadRequest, "invalid", "resourceType"},
		{"unknown element", `{"resourceType":"Patient","favouriteColour":"blue"}`, http.StatusBadRequest, "structure", "Patient.favouriteColour"},
		{"month 13", `{"resourceType":"Patient","birthDate":"1990-13-01"}`, http.StatusBadRequest, "value", "Patient.birthDate"},
		{"boolean as string", `{"resourceType":"Patient","active":"yes"}`, http.StatusBadRequest, "value", "Patient.active"},
		{"array for a single element", `{"resourceType":"Patient","birthDate":["1990-01-01"]}`, http.StatusBadRequest, "structure", "Patient.birthDate"},
		{"object for a list element", `{"resourceType":"Patient","name":{"family":"Doe"}}`, http.StatusBadRequest, "structure", "Patient.name"},
		{"duplicate key", `{"resourceType":"Patient","active":true,"active":false}`, http.StatusBadRequest, "structure", "Patient.active"},
		{"missing required element", `{"resourceType":"Observation","code":{"text":"x"}}`, http.StatusBadRequest, "required", "Observation.status"},
		{"invalid code", `{"resourceType":"Patient","gender":"mail"}`, http.StatusBadRequest, "code-invalid", "Patient.gender"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t)
			resp := s.do("POST", "/Patient", tc.body, "Content-Type", "application/fhir+json")
			wantStatus(t, resp, tc.status)
			wantOutcome(t, resp, tc.code, tc.expression)

			history := s.do("GET", "/Patient/_history", "")
			wantStatus(t, history, http.StatusOK)
			if total := history.json(t)["total"]; total.(interface{ String() string }).String() != "0" {
				t.Errorf("history total after a rejected create = %v, want 0", total)
			}
		})
	}
}

func TestBodyLimits(t *testing.T) {
	s := newTestServer(t, func(c *resources.Config) {
		c.Limits = fhir.Limits{MaxBytes: 1024, MaxDepth: 6}
	})

	large := `{"resourceType":"Patient","name":[{"family":"` + strings.Repeat("x", 2048) + `"}]}`
	resp := s.do("POST", "/Patient", large)
	wantStatus(t, resp, http.StatusRequestEntityTooLarge)
	wantOutcome(t, resp, "too-costly", "")

	deep := `{"resourceType":"Patient","extension":[{"url":"http://e.org/a","extension":[{"url":"http://e.org/b","extension":[{"url":"http://e.org/c","valueString":"x"}]}]}]}`
	resp = s.do("POST", "/Patient", deep)
	wantStatus(t, resp, http.StatusBadRequest)
	wantOutcome(t, resp, "too-costly", "")
}

func TestContentNegotiation(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	tests := []struct {
		name        string
		path        string
		headers     []string
		status      int
		contentType string
	}{
		{"no Accept", "/Patient/" + id, nil, http.StatusOK, "application/fhir+json; charset=utf-8"},
		{"Accept fhir+json", "/Patient/" + id, []string{"Accept", "application/fhir+json"}, http.StatusOK, "application/fhir+json; charset=utf-8"},
		{"Accept json", "/Patient/" + id, []string{"Accept", "application/json"}, http.StatusOK, "application/json; charset=utf-8"},
		{"Accept browser default", "/Patient/" + id, []string{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, http.StatusOK, "application/fhir+json; charset=utf-8"},
		{"Accept XML only", "/Patient/" + id, []string{"Accept", "application/fhir+xml"}, http.StatusNotAcceptable, "application/fhir+json; charset=utf-8"},
		{"_format json", "/Patient/" + id + "?_format=json", []string{"Accept", "application/fhir+xml"}, http.StatusOK, "application/fhir+json; charset=utf-8"},
		{"_format xml", "/Patient/" + id + "?_format=xml", nil, http.StatusNotAcceptable, "application/fhir+json; charset=utf-8"},
		{"_format full media type", "/Patient/" + id + "?_format=application/json", nil, http.StatusOK, "application/json; charset=utf-8"},
		{"metadata XML", "/metadata?_format=application/fhir%2Bxml", nil, http.StatusNotAcceptable, "application/fhir+json; charset=utf-8"},
		{"Accept R4 version", "/Patient/" + id, []string{"Accept", "application/fhir+json; fhirVersion=4.0"}, http.StatusOK, "application/fhir+json; charset=utf-8"},
		{"Accept STU3 only", "/Patient/" + id, []string{"Accept", "application/fhir+json; fhirVersion=3.0"}, http.StatusNotAcceptable, "application/fhir+json; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("GET", tc.path, "", tc.headers...)
			wantStatus(t, resp, tc.status)
			wantHeader(t, resp, "Content-Type", tc.contentType)
			if tc.status == http.StatusNotAcceptable {
				wantOutcome(t, resp, "not-supported", "")
			}
		})
	}
}

func TestRequestContentType(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name        string
		contentType string
		status      int
	}{
		{"fhir+json", "application/fhir+json", http.StatusCreated},
		{"fhir+json with charset", "application/fhir+json; charset=UTF-8", http.StatusCreated},
		{"json", "application/json", http.StatusCreated},
		{"fhir+xml", "application/fhir+xml", http.StatusUnsupportedMediaType},
		{"xml", "application/xml", http.StatusUnsupportedMediaType},
		{"text", "text/plain", http.StatusUnsupportedMediaType},
		{"latin-1", "application/fhir+json; charset=iso-8859-1", http.StatusUnsupportedMediaType},
		{"R4 version", "application/fhir+json; fhirVersion=4.0", http.StatusCreated},
		{"R5 version", "application/fhir+json; fhirVersion=5.0", http.StatusUnsupportedMediaType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do("POST", "/Patient", patientJSON, "Content-Type", tc.contentType)
			wantStatus(t, resp, tc.status)
			if tc.status == http.StatusUnsupportedMediaType {
				wantOutcome(t, resp, "not-supported", "")
			}
		})
	}
}

func TestPrettyPrinting(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)

	pretty := s.do("GET", "/Patient/"+id+"?_pretty=true", "")
	compact := s.do("GET", "/Patient/"+id, "")

	wantStatus(t, pretty, http.StatusOK)
	if !strings.HasPrefix(string(pretty.body), "{\n  \"resourceType\": \"Patient\",\n") {
		t.Errorf("_pretty=true body does not start indented: %.60s", pretty.body)
	}
	if strings.Contains(string(compact.body), "\n") {
		t.Errorf("compact body contains a newline: %.60s", compact.body)
	}
	if canonical(t, pretty.body) != canonical(t, compact.body) {
		t.Error("_pretty=true changed the content")
	}
}

func TestSummaryAndElements(t *testing.T) {
	s := newTestServer(t)
	body := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter</div>"},` +
		`"active":true,"name":[{"family":"Chalmers"}],"birthDate":"1974-12-25",` +
		`"maritalStatus":{"text":"married"},"photo":[{"title":"portrait"}]}`
	id := s.create("Patient", body)

	t.Run("_summary=true keeps summary elements", func(t *testing.T) {
		obj := s.do("GET", "/Patient/"+id+"?_summary=true", "").json(t)
		for _, kept := range []string{"id", "meta", "active", "name", "birthDate"} {
			if _, ok := obj[kept]; !ok {
				t.Errorf("%s missing from _summary=true", kept)
			}
		}
		for _, dropped := range []string{"text", "maritalStatus", "photo"} {
			if _, ok := obj[dropped]; ok {
				t.Errorf("%s present in _summary=true", dropped)
			}
		}
		wantSubsetted(t, obj)
	})
	t.Run("_summary=text keeps text", func(t *testing.T) {
		obj := s.do("GET", "/Patient/"+id+"?_summary=text", "").json(t)
		if _, ok := obj["text"]; !ok {
			t.Error("text missing from _summary=text")
		}
		if _, ok := obj["name"]; ok {
			t.Error("name present in _summary=text")
		}
		wantSubsetted(t, obj)
	})
	t.Run("_summary=data drops text", func(t *testing.T) {
		obj := s.do("GET", "/Patient/"+id+"?_summary=data", "").json(t)
		if _, ok := obj["text"]; ok {
			t.Error("text present in _summary=data")
		}
		if _, ok := obj["photo"]; !ok {
			t.Error("photo missing from _summary=data")
		}
	})
	t.Run("_summary=false is the whole resource", func(t *testing.T) {
		resp := s.do("GET", "/Patient/"+id+"?_summary=false", "")
		full := s.do("GET", "/Patient/"+id, "")
		if string(resp.body) != string(full.body) {
			t.Errorf("_summary=false differs from a plain read")
		}
	})
	t.Run("_summary invalid", func(t *testing.T) {
		resp := s.do("GET", "/Patient/"+id+"?_summary=some", "")
		wantStatus(t, resp, http.StatusBadRequest)
		wantOutcome(t, resp, "invalid", "_summary")
	})
	t.Run("_elements keeps named elements", func(t *testing.T) {
		obj := s.do("GET", "/Patient/"+id+"?_elements=birthDate,photo", "").json(t)
		for _, kept := range []string{"id", "meta", "birthDate", "photo"} {
			if _, ok := obj[kept]; !ok {
				t.Errorf("%s missing from _elements", kept)
			}
		}
		for _, dropped := range []string{"text", "name", "active", "maritalStatus"} {
			if _, ok := obj[dropped]; ok {
				t.Errorf("%s present in _elements=birthDate,photo", dropped)
			}
		}
		wantSubsetted(t, obj)
	})
}

func wantSubsetted(t *testing.T, obj map[string]any) {
	t.Helper()
	meta, _ := obj["meta"].(map[string]any)
	tags, _ := meta["tag"].([]any)
	for _, tag := range tags {
		coding := tag.(map[string]any)
		if coding["code"] == "SUBSETTED" && coding["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue" {
			return
		}
	}
	t.Errorf("meta.tag has no SUBSETTED coding: %v", meta)
}
