package resources_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// interactionModes are the three ways a client can send one interaction:
// on its own, as the only entry of a batch, and as the only entry of a
// transaction.
var interactionModes = []string{"http", "batch", "transaction"}

// outcome is the status and location of one interaction in any mode.
type outcome struct {
	status   int
	location string // Type/id/_history/n, empty when there is none
	body     string
}

// interact sends one interaction in the given mode. For a Bundle entry,
// criteria go into request.url and ifNoneExist into request.ifNoneExist;
// a PATCH body is wrapped in a Binary as R4 requires.
func (s *testServer) interact(mode, method, path, body, ifNoneExist string) outcome {
	s.t.Helper()
	if mode == "http" {
		var headers []string
		if ifNoneExist != "" {
			headers = append(headers, "If-None-Exist", ifNoneExist)
		}
		var resp response
		if method == "PATCH" {
			resp = s.doPatch(path, body)
		} else {
			resp = s.do(method, path, body, headers...)
		}
		location := strings.TrimPrefix(resp.header.Get("Location"), s.url+"/")
		return outcome{status: resp.status, location: location, body: string(resp.body)}
	}

	request := `{"method":"` + method + `","url":"` + strings.TrimPrefix(path, "/") + `"`
	if ifNoneExist != "" {
		request += `,"ifNoneExist":"` + ifNoneExist + `"`
	}
	request += "}"
	entry := `{"request":` + request
	switch {
	case method == "PATCH":
		entry += `,"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + base64.StdEncoding.EncodeToString([]byte(body)) + `"}`
	case body != "":
		entry += `,"resource":` + body
	}
	entry += "}"

	resp := s.postBundle(bundleOf(mode, entry))
	if resp.status != http.StatusOK {
		return outcome{status: resp.status, body: string(resp.body)}
	}
	entries := bundleEntries(s.t, resp.json(s.t))
	if len(entries) != 1 {
		s.t.Fatalf("response has %d entries, want 1: %s", len(entries), resp.body)
	}
	r := entryResponse(s.t, entries[0])
	statusText, _ := r["status"].(string)
	code, err := strconv.Atoi(strings.SplitN(statusText, " ", 2)[0])
	if err != nil {
		s.t.Fatalf("response.status %q does not start with a code", statusText)
	}
	location, _ := r["location"].(string)
	return outcome{status: code, location: location, body: mustJSON(s.t, entries[0])}
}

func (s *testServer) doPatch(path, patch string) response {
	s.t.Helper()
	return s.do("PATCH", path, patch, "Content-Type", "application/json-patch+json")
}

// idOf returns the id in a Type/id/_history/n location.
func idOf(t *testing.T, location string) string {
	t.Helper()
	parts := strings.Split(location, "/")
	if len(parts) != 4 {
		t.Fatalf("location %q is not Type/id/_history/n", location)
	}
	return parts[1]
}

const mrnCriteria = "identifier=http://hospital.example/mrn|"

func TestConditionalCreate(t *testing.T) {
	for _, mode := range interactionModes {
		t.Run(mode, func(t *testing.T) {
			s := newTestServer(t)

			none := s.interact(mode, "POST", "/Patient", mrnPatient("C-1"), mrnCriteria+"C-1")
			if none.status != http.StatusCreated {
				t.Fatalf("no match: status %d, want 201; %s", none.status, none.body)
			}
			one := s.interact(mode, "POST", "/Patient", mrnPatient("C-1"), mrnCriteria+"C-1")
			if one.status != http.StatusOK {
				t.Fatalf("one match: status %d, want 200; %s", one.status, one.body)
			}
			if one.location != none.location {
				t.Errorf("one match: location %q, want the existing %q", one.location, none.location)
			}
			if got := s.search("/Patient?" + mrnCriteria + "C-1"); len(got) != 1 {
				t.Errorf("after two conditional creates: %v, want one Patient", got)
			}

			s.put("Patient", "twin-a", mrnPatientWithID("twin-a", "C-TWIN"))
			s.put("Patient", "twin-b", mrnPatientWithID("twin-b", "C-TWIN"))
			many := s.interact(mode, "POST", "/Patient", mrnPatient("C-TWIN"), mrnCriteria+"C-TWIN")
			if many.status != http.StatusPreconditionFailed {
				t.Errorf("several matches: status %d, want 412; %s", many.status, many.body)
			}
			if got := s.search("/Patient?" + mrnCriteria + "C-TWIN"); len(got) != 2 {
				t.Errorf("several matches created a Patient: %v", got)
			}

			typed := s.interact(mode, "POST", "/Patient", mrnPatient("C-1"), "Patient?"+mrnCriteria+"C-1")
			if typed.status != http.StatusOK {
				t.Errorf("criteria with a type prefix: status %d, want 200; %s", typed.status, typed.body)
			}
		})
	}
}

