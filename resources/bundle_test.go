package resources_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/resources"
)

// postBundle sends a batch or transaction Bundle to the base URL.
func (s *testServer) postBundle(body string, headers ...string) response {
	s.t.Helper()
	return s.do("POST", "/", body, headers...)
}

// bundleOf builds a Bundle of kind from entry objects written as JSON.
func bundleOf(kind string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + kind + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// responseEntries posts a Bundle that must succeed and returns the
// response Bundle's entries.
func (s *testServer) responseEntries(body string, headers ...string) []map[string]any {
	s.t.Helper()
	resp := s.postBundle(body, headers...)
	wantStatus(s.t, resp, http.StatusOK)
	bundle := resp.json(s.t)
	kind := ""
	if strings.Contains(body, `"type":"transaction"`) {
		kind = "transaction-response"
	} else {
		kind = "batch-response"
	}
	if bundle["resourceType"] != "Bundle" || bundle["type"] != kind {
		s.t.Fatalf("response is not a %s Bundle: %s", kind, resp.body)
	}
	return bundleEntries(s.t, bundle)
}

// entryResponse returns entry.response of a response entry.
func entryResponse(t *testing.T, e map[string]any) map[string]any {
	t.Helper()
	r, ok := e["response"].(map[string]any)
	if !ok {
		t.Fatalf("entry has no response: %v", e)
	}
	return r
}

// wantEntryStatus checks entry.response.status.
func wantEntryStatus(t *testing.T, e map[string]any, want string) {
	t.Helper()
	if got := entryResponse(t, e)["status"]; got != want {
		t.Errorf("response.status = %v, want %s; entry: %s", got, want, mustJSON(t, e))
	}
}

// locationID returns the id in entry.response.location (Type/id/_history/n).
func locationID(t *testing.T, e map[string]any, resourceType string) string {
	t.Helper()
	location, _ := entryResponse(t, e)["location"].(string)
	parts := strings.Split(location, "/")
	if len(parts) != 4 || parts[0] != resourceType || parts[2] != "_history" {
		t.Fatalf("response.location = %q, want %s/[id]/_history/[vid]", location, resourceType)
	}
	return parts[1]
}

// read returns the current version of a resource, which must exist.
func (s *testServer) read(path string) map[string]any {
	s.t.Helper()
	resp := s.do("GET", path, "")
	wantStatus(s.t, resp, http.StatusOK)
	return resp.json(s.t)
}

// historyTotal returns the number of versions in the system history.
func (s *testServer) historyTotal() int {
	s.t.Helper()
	resp := s.do("GET", "/_history", "")
	wantStatus(s.t, resp, http.StatusOK)
	var total int
	if _, err := fmt.Sscan(jsonString(resp.json(s.t)["total"]), &total); err != nil {
		s.t.Fatalf("history total: %v; body %s", err, resp.body)
	}
	return total
}

// issuesText returns the diagnostics and expressions of every issue of
// an OperationOutcome, for matching in tests.
func issuesText(t *testing.T, outcome map[string]any) string {
	t.Helper()
	data, err := json.Marshal(outcome["issue"])
	if err != nil {
		t.Fatalf("marshal issues: %v", err)
	}
	return string(data)
}

const (
	patientURN = "urn:uuid:6d3e1b44-8a1b-4c3b-9a55-3f4c0e2d1a01"
	orgOID     = "urn:oid:1.2.36.146.595.217.0.1"
)

func mrnPatient(mrn string) string {
	return `{"resourceType":"Patient","identifier":[{"system":"http://hospital.example/mrn","value":"` + mrn + `"}],"active":true}`
}

// mrnPatientWithID is mrnPatient with an id, for PUT.
func mrnPatientWithID(id, mrn string) string {
	return `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"http://hospital.example/mrn","value":"` + mrn + `"}],"active":true}`
}

func TestTransactionProcessingOrder(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "old", mrnPatientWithID("old", "M-OLD"))

	// Written in the reverse of R4's order: GET, PUT, POST, DELETE. The
	// POST's If-None-Exist finds nothing only if the DELETE ran first,
	// and the GET finds the PUT's resource only if it ran after it.
	entries := s.responseEntries(bundleOf("transaction",
		`{"request":{"method":"GET","url":"Patient/fresh"}}`,
		`{"fullUrl":"http://example.org/fhir/Patient/fresh","resource":{"resourceType":"Patient","id":"fresh","active":false},"request":{"method":"PUT","url":"Patient/fresh"}}`,
		`{"resource":`+mrnPatient("M-OLD")+`,"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://hospital.example/mrn|M-OLD"}}`,
		`{"request":{"method":"DELETE","url":"Patient?identifier=http://hospital.example/mrn|M-OLD"}}`,
	))
	if len(entries) != 4 {
		t.Fatalf("got %d response entries, want 4", len(entries))
	}
	wantEntryStatus(t, entries[0], "200 OK")
	wantEntryStatus(t, entries[1], "201 Created")
	wantEntryStatus(t, entries[2], "201 Created")
	wantEntryStatus(t, entries[3], "204 No Content")

	read, _ := entries[0]["resource"].(map[string]any)
	if read["id"] != "fresh" {
		t.Errorf("GET entry resource = %v, want Patient/fresh written by the PUT", read)
	}
	if id := locationID(t, entries[2], "Patient"); id == "old" {
		t.Errorf("conditional create matched Patient/old, which the DELETE should have removed first")
	}
	gone := s.do("GET", "/Patient/old", "")
	wantStatus(t, gone, http.StatusGone)

	// History lists versions with the same lastUpdated latest write
	// first: the PUT's, then the POST's, then the DELETE's.
	created := "Patient/" + locationID(t, entries[2], "Patient")
	history := s.do("GET", "/_history?_count=3", "").json(t)
	var written []string
	for _, e := range bundleEntries(t, history) {
		written = append(written, strings.TrimPrefix(fmt.Sprint(e["fullUrl"]), s.url+"/"))
	}
	if got, want := strings.Join(written, ","), "Patient/fresh,"+created+",Patient/old"; got != want {
		t.Errorf("newest three history entries = %s, want %s", got, want)
	}
}

