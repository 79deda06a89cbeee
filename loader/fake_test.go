package loader

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeServer is a FHIR server stand-in that accepts transaction and batch
// Bundles at POST /. It rejects every resource whose id starts with "bad",
// so tests can place failures exactly.
type fakeServer struct {
	mu       sync.Mutex
	stored   map[string]int // by resource type
	requests []fakeRequest  // in arrival order
	status   int            // when non-zero, every request fails with it
}

type fakeRequest struct {
	bundleType string
	methods    []string
	urls       []string
	types      []string
	fullURLs   []string
	prefer     string
}

func newFakeServer() *fakeServer {
	return &fakeServer{stored: map[string]int{}}
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource *resourceHeader `json:"resource"`
			Request  struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(r.Body).Decode(&bundle); err != nil {
		writeFake(w, http.StatusBadRequest, outcome("invalid", err.Error(), ""))
		return
	}

	request := fakeRequest{bundleType: bundle.Type, prefer: r.Header.Get("Prefer")}
	var bad []int
	for i, e := range bundle.Entry {
		resourceType := typeFromURL(e.Request.URL)
		if e.Resource != nil {
			resourceType = e.Resource.ResourceType
			if strings.HasPrefix(e.Resource.ID, "bad") {
				bad = append(bad, i)
			}
		}
		request.methods = append(request.methods, e.Request.Method)
		request.urls = append(request.urls, e.Request.URL)
		request.types = append(request.types, resourceType)
		request.fullURLs = append(request.fullURLs, e.FullURL)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, request)
	if s.status != 0 {
		writeFake(w, s.status, outcome("exception", "the fake server is set to fail", ""))
		return
	}

	switch bundle.Type {
	case "transaction":
		if len(bad) > 0 {
			i := bad[0]
			writeFake(w, http.StatusBadRequest, outcome("invalid", "the id is bad",
				fmt.Sprintf("Bundle.entry[%d].resource.id", i)))
			return
		}
		entries := make([]any, len(bundle.Entry))
		for i := range bundle.Entry {
			s.stored[request.types[i]]++
			entries[i] = map[string]any{"response": map[string]any{"status": "201 Created"}}
		}
		writeFake(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
	case "batch":
		entries := make([]any, len(bundle.Entry))
		for i := range bundle.Entry {
			if contains(bad, i) {
				entries[i] = map[string]any{"response": map[string]any{
					"status":  "400 Bad Request",
					"outcome": outcome("invalid", "the id is bad", request.types[i]+".id"),
				}}
				continue
			}
			s.stored[request.types[i]]++
			entries[i] = map[string]any{"response": map[string]any{"status": "201 Created"}}
		}
		writeFake(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "batch-response", "entry": entries})
	default:
		writeFake(w, http.StatusBadRequest, outcome("invalid", "Bundle.type must be transaction or batch", "Bundle.type"))
	}
}

func (s *fakeServer) snapshot() (map[string]int, []fakeRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := map[string]int{}
	for k, v := range s.stored {
		stored[k] = v
	}
	return stored, append([]fakeRequest(nil), s.requests...)
}

func contains(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

func outcome(code, diagnostics, expression string) map[string]any {
	is := map[string]any{"severity": "error", "code": code, "diagnostics": diagnostics}
	if expression != "" {
		is["expression"] = []string{expression}
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": []any{is}}
}

func writeFake(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// newFakeLoader returns a Loader that calls server in process.
func newFakeLoader(t *testing.T, server http.Handler, opts Options) *Loader {
	t.Helper()
	opts.BaseURL = "http://ward.test"
	opts.Client = &http.Client{Transport: HandlerTransport{Handler: server}}
	l, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}
