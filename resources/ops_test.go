package resources_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir/definitions"
)

func TestCapabilityStatement(t *testing.T) {
	s := newTestServer(t)

	resp := s.do("GET", "/metadata", "")

	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/fhir+json; charset=utf-8")
	obj := resp.json(t)
	if obj["resourceType"] != "CapabilityStatement" || obj["fhirVersion"] != "4.0.1" || obj["kind"] != "instance" {
		t.Fatalf("resourceType/fhirVersion/kind = %v/%v/%v", obj["resourceType"], obj["fhirVersion"], obj["kind"])
	}
	rest := obj["rest"].([]any)[0].(map[string]any)
	resourceList := rest["resource"].([]any)
	if len(resourceList) != len(definitions.ResourceTypes()) {
		t.Errorf("%d resources listed, want %d", len(resourceList), len(definitions.ResourceTypes()))
	}
	var patient map[string]any
	for _, r := range resourceList {
		if r.(map[string]any)["type"] == "Patient" {
			patient = r.(map[string]any)
		}
	}
	if patient == nil {
		t.Fatal("Patient missing from the CapabilityStatement")
	}
	var codes []string
	for _, i := range patient["interaction"].([]any) {
		codes = append(codes, i.(map[string]any)["code"].(string))
	}
	if got := strings.Join(codes, ","); got != "read,vread,update,patch,delete,history-instance,history-type,create,search-type" {
		t.Errorf("Patient interactions = %s", got)
	}
	var systemCodes []string
	for _, i := range rest["interaction"].([]any) {
		systemCodes = append(systemCodes, i.(map[string]any)["code"].(string))
	}
	if got := strings.Join(systemCodes, ","); got != "history-system,search-system,batch,transaction" {
		t.Errorf("system interactions = %s", got)
	}
	wantSearchParam(t, patient, "birthdate", "date", "http://hl7.org/fhir/SearchParameter/individual-birthdate")
	wantSearchParam(t, patient, "_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id")
	wantSearchParam(t, rest, "_lastUpdated", "date", "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated")
	wantListed(t, patient, "searchInclude", "Patient:general-practitioner")
	wantListed(t, patient, "searchRevInclude", "Observation:subject")
	implementation := obj["implementation"].(map[string]any)
	if implementation["url"] != s.url {
		t.Errorf("implementation.url = %v, want %s", implementation["url"], s.url)
	}
}

// wantSearchParam checks that a CapabilityStatement resource or rest
// element lists the search parameter with its type and definition.
func wantSearchParam(t *testing.T, element map[string]any, name, paramType, definition string) {
	t.Helper()
	params, _ := element["searchParam"].([]any)
	for _, p := range params {
		param := p.(map[string]any)
		if param["name"] != name {
			continue
		}
		if param["type"] != paramType || param["definition"] != definition {
			t.Errorf("searchParam %s = %v, want type %s and definition %s", name, param, paramType, definition)
		}
		return
	}
	t.Errorf("searchParam %s is not listed", name)
}

func wantListed(t *testing.T, element map[string]any, field, value string) {
	t.Helper()
	values, _ := element[field].([]any)
	for _, v := range values {
		if v == value {
			return
		}
	}
	t.Errorf("%s does not list %s", field, value)
}

func TestMethodAndRouteErrors(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name   string
		method string
		path   string
		status int
		code   string
	}{
		{"DELETE on metadata", "DELETE", "/metadata", http.StatusMethodNotAllowed, "not-supported"},
		{"POST on an instance", "POST", "/Patient/1", http.StatusMethodNotAllowed, "not-supported"},
		{"PUT on a type", "PUT", "/Patient", http.StatusMethodNotAllowed, "not-supported"},
		{"too many segments", "GET", "/Patient/1/_history/1/x", http.StatusNotFound, "not-found"},
		{"create of an unknown type", "POST", "/Unicorn", http.StatusNotFound, "not-supported"},
		{"search of an unknown type", "GET", "/Unicorn?name=x", http.StatusNotFound, "not-supported"},
		{"compartment of an unknown type", "GET", "/Patient/1/Unicorn", http.StatusNotFound, "not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(tc.method, tc.path, "")
			wantStatus(t, resp, tc.status)
			wantOutcome(t, resp, tc.code, "")
		})
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	s.do("GET", "/Patient/"+id, "")

	health := s.do("GET", "/healthz", "")
	wantStatus(t, health, http.StatusOK)
	ready := s.do("GET", "/readyz", "")
	wantStatus(t, ready, http.StatusOK)

	metrics := s.do("GET", "/metrics", "")
	wantStatus(t, metrics, http.StatusOK)
	for _, want := range []string{
		`ward_http_requests_total{interaction="create",resource_type="Patient",status="201"} 1`,
		`ward_http_requests_total{interaction="read",resource_type="Patient",status="200"} 1`,
		`ward_http_request_duration_seconds_bucket{interaction="read",resource_type="Patient",le="+Inf"} 1`,
	} {
		if !strings.Contains(string(metrics.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestRequestLogLine(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)

	resp := s.do("GET", "/Patient/"+id+"?name=Chalmers", "", "X-Request-Id", "trace-42")
	wantHeader(t, resp, "X-Request-Id", "trace-42")

	var found bool
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if record["request_id"] != "trace-42" {
			continue
		}
		found = true
		if record["method"] != "GET" || record["path"] != "/Patient/"+id || record["status"] != float64(200) || record["interaction"] != "read" {
			t.Errorf("log record = %v", record)
		}
		if _, ok := record["duration"]; !ok {
			t.Error("log record has no duration")
		}
		if strings.Contains(line, "Chalmers") {
			t.Errorf("log line leaks the query string: %s", line)
		}
	}
	if !found {
		t.Fatalf("no log line with request_id trace-42 in:\n%s", s.logs.String())
	}
}

func TestInvalidRequestIDReplaced(t *testing.T) {
	s := newTestServer(t)
	resp := s.do("GET", "/metadata", "", "X-Request-Id", "bad id with spaces")
	got := resp.header.Get("X-Request-Id")
	if got == "" || got == "bad id with spaces" {
		t.Errorf("X-Request-Id = %q, want a generated id", got)
	}
}