func TestTransactionRewritesReferences(t *testing.T) {
	s := newTestServer(t)

	observation := `{"resourceType":"Observation","status":"final","code":{"text":"heart rate"},
		"subject":{"reference":"` + patientURN + `"},
		"performer":[{"reference":"` + orgOID + `"},{"reference":"Practitioner/outside"}],
		"focus":[{"reference":"#p1"}],
		"extension":[{"url":"http://example.org/fhir/StructureDefinition/source-patient","valueReference":{"reference":"` + patientURN + `"}}],
		"contained":[{"resourceType":"Provenance","id":"p1","recorded":"2026-03-01T10:00:00Z","target":[{"reference":"` + patientURN + `"}],"agent":[{"who":{"reference":"` + orgOID + `"}}]}],
		"_status":{"extension":[{"url":"http://example.org/fhir/StructureDefinition/status-source","valueReference":{"reference":"` + orgOID + `"}}]},
		"meta":{"source":"` + patientURN + `"},
		"identifier":[{"system":"urn:ietf:rfc:3986","value":"` + patientURN + `"}],
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"` + patientURN + `\">patient</a></div>"}}`
	carePlan := `{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"` + patientURN + `"},
		"instantiatesCanonical":["` + patientURN + `"]}`
	patient := `{"resourceType":"Patient","active":true,"managingOrganization":{"reference":"` + orgOID + `"}}`
	organization := `{"resourceType":"Organization","name":"Ward General"}`

	// The Observation comes before the entries it refers to, the
	// Organization after the Patient that refers to it.
	entries := s.responseEntries(bundleOf("transaction",
		`{"resource":`+observation+`,"request":{"method":"POST","url":"Observation"}}`,
		`{"resource":`+carePlan+`,"request":{"method":"POST","url":"CarePlan"}}`,
		`{"fullUrl":"`+patientURN+`","resource":`+patient+`,"request":{"method":"POST","url":"Patient"}}`,
		`{"fullUrl":"`+orgOID+`","resource":`+organization+`,"request":{"method":"POST","url":"Organization"}}`,
	))
	observationID := locationID(t, entries[0], "Observation")
	carePlanID := locationID(t, entries[1], "CarePlan")
	patientID := locationID(t, entries[2], "Patient")
	orgID := locationID(t, entries[3], "Organization")
	patientRef := "Patient/" + patientID
	orgRef := "Organization/" + orgID

	obs := s.read("/Observation/" + observationID)
	tests := []struct {
		name string
		got  any
		want string
	}{
		{"subject", obs["subject"].(map[string]any)["reference"], patientRef},
		{"performer from urn:oid", obs["performer"].([]any)[0].(map[string]any)["reference"], orgRef},
		{"performer outside the Bundle", obs["performer"].([]any)[1].(map[string]any)["reference"], "Practitioner/outside"},
		{"extension valueReference", obs["extension"].([]any)[0].(map[string]any)["valueReference"].(map[string]any)["reference"], patientRef},
		{"contained resource reference", obs["contained"].([]any)[0].(map[string]any)["target"].([]any)[0].(map[string]any)["reference"], patientRef},
		{"contained nested reference", obs["contained"].([]any)[0].(map[string]any)["agent"].([]any)[0].(map[string]any)["who"].(map[string]any)["reference"], orgRef},
		{"primitive extension", obs["_status"].(map[string]any)["extension"].([]any)[0].(map[string]any)["valueReference"].(map[string]any)["reference"], orgRef},
		{"uri element", obs["meta"].(map[string]any)["source"], s.url + "/" + patientRef},
		{"string element keeps urn", obs["identifier"].([]any)[0].(map[string]any)["value"], patientURN},
		{"narrative link", obs["text"].(map[string]any)["div"], `<div xmlns="http://www.w3.org/1999/xhtml"><a href="` + s.url + "/" + patientRef + `">patient</a></div>`},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %s", tc.name, tc.got, tc.want)
		}
	}

	plan := s.read("/CarePlan/" + carePlanID)
	if got := plan["subject"].(map[string]any)["reference"]; got != patientRef {
		t.Errorf("CarePlan.subject = %v, want %s", got, patientRef)
	}
	if got := plan["instantiatesCanonical"].([]any)[0]; got != patientURN {
		t.Errorf("canonical element = %v, want %s unchanged", got, patientURN)
	}
	if got := s.read("/Patient/" + patientID)["managingOrganization"].(map[string]any)["reference"]; got != orgRef {
		t.Errorf("Patient.managingOrganization = %v, want %s", got, orgRef)
	}

	// The rewritten reference is indexed: a search by subject finds it.
	if got := s.search("/Observation?subject=" + patientRef); len(got) != 1 || got[0] != "Observation/"+observationID {
		t.Errorf("search by rewritten subject = %v, want [Observation/%s]", got, observationID)
	}
}

