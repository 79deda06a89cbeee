package resources_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/resources"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// testServer is Ward on a loopback port over a real SQLite file.
type testServer struct {
	t    *testing.T
	url  string
	logs *bytes.Buffer
}

// clock hands out increasing instants one second apart, so that tests can
// write the exact lastUpdated and Last-Modified values they expect.
type clock struct {
	mu   sync.Mutex
	next time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.next
	c.next = c.next.Add(time.Second)
	return t
}

// firstInstant is the lastUpdated of the first write in every test.
var firstInstant = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newTestServer(t *testing.T, configure ...func(*resources.Config)) *testServer {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })

	logs := &bytes.Buffer{}
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logMu, logs}, nil))
	clk := &clock{next: firstInstant}

	var server *httptest.Server
	var api *resources.API
	server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r)
	}))
	server.Start()
	t.Cleanup(server.Close)

	cfg := resources.Config{
		Backend: store,
		BaseURL: server.URL,
		Logger:  logger,
		Now:     clk.now,
		Version: "test",
	}
	for _, f := range configure {
		f(&cfg)
	}
	api, err = resources.New(cfg)
	if err != nil {
		t.Fatalf("resources.New: %v", err)
	}
	return &testServer{t: t, url: server.URL, logs: logs}
}

func discardLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// response is what a client saw.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var obj map[string]any
	decoder := json.NewDecoder(bytes.NewReader(r.body))
	decoder.UseNumber()
	if err := decoder.Decode(&obj); err != nil {
		t.Fatalf("response body is not JSON (%v): %s", err, r.body)
	}
	return obj
}

// do sends one request. headers alternate names and values.
func (s *testServer) do(method, path, body string, headers ...string) response {
	s.t.Helper()
	var data []byte
	if body != "" {
		data = []byte(body)
	}
	return s.doBytes(method, path, data, headers...)
}

func (s *testServer) doBytes(method, path string, body []byte, headers ...string) response {
	s.t.Helper()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, reader)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// create posts a resource and returns its server-assigned id.
func (s *testServer) create(resourceType, body string) string {
	s.t.Helper()
	resp := s.do("POST", "/"+resourceType, body)
	if resp.status != http.StatusCreated {
		s.t.Fatalf("create %s: status %d, body %s", resourceType, resp.status, resp.body)
	}
	id, _ := resp.json(s.t)["id"].(string)
	return id
}

// wantStatus fails the test when the status differs, showing the body.
func wantStatus(t *testing.T, resp response, want int) {
	t.Helper()
	if resp.status != want {
		t.Fatalf("status = %d, want %d; body: %s", resp.status, want, resp.body)
	}
}

func wantHeader(t *testing.T, resp response, name, want string) {
	t.Helper()
	if got := resp.header.Get(name); got != want {
		t.Errorf("header %s = %q, want %q", name, got, want)
	}
}

// wantOutcome checks that the body is an OperationOutcome whose first
// issue has the code and, when expression is not empty, that expression.
func wantOutcome(t *testing.T, resp response, code, expression string) map[string]any {
	t.Helper()
	obj := resp.json(t)
	if obj["resourceType"] != "OperationOutcome" {
		t.Fatalf("resourceType = %v, want OperationOutcome; body: %s", obj["resourceType"], resp.body)
	}
	issues, _ := obj["issue"].([]any)
	if len(issues) == 0 {
		t.Fatalf("OperationOutcome has no issue: %s", resp.body)
	}
	issue := issues[0].(map[string]any)
	if issue["code"] != code {
		t.Errorf("issue code = %v, want %s; body: %s", issue["code"], code, resp.body)
	}
	if issue["severity"] != "error" && issue["severity"] != "fatal" && issue["severity"] != "information" {
		t.Errorf("issue severity = %v", issue["severity"])
	}
	if expression != "" {
		expressions, _ := issue["expression"].([]any)
		if len(expressions) == 0 || expressions[0] != expression {
			t.Errorf("issue expression = %v, want [%s]; body: %s", issue["expression"], expression, resp.body)
		}
	}
	wantHeader(t, resp, "Content-Type", "application/fhir+json; charset=utf-8")
	return obj
}

// canonical re-encodes JSON so that two documents compare equal when they
// hold the same data.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	obj, err := fhir.Decode(data)
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	out, err := fhir.Marshal(obj)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(out)
}