func TestConditionalUpdate(t *testing.T) {
	for _, mode := range interactionModes {
		t.Run(mode, func(t *testing.T) {
			s := newTestServer(t)

			created := s.interact(mode, "PUT", "/Patient?"+mrnCriteria+"U-1", mrnPatient("U-1"), "")
			if created.status != http.StatusCreated {
				t.Fatalf("no match: status %d, want 201; %s", created.status, created.body)
			}
			id := idOf(t, created.location)

			updated := s.interact(mode, "PUT", "/Patient?"+mrnCriteria+"U-1", `{"resourceType":"Patient","identifier":[{"system":"http://hospital.example/mrn","value":"U-1"}],"active":false}`, "")
			if updated.status != http.StatusOK {
				t.Fatalf("one match: status %d, want 200; %s", updated.status, updated.body)
			}
			if want := "Patient/" + id + "/_history/2"; updated.location != want {
				t.Errorf("one match: location %q, want %q", updated.location, want)
			}
			if got := s.read("/Patient/" + id)["active"]; got != false {
				t.Errorf("one match: active = %v, want false", got)
			}

			withID := s.interact(mode, "PUT", "/Patient?"+mrnCriteria+"U-2", mrnPatientWithID("chosen", "U-2"), "")
			if withID.status != http.StatusCreated || idOf(t, withID.location) != "chosen" {
				t.Errorf("no match with an id in the body: status %d, location %q, want 201 at Patient/chosen", withID.status, withID.location)
			}

			mismatch := s.interact(mode, "PUT", "/Patient?"+mrnCriteria+"U-1", mrnPatientWithID("other", "U-1"), "")
			if mismatch.status != http.StatusBadRequest {
				t.Errorf("body id differs from the match: status %d, want 400; %s", mismatch.status, mismatch.body)
			}

			s.put("Patient", "twin-a", mrnPatientWithID("twin-a", "U-TWIN"))
			s.put("Patient", "twin-b", mrnPatientWithID("twin-b", "U-TWIN"))
			many := s.interact(mode, "PUT", "/Patient?"+mrnCriteria+"U-TWIN", mrnPatient("U-TWIN"), "")
			if many.status != http.StatusPreconditionFailed {
				t.Errorf("several matches: status %d, want 412; %s", many.status, many.body)
			}
		})
	}
}

func TestConditionalDelete(t *testing.T) {
	for _, mode := range interactionModes {
		t.Run(mode, func(t *testing.T) {
			s := newTestServer(t)
			s.put("Patient", "d1", mrnPatientWithID("d1", "D-1"))
			s.put("Patient", "twin-a", mrnPatientWithID("twin-a", "D-TWIN"))
			s.put("Patient", "twin-b", mrnPatientWithID("twin-b", "D-TWIN"))
			before := s.historyTotal()

			none := s.interact(mode, "DELETE", "/Patient?"+mrnCriteria+"NOBODY", "", "")
			if none.status != http.StatusNoContent {
				t.Errorf("no match: status %d, want 204; %s", none.status, none.body)
			}
			if after := s.historyTotal(); after != before {
				t.Errorf("no match wrote a version: history total %d, want %d", after, before)
			}

			one := s.interact(mode, "DELETE", "/Patient?"+mrnCriteria+"D-1", "", "")
			if one.status != http.StatusNoContent {
				t.Errorf("one match: status %d, want 204; %s", one.status, one.body)
			}
			wantStatus(t, s.do("GET", "/Patient/d1", ""), http.StatusGone)

			many := s.interact(mode, "DELETE", "/Patient?"+mrnCriteria+"D-TWIN", "", "")
			if many.status != http.StatusPreconditionFailed {
				t.Errorf("several matches: status %d, want 412; %s", many.status, many.body)
			}
			if got := s.search("/Patient?" + mrnCriteria + "D-TWIN"); len(got) != 2 {
				t.Errorf("several matches deleted something: %v left", got)
			}
		})
	}
}