func TestTransactionRejectsDisallowedTarget(t *testing.T) {
	s := newTestServer(t)
	before := s.historyTotal()

	// Observation.subject may not refer to an Organization.
	resp := s.postBundle(bundleOf("transaction",
		`{"fullUrl":"`+orgOID+`","resource":{"resourceType":"Organization","name":"x"},"request":{"method":"POST","url":"Organization"}}`,
		`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"`+orgOID+`"}},"request":{"method":"POST","url":"Observation"}}`,
	))
	wantStatus(t, resp, http.StatusBadRequest)
	outcome := wantOutcome(t, resp, "invalid", "Bundle.entry[1]")
	if text := issuesText(t, outcome); !strings.Contains(text, "may refer only to") {
		t.Errorf("outcome does not explain the target rule: %s", text)
	}
	if after := s.historyTotal(); after != before {
		t.Errorf("history total = %d after the failed transaction, want %d", after, before)
	}
}

func TestTransactionConditionalReferences(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "one", mrnPatientWithID("one", "M-1"))
	s.put("Patient", "twin-a", mrnPatientWithID("twin-a", "M-TWIN"))
	s.put("Patient", "twin-b", mrnPatientWithID("twin-b", "M-TWIN"))

	observation := func(reference string) string {
		return `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + reference + `"}},"request":{"method":"POST","url":"Observation"}}`
	}

	t.Run("one match", func(t *testing.T) {
		entries := s.responseEntries(bundleOf("transaction", observation("Patient?identifier=http://hospital.example/mrn|M-1")))
		stored := s.read("/Observation/" + locationID(t, entries[0], "Observation"))
		if got := stored["subject"].(map[string]any)["reference"]; got != "Patient/one" {
			t.Errorf("subject = %v, want Patient/one", got)
		}
	})

	t.Run("fullUrl of a matched conditional create", func(t *testing.T) {
		entries := s.responseEntries(bundleOf("transaction",
			`{"fullUrl":"`+patientURN+`","resource":`+mrnPatient("M-1")+`,"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://hospital.example/mrn|M-1"}}`,
			observation(patientURN),
		))
		wantEntryStatus(t, entries[0], "200 OK")
		stored := s.read("/Observation/" + locationID(t, entries[1], "Observation"))
		if got := stored["subject"].(map[string]any)["reference"]; got != "Patient/one" {
			t.Errorf("subject = %v, want Patient/one, which the If-None-Exist criteria matched", got)
		}
	})

	tests := []struct {
		name      string
		reference string
		message   string
	}{
		{"no match", "Patient?identifier=http://hospital.example/mrn|NOBODY", "matches no Patient"},
		{"several matches", "Patient?identifier=http://hospital.example/mrn|M-TWIN", "matches more than one Patient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.historyTotal()
			resp := s.postBundle(bundleOf("transaction", observation(tc.reference)))
			wantStatus(t, resp, http.StatusPreconditionFailed)
			outcome := wantOutcome(t, resp, "conflict", "Bundle.entry[0]")
			if text := issuesText(t, outcome); !strings.Contains(text, tc.message) {
				t.Errorf("outcome = %s, want it to say %q", text, tc.message)
			}
			if after := s.historyTotal(); after != before {
				t.Errorf("history total = %d, want %d", after, before)
			}

			batch := s.responseEntries(bundleOf("batch", observation(tc.reference)))
			wantEntryStatus(t, batch[0], "412 Precondition Failed")
		})
	}
}

