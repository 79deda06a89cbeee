package resources_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestTransactionRejectsUnknownURN(t *testing.T) {
	s := newTestServer(t)
	before := s.historyTotal()

	resp := s.postBundle(bundleOf("transaction",
		`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},`+
			`"subject":{"reference":"urn:uuid:deadbeef-1111-4111-8111-111111111111"}},"request":{"method":"POST","url":"Observation"}}`))

	wantStatus(t, resp, http.StatusBadRequest)
	wantOutcome(t, resp, "invalid", "")
	if !strings.Contains(string(resp.body), "names no entry of this Bundle") {
		t.Errorf("diagnostics do not explain the unknown urn: %s", resp.body)
	}
	if after := s.historyTotal(); after != before {
		t.Errorf("history total went from %d to %d after a rejected transaction", before, after)
	}
}

func TestTransactionRejectsDeleteAndPutOfOneResource(t *testing.T) {
	s := newTestServer(t)

	resp := s.postBundle(bundleOf("transaction",
		`{"resource":{"resourceType":"Patient","id":"cd1"},"request":{"method":"PUT","url":"Patient/cd1"}}`,
		`{"request":{"method":"DELETE","url":"Patient/cd1"}}`))

	wantStatus(t, resp, http.StatusBadRequest)
	wantOutcome(t, resp, "invalid", "")
	if !strings.Contains(string(resp.body), "may act on each resource only once") {
		t.Errorf("diagnostics do not name the overlap: %s", resp.body)
	}
	if got := s.do("GET", "/Patient/cd1", "").status; got != http.StatusNotFound {
		t.Errorf("GET Patient/cd1 = %d, want 404", got)
	}
}

func TestBatchReadsCapped(t *testing.T) {
	s := newTestServer(t)
	// About 600 KB of one Patient, read back by many GET entries.
	big := `{"resourceType":"Patient","id":"big","name":[{"family":"` + strings.Repeat("a", 600<<10) + `"}]}`
	wantStatus(t, s.do("PUT", "/Patient/big", big), http.StatusCreated)

	entries := make([]string, 150)
	for i := range entries {
		entries[i] = `{"request":{"method":"GET","url":"Patient/big"}}`
	}
	got := s.responseEntries(bundleOf("batch", entries...))

	if len(got) != len(entries) {
		t.Fatalf("%d response entries, want %d", len(got), len(entries))
	}
	wantEntryStatus(t, got[0], "200 OK")
	last := entryResponse(t, got[len(got)-1])
	if status, _ := last["status"].(string); !strings.HasPrefix(status, "400") {
		t.Errorf("last entry status = %v, want 400 once the Bundle's reads pass 64 MiB", last["status"])
	}
}