func TestConditionalDeleteOutcome(t *testing.T) {
	s := newTestServer(t)
	resp := s.do("DELETE", "/Patient?"+mrnCriteria+"NOBODY", "", "Prefer", "return=OperationOutcome")
	wantStatus(t, resp, http.StatusOK)
	outcome := wantOutcome(t, resp, "informational", "")
	if text := issuesText(t, outcome); !strings.Contains(text, "nothing was deleted") {
		t.Errorf("outcome = %s, want it to say nothing was deleted", text)
	}
}

func TestConditionalPatch(t *testing.T) {
	patch := `[{"op":"replace","path":"/active","value":false}]`
	for _, mode := range interactionModes {
		t.Run(mode, func(t *testing.T) {
			s := newTestServer(t)
			s.put("Patient", "p1", mrnPatientWithID("p1", "P-1"))
			s.put("Patient", "twin-a", mrnPatientWithID("twin-a", "P-TWIN"))
			s.put("Patient", "twin-b", mrnPatientWithID("twin-b", "P-TWIN"))

			if got := s.interact(mode, "PATCH", "/Patient?"+mrnCriteria+"NOBODY", patch, ""); got.status != http.StatusNotFound {
				t.Errorf("no match: status %d, want 404; %s", got.status, got.body)
			}
			one := s.interact(mode, "PATCH", "/Patient?"+mrnCriteria+"P-1", patch, "")
			if one.status != http.StatusOK || one.location != "Patient/p1/_history/2" {
				t.Errorf("one match: status %d, location %q, want 200 at Patient/p1/_history/2; %s", one.status, one.location, one.body)
			}
			if got := s.interact(mode, "PATCH", "/Patient?"+mrnCriteria+"P-TWIN", patch, ""); got.status != http.StatusPreconditionFailed {
				t.Errorf("several matches: status %d, want 412; %s", got.status, got.body)
			}
		})
	}
}

func TestConditionalCriteriaErrors(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		header   []string
		status   int
		contains string
	}{
		{"unknown parameter", "PUT", "/Patient?colour=red", mrnPatient("E-1"), nil, http.StatusBadRequest, "colour"},
		{"no filtering parameter", "DELETE", "/Patient?_count=5", "", nil, http.StatusBadRequest, "at least one search parameter"},
		{"If-None-Exist of another type", "POST", "/Patient", mrnPatient("E-2"), []string{"If-None-Exist", "Observation?code=x"}, http.StatusBadRequest, "Observation"},
		{"If-None-Exist unknown parameter", "POST", "/Patient", mrnPatient("E-3"), []string{"If-None-Exist", "colour=red"}, http.StatusBadRequest, "colour"},
		{"PUT on a type without criteria", "PUT", "/Patient", mrnPatient("E-4"), nil, http.StatusMethodNotAllowed, "criteria"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.historyTotal()
			resp := s.do(tc.method, tc.path, tc.body, tc.header...)
			wantStatus(t, resp, tc.status)
			if !strings.Contains(string(resp.body), tc.contains) {
				t.Errorf("body does not mention %q: %s", tc.contains, resp.body)
			}
			if after := s.historyTotal(); after != before {
				t.Errorf("history total = %d, want %d", after, before)
			}
		})
	}
}

func TestConcurrentConditionalCreates(t *testing.T) {
	s := newTestServer(t)
	const clients = 10

	var wg sync.WaitGroup
	statuses := make([]int, clients)
	locations := make([]string, clients)
	errs := make([]error, clients)
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequest("POST", s.url+"/Patient", strings.NewReader(mrnPatient("RACE-1")))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("If-None-Exist", mrnCriteria+"RACE-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
			locations[i] = resp.Header.Get("Location")
		}()
	}
	close(start)
	wg.Wait()

	created := 0
	for i := range clients {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		switch statuses[i] {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("client %d: status %d, want 201 or 200", i, statuses[i])
		}
		if locations[i] != locations[0] {
			t.Errorf("client %d: Location %q, want %q like client 0", i, locations[i], locations[0])
		}
	}
	if created != 1 {
		t.Errorf("%d clients created a Patient, want exactly 1", created)
	}
	if got := s.search("/Patient?" + mrnCriteria + "RACE-1"); len(got) != 1 {
		t.Errorf("search finds %v, want one Patient", got)
	}
}