func TestTransactionRollsBackOnFailure(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "keep", mrnPatientWithID("keep", "M-KEEP"))
	before := s.historyTotal()

	tests := []struct {
		name     string
		failing  string
		status   int
		code     string
		location string
		mention  string
	}{
		{
			name:     "stale If-Match",
			failing:  `{"fullUrl":"urn:uuid:0b7f5c1e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","id":"keep","active":false},"request":{"method":"PUT","url":"Patient/keep","ifMatch":"W/\"7\""}}`,
			status:   http.StatusPreconditionFailed,
			code:     "conflict",
			location: "Bundle.entry[1]",
			mention:  "urn:uuid:0b7f5c1e-0000-4000-8000-000000000001",
		},
		{
			name:     "invalid resource",
			failing:  `{"fullUrl":"urn:uuid:0b7f5c1e-0000-4000-8000-000000000002","resource":{"resourceType":"Observation","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}`,
			status:   http.StatusBadRequest,
			code:     "required",
			location: "Bundle.entry[1].resource.status",
			mention:  "urn:uuid:0b7f5c1e-0000-4000-8000-000000000002",
		},
		{
			name:     "delete of an unknown resource",
			failing:  `{"request":{"method":"DELETE","url":"Patient/never"}}`,
			status:   http.StatusNotFound,
			code:     "not-found",
			location: "Bundle.entry[1]",
			mention:  "DELETE Patient/never",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.postBundle(bundleOf("transaction",
				`{"resource":`+mrnPatient("M-NEW-1")+`,"request":{"method":"POST","url":"Patient"}}`,
				tc.failing,
				`{"resource":`+mrnPatient("M-NEW-2")+`,"request":{"method":"POST","url":"Patient"}}`,
			))
			wantStatus(t, resp, tc.status)
			outcome := wantOutcome(t, resp, tc.code, tc.location)
			text := issuesText(t, outcome)
			if !strings.Contains(text, "Bundle.entry[1]") || !strings.Contains(text, tc.mention) {
				t.Errorf("outcome does not name the entry and %q: %s", tc.mention, text)
			}
			if after := s.historyTotal(); after != before {
				t.Errorf("history total = %d after the failed transaction, want %d", after, before)
			}
			if got := s.search("/Patient?identifier=http://hospital.example/mrn|M-NEW-1,http://hospital.example/mrn|M-NEW-2"); len(got) != 0 {
				t.Errorf("the failed transaction left %v behind", got)
			}
		})
	}
}

func TestBatchEntriesFailAlone(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "p1", mrnPatientWithID("p1", "M-B1"))
	before := s.historyTotal()

	entries := s.responseEntries(bundleOf("batch",
		`{"resource":`+mrnPatient("M-B2")+`,"request":{"method":"POST","url":"Patient"}}`,
		`{"resource":{"resourceType":"Patient","id":"p1","active":false},"request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"9\""}}`,
		`{"resource":{"resourceType":"Observation","code":{"text":"no status"}},"request":{"method":"POST","url":"Observation"}}`,
		`{"request":{"method":"GET","url":"Patient/missing"}}`,
		`{"request":{"method":"GET","url":"Patient/p1"}}`,
		`{"resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Observation"}}`,
	))
	want := []string{"201 Created", "412 Precondition Failed", "400 Bad Request", "404 Not Found", "200 OK", "400 Bad Request"}
	for i, status := range want {
		wantEntryStatus(t, entries[i], status)
	}
	for _, i := range []int{1, 2, 3, 5} {
		outcome, _ := entryResponse(t, entries[i])["outcome"].(map[string]any)
		if outcome["resourceType"] != "OperationOutcome" {
			t.Errorf("failed entry %d has no OperationOutcome: %s", i, mustJSON(t, entries[i]))
			continue
		}
		if text := issuesText(t, outcome); !strings.Contains(text, fmt.Sprintf("Bundle.entry[%d]", i)) {
			t.Errorf("outcome of entry %d does not name it: %s", i, text)
		}
	}
	if got := s.read("/Patient/p1")["active"]; got != true {
		t.Errorf("Patient/p1 active = %v; the failed PUT must not change it", got)
	}
	if after := s.historyTotal(); after != before+1 {
		t.Errorf("history total = %d, want %d: only the successful POST writes", after, before+1)
	}
}

func TestBatchRejectsLinksBetweenEntries(t *testing.T) {
	s := newTestServer(t)
	entries := s.responseEntries(bundleOf("batch",
		`{"fullUrl":"`+patientURN+`","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`,
		`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"`+patientURN+`"}},"request":{"method":"POST","url":"Observation"}}`,
	))
	wantEntryStatus(t, entries[0], "201 Created")
	wantEntryStatus(t, entries[1], "400 Bad Request")
}

func TestTransactionResponseFields(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "existing", mrnPatientWithID("existing", "M-R1")) // firstInstant
	// The Bundle's writes share one lastUpdated, the clock's next instant.
	written := "2026-03-01T10:00:01.000Z"

	body := bundleOf("transaction",
		`{"fullUrl":"`+patientURN+`","resource":`+mrnPatient("M-R2")+`,"request":{"method":"POST","url":"Patient"}}`,
		`{"resource":{"resourceType":"Patient","id":"existing","active":false},"request":{"method":"PUT","url":"Patient/existing"}}`,
		`{"request":{"method":"GET","url":"Patient/existing"}}`,
	)
	tests := []struct {
		prefer   string
		resource bool
		outcome  bool
	}{
		{"", true, false},
		{"return=representation", true, false},
		{"return=minimal", false, false},
		{"return=OperationOutcome", false, true},
	}
	for _, tc := range tests {
		t.Run("Prefer "+tc.prefer, func(t *testing.T) {
			s := newTestServer(t)
			s.put("Patient", "existing", mrnPatientWithID("existing", "M-R1"))
			var headers []string
			if tc.prefer != "" {
				headers = []string{"Prefer", tc.prefer}
			}
			entries := s.responseEntries(body, headers...)

			created := entryResponse(t, entries[0])
			id := locationID(t, entries[0], "Patient")
			wantFields := map[string]string{
				"status":       "201 Created",
				"location":     "Patient/" + id + "/_history/1",
				"etag":         `W/"1"`,
				"lastModified": written,
			}
			for field, want := range wantFields {
				if got := created[field]; got != want {
					t.Errorf("created response.%s = %v, want %s", field, got, want)
				}
			}
			updated := entryResponse(t, entries[1])
			wantUpdated := map[string]string{
				"status":       "200 OK",
				"location":     "Patient/existing/_history/2",
				"etag":         `W/"2"`,
				"lastModified": written,
			}
			for field, want := range wantUpdated {
				if got := updated[field]; got != want {
					t.Errorf("updated response.%s = %v, want %s", field, got, want)
				}
			}

			for i, e := range entries[:2] {
				resource, hasResource := e["resource"].(map[string]any)
				if hasResource != tc.resource {
					t.Errorf("entry %d has resource = %v, want %v", i, hasResource, tc.resource)
				}
				if hasResource {
					meta := resource["meta"].(map[string]any)
					if meta["lastUpdated"] != written {
						t.Errorf("entry %d resource lastUpdated = %v, want %s", i, meta["lastUpdated"], written)
					}
					if e["fullUrl"] != s.url+"/Patient/"+resource["id"].(string) {
						t.Errorf("entry %d fullUrl = %v", i, e["fullUrl"])
					}
				}
				outcome, hasOutcome := entryResponse(t, e)["outcome"].(map[string]any)
				if hasOutcome != tc.outcome {
					t.Errorf("entry %d has response.outcome = %v, want %v", i, hasOutcome, tc.outcome)
				}
				if hasOutcome && outcome["resourceType"] != "OperationOutcome" {
					t.Errorf("entry %d response.outcome is not an OperationOutcome: %v", i, outcome)
				}
			}

			// A GET entry returns its resource whatever Prefer requests.
			read := entries[2]
			wantEntryStatus(t, read, "200 OK")
			if resource, _ := read["resource"].(map[string]any); resource["active"] != false {
				t.Errorf("GET entry resource = %v, want the updated Patient/existing", resource)
			}
			if got := entryResponse(t, read)["etag"]; got != `W/"2"` {
				t.Errorf("GET entry etag = %v, want W/\"2\"", got)
			}
			if _, ok := entryResponse(t, read)["location"]; ok {
				t.Errorf("GET entry has a location: %s", mustJSON(t, read))
			}
		})
	}
}

func TestTransactionGetEntries(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "g1", mrnPatientWithID("g1", "M-G1"))
	s.put("Patient", "g1", mrnPatientWithID("g1", "M-G1b"))

	entries := s.responseEntries(bundleOf("transaction",
		`{"request":{"method":"GET","url":"Patient/g1/_history/1"}}`,
		`{"request":{"method":"GET","url":"Patient?identifier=http://hospital.example/mrn|M-G2"}}`,
		`{"request":{"method":"GET","url":"Patient/g1","ifNoneMatch":"W/\"2\""}}`,
		`{"request":{"method":"HEAD","url":"Patient/g1"}}`,
		`{"resource":`+mrnPatient("M-G2")+`,"request":{"method":"POST","url":"Patient"}}`,
	))

	wantEntryStatus(t, entries[0], "200 OK")
	vread := entries[0]["resource"].(map[string]any)
	if got := vread["identifier"].([]any)[0].(map[string]any)["value"]; got != "M-G1" {
		t.Errorf("vread of version 1 returned identifier %v, want M-G1", got)
	}

	// The search runs after the POST of the same transaction and finds it.
	wantEntryStatus(t, entries[1], "200 OK")
	searchset := entries[1]["resource"].(map[string]any)
	if searchset["type"] != "searchset" || len(bundleEntries(t, searchset)) != 1 {
		t.Errorf("search entry = %s, want a searchset with the new Patient", mustJSON(t, searchset))
	}

	wantEntryStatus(t, entries[2], "304 Not Modified")
	if _, ok := entries[2]["resource"]; ok {
		t.Errorf("304 entry carries a resource")
	}
	wantEntryStatus(t, entries[3], "200 OK")
	if _, ok := entries[3]["resource"]; ok {
		t.Errorf("HEAD entry carries a resource")
	}
	if got := entryResponse(t, entries[3])["etag"]; got != `W/"2"` {
		t.Errorf("HEAD entry etag = %v, want W/\"2\"", got)
	}
}

func TestBundleValidation(t *testing.T) {
	s := newTestServer(t, func(cfg *resources.Config) { cfg.MaxBundleEntries = 3 })
	post := `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`

	tests := []struct {
		name       string
		body       string
		status     int
		code       string
		expression string
	}{
		{"not a Bundle", `{"resourceType":"Patient"}`, http.StatusBadRequest, "invalid", "resourceType"},
		{"document Bundle", `{"resourceType":"Bundle","type":"document"}`, http.StatusBadRequest, "invalid", "Bundle.type"},
		{"missing request", bundleOf("transaction", `{"resource":{"resourceType":"Patient"}}`), http.StatusBadRequest, "required", "Bundle.entry[0].request"},
		{"missing url", bundleOf("transaction", `{"request":{"method":"GET"}}`), http.StatusBadRequest, "required", "Bundle.entry[0].request.url"},
		{"unknown method", bundleOf("transaction", `{"request":{"method":"TRACE","url":"Patient"}}`), http.StatusBadRequest, "", ""},
		{"duplicate fullUrl", bundleOf("transaction",
			`{"fullUrl":"`+patientURN+`","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`,
			`{"fullUrl":"`+patientURN+`","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`,
		), http.StatusBadRequest, "invalid", "Bundle.entry[1].fullUrl"},
		{"type mismatch", bundleOf("transaction", `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}`), http.StatusBadRequest, "invalid", "Bundle.entry[0].resource"},
		{"id mismatch", bundleOf("transaction", `{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/b"}}`), http.StatusBadRequest, "invalid", "Bundle.entry[0].resource.id"},
		{"POST with an id in the url", bundleOf("transaction", `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient/1"}}`), http.StatusBadRequest, "invalid", "Bundle.entry[0].request.url"},
		{"unknown type in url", bundleOf("transaction", `{"request":{"method":"GET","url":"Unicorn/1"}}`), http.StatusBadRequest, "invalid", "Bundle.entry[0].request.url"},
		{"url on another server", bundleOf("transaction", `{"request":{"method":"GET","url":"https://elsewhere.example/fhir/Patient/1"}}`), http.StatusBadRequest, "invalid", "Bundle.entry[0].request.url"},
		{"history in a Bundle", bundleOf("transaction", `{"request":{"method":"GET","url":"Patient/1/_history"}}`), http.StatusBadRequest, "invalid", "Bundle.entry[0].request.url"},
		{"unknown element on an entry", bundleOf("transaction", `{"request":{"method":"GET","url":"Patient/1"},"colour":"red"}`), http.StatusBadRequest, "", ""},
		{"too many entries", bundleOf("batch", post, post, post, post), http.StatusRequestEntityTooLarge, "too-costly", "Bundle.entry"},
		{"PATCH without Binary", bundleOf("transaction", `{"resource":{"resourceType":"Patient"},"request":{"method":"PATCH","url":"Patient/1"}}`), http.StatusUnsupportedMediaType, "not-supported", "Bundle.entry[0].resource"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.historyTotal()
			resp := s.postBundle(tc.body)
			wantStatus(t, resp, tc.status)
			if tc.code != "" {
				wantOutcome(t, resp, tc.code, tc.expression)
			}
			if after := s.historyTotal(); after != before {
				t.Errorf("history total = %d, want %d", after, before)
			}
		})
	}

	t.Run("empty transaction", func(t *testing.T) {
		resp := s.postBundle(`{"resourceType":"Bundle","type":"transaction"}`)
		wantStatus(t, resp, http.StatusOK)
		if got := resp.json(t)["type"]; got != "transaction-response" {
			t.Errorf("type = %v, want transaction-response", got)
		}
	})
}

func TestTransactionStoresNestedBundleAsIs(t *testing.T) {
	s := newTestServer(t)
	document := `{"resourceType":"Bundle","type":"document","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:2a1f8a0e-0000-4000-8000-00000000d0c1"},"timestamp":"2026-03-01T09:00:00Z",
		"entry":[
		 {"fullUrl":"urn:uuid:2a1f8a0e-0000-4000-8000-00000000c0c1","resource":{"resourceType":"Composition","status":"final","type":{"text":"discharge"},"date":"2026-03-01","author":[{"reference":"` + patientURN + `"}],"title":"Discharge","subject":{"reference":"` + patientURN + `"}}},
		 {"fullUrl":"` + patientURN + `","resource":{"resourceType":"Patient","active":true}}
		]}`
	entries := s.responseEntries(bundleOf("transaction",
		`{"fullUrl":"`+patientURN+`","resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient"}}`,
		`{"resource":`+document+`,"request":{"method":"POST","url":"Bundle"}}`,
	))
	stored := s.read("/Bundle/" + locationID(t, entries[1], "Bundle"))
	if stored["type"] != "document" {
		t.Fatalf("stored Bundle type = %v, want document", stored["type"])
	}
	inner := bundleEntries(t, stored)
	if got := inner[1]["fullUrl"]; got != patientURN {
		t.Errorf("nested fullUrl = %v, want %s unchanged", got, patientURN)
	}
	composition := inner[0]["resource"].(map[string]any)
	if got := composition["subject"].(map[string]any)["reference"]; got != patientURN {
		t.Errorf("nested reference = %v, want %s unchanged", got, patientURN)
	}
}

func TestTransactionPatchEntry(t *testing.T) {
	s := newTestServer(t)
	s.put("Patient", "pp", mrnPatientWithID("pp", "M-P1"))
	patch := `[{"op":"replace","path":"/active","value":false}]`
	data := base64.StdEncoding.EncodeToString([]byte(patch))
	entries := s.responseEntries(bundleOf("transaction",
		`{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"`+data+`"},"request":{"method":"PATCH","url":"Patient/pp"}}`,
		`{"request":{"method":"GET","url":"Patient/pp"}}`,
	))
	wantEntryStatus(t, entries[0], "200 OK")
	if got := entryResponse(t, entries[0])["location"]; got != "Patient/pp/_history/2" {
		t.Errorf("PATCH location = %v, want Patient/pp/_history/2", got)
	}
	if got := entries[1]["resource"].(map[string]any)["active"]; got != false {
		t.Errorf("patched active = %v, want false", got)
	}
}

func TestCapabilitiesListBundles(t *testing.T) {
	s := newTestServer(t)
	statement := s.read("/metadata")
	rest := statement["rest"].([]any)[0].(map[string]any)

	var system []string
	for _, i := range rest["interaction"].([]any) {
		system = append(system, i.(map[string]any)["code"].(string))
	}
	for _, code := range []string{"transaction", "batch"} {
		if !slices.Contains(system, code) {
			t.Errorf("rest.interaction = %v, want it to list %s", system, code)
		}
	}

	for _, r := range rest["resource"].([]any) {
		resource := r.(map[string]any)
		if resource["type"] != "Patient" {
			continue
		}
		if resource["conditionalCreate"] != true {
			t.Errorf("conditionalCreate = %v, want true", resource["conditionalCreate"])
		}
		if resource["conditionalUpdate"] != true {
			t.Errorf("conditionalUpdate = %v, want true", resource["conditionalUpdate"])
		}
		if resource["conditionalDelete"] != "single" {
			t.Errorf("conditionalDelete = %v, want single", resource["conditionalDelete"])
		}
	}
}
