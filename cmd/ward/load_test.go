package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/loader"
	"github.com/ward-fhir/ward/resources"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// runLoad runs ward load in process and returns its exit code and output.
func runLoad(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"load"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// testAPI serves the API over a store in dir, as ward serve would.
type testAPI struct {
	t      *testing.T
	store  *sqlite.Store
	api    *resources.API
	client *http.Client
}

func openTestAPI(t *testing.T, dir string) *testAPI {
	t.Helper()
	store, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	logger, _ := newLogger("error", "text", io.Discard)
	api, err := resources.New(resources.Config{Backend: store, BaseURL: "http://127.0.0.1:8080", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return &testAPI{t: t, store: store, api: api, client: &http.Client{Transport: loader.HandlerTransport{Handler: api}}}
}

// get sends a GET and decodes the JSON response.
func (a *testAPI) get(path string) (int, map[string]any) {
	a.t.Helper()
	resp, err := a.client.Get("http://127.0.0.1:8080" + path)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		a.t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode, body
}

// total returns Bundle.total of a search, failing the test on an error.
func (a *testAPI) total(path string) int {
	a.t.Helper()
	status, body := a.get(path)
	if status != http.StatusOK {
		a.t.Fatalf("GET %s: status %d: %v", path, status, body)
	}
	total, ok := body["total"].(float64)
	if !ok {
		a.t.Fatalf("GET %s: no total in %v", path, body)
	}
	return int(total)
}

func (a *testAPI) countType(resourceType string) int {
	return a.total("/" + resourceType + "?_summary=count&_total=accurate")
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadReportsFileEntryAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"Quill"}]},"request":{"method":"POST","url":"Patient"}},
 {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Observation","code":{"text":"pulse"},
  "subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}},"request":{"method":"POST","url":"Observation"}}]}`)
	lines := writeFile(t, dir, "patients.ndjson", `{"resourceType":"Patient","id":"a1"}
{"resourceType":"Patient","id":"a2","gender":"robot"}
{"resourceType":"Patient","id":"a3"}
`)

	code, stdout, stderr := runLoad(t, "--data-dir", filepath.Join(dir, "data"), bad, lines)

	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	wants := []string{
		bad + " Bundle.entry[1] (Observation): HTTP 400: ",
		"Observation.status",
		"2 entries not loaded",
		lines + " line 2 (Patient/a2): HTTP 400: ",
		"(at Patient.gender)",
		"ward: 2 failures; 3 entries not loaded",
	}
	for _, want := range wants {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "Loaded 2 resources from 2 files") {
		t.Errorf("stdout = %q, want a summary of 2 resources from 2 files", stdout)
	}

	api := openTestAPI(t, filepath.Join(dir, "data"))
	if status, _ := api.get("/Patient/a3"); status != http.StatusOK {
		t.Errorf("GET Patient/a3 = %d, want 200: a bad line must not keep the good ones out", status)
	}
	if n := api.countType("Observation"); n != 0 {
		t.Errorf("%d Observations stored, want 0 from the failed transaction", n)
	}
}

func TestLoadSucceedsWithExitZero(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "p.json", `{"resourceType":"Patient","id":"z1","name":[{"family":"Quill"}]}`)

	code, stdout, stderr := runLoad(t, "--data-dir", filepath.Join(dir, "data"), path)

	if code != 0 {
		t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "Loaded 1 resource from 1 file") || !strings.Contains(stdout, "Patient") {
		t.Errorf("stdout = %q, want a summary with the Patient count", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing: stderr is not a terminal here", stderr)
	}
}

func TestLoadFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		wantURL string
		wantDir string
	}{
		{name: "no target", args: []string{"x.json"}, wantErr: "missing target"},
		{name: "both targets", args: []string{"--url", "http://127.0.0.1:1", "--data-dir", "d", "x.json"}, wantErr: "not both"},
		{name: "no paths", args: []string{"--url", "http://127.0.0.1:1"}, wantErr: "missing PATH"},
		{name: "bad header", args: []string{"--url", "u", "--header", "nocolon", "x.json"}, wantErr: "Name: value"},
		{name: "zero concurrency", args: []string{"--url", "u", "--concurrency", "0", "x.json"}, wantErr: "must be positive"},
		{name: "url from env", env: map[string]string{"WARD_URL": "http://127.0.0.1:2"}, args: []string{"x.json"},
			wantURL: "http://127.0.0.1:2"},
		{name: "flag wins over env", env: map[string]string{"WARD_URL": "http://127.0.0.1:2"},
			args: []string{"--data-dir", "d", "x.json"}, wantDir: "d"},
		{name: "both in env", env: map[string]string{"WARD_URL": "u", "WARD_DATA_DIR": "d"}, args: []string{"x.json"},
			wantErr: "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WARD_URL", "")
			t.Setenv("WARD_DATA_DIR", "")
			os.Unsetenv("WARD_URL")
			os.Unsetenv("WARD_DATA_DIR")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := parseLoadFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if cfg.url != tt.wantURL || cfg.dataDir != tt.wantDir {
				t.Errorf("url %q, data dir %q; want %q, %q", cfg.url, cfg.dataDir, tt.wantURL, tt.wantDir)
			}
		})
	}
}

func TestLoadHeaderFlag(t *testing.T) {
	cfg, err := parseLoadFlags([]string{"--url", "u", "--header", "Authorization: Bearer abc", "--header", "X-Tenant:north", "x.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header(cfg.headers)
	if h.Get("Authorization") != "Bearer abc" || h.Get("X-Tenant") != "north" {
		t.Errorf("headers = %v", h)
	}
}

func TestProgressAndSummaryText(t *testing.T) {
	p := loader.Progress{Files: 3, Resources: 12345, Failed: 1, Elapsed: 5 * time.Second}
	if got, want := formatProgress(p), "loaded 12,345 resources from 3 files, 2,469/s, 1 failed"; got != want {
		t.Errorf("formatProgress = %q, want %q", got, want)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
	if got := count(1, "entry") + ", " + count(2, "entry") + ", " + count(2, "file"); got != "1 entry, 2 entries, 2 files" {
		t.Errorf("count = %q", got)
	}

	var out bytes.Buffer
	printLoadSummary(&out, loader.Summary{Files: 2, Loaded: map[string]int64{"Patient": 2, "Observation": 1500},
		Requests: 3, Elapsed: time.Second})
	want := "Loaded 1,502 resources from 2 files in 1s (1,502 resources/s, 3 Bundles sent); 0 failures.\n" +
		"  Observation      1,500\n" +
		"  Patient              2\n"
	if out.String() != want {
		t.Errorf("summary =\n%s\nwant\n%s", out.String(), want)
	}
}

func TestFailureLinesKeepProgressBelow(t *testing.T) {
	var buf bytes.Buffer
	out := &loadOutput{stderr: &buf, terminal: true}
	out.showProgress(loader.Progress{Resources: 5})
	out.failure(loader.Failure{File: "a.json", Entry: 2, Diagnostics: "bad"})

	got := buf.String()
	if !strings.Contains(got, "\r\033[Kward load: a.json Bundle.entry[2]: bad\nloaded 5 resources") {
		t.Errorf("output %q: the failure must clear the progress line and redraw it below", got)
	}
}

func TestFailureLinesAreCapped(t *testing.T) {
	var buf bytes.Buffer
	out := &loadOutput{stderr: &buf}
	for i := 0; i < maxPrintedFailures+50; i++ {
		out.failure(loader.Failure{File: "a.ndjson", Line: i + 1, Diagnostics: "bad"})
	}
	lines := strings.Count(buf.String(), "\n")
	if lines != maxPrintedFailures+1 {
		t.Errorf("printed %d lines, want %d failures and one notice", lines, maxPrintedFailures+1)
	}
}

func TestLoadOverHTTP(t *testing.T) {
	api := openTestAPI(t, t.TempDir())
	server := httptest.NewServer(api.api)
	defer server.Close()
	dir := t.TempDir()
	path := writeFile(t, dir, "c.json", `{"resourceType":"Bundle","type":"collection","entry":[
 {"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333","resource":{"resourceType":"Patient","id":"h1","name":[{"family":"Quill"}]}},
 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"urn:uuid:33333333-3333-4333-8333-333333333333"}}}]}`)

	code, _, stderr := runLoad(t, "--url", server.URL, path)

	if code != 0 {
		t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
	}
	if got := api.total("/Observation?subject=Patient/h1"); got != 1 {
		t.Errorf("Observations of Patient/h1 = %d, want 1: the urn:uuid reference must resolve to the kept id", got)
	}
}

func TestLoadStopsOnUnreachableServer(t *testing.T) {
	server := httptest.NewServer(http.NotFoundHandler())
	address := server.URL
	server.Close()
	path := writeFile(t, t.TempDir(), "p.json", `{"resourceType":"Patient"}`)

	code, _, stderr := runLoad(t, "--url", address, path)

	if code != 1 || !strings.Contains(stderr, "load stopped") || !strings.Contains(stderr, "p.json") {
		t.Errorf("exit code %d, stderr %q; want 1 and a stop naming p.json", code, stderr)
	}
}

// TestHoldStoreHelper is not a test: TestLoadRejectsDataDirInUse runs the
// test binary with it to hold a store open in another process.
func TestHoldStoreHelper(t *testing.T) {
	dir := os.Getenv("WARD_TEST_HOLD_STORE")
	if dir == "" {
		t.Skip("helper process for TestLoadRejectsDataDirInUse")
	}
	store, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fmt.Println("ready")
	// Hold the store until the parent closes standard input, or at most a
	// minute.
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
}

func TestLoadRejectsDataDirInUse(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the in-use check works on Linux and macOS only")
	}
	dir := filepath.Join(t.TempDir(), "data")
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldStoreHelper$")
	holder.Env = append(os.Environ(), "WARD_TEST_HOLD_STORE="+dir)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = holder.Wait()
	}()
	ready := make([]byte, 5)
	if _, err := io.ReadFull(stdout, ready); err != nil || string(ready) != "ready" {
		t.Fatalf("helper did not start: %q, %v", ready, err)
	}

	path := writeFile(t, t.TempDir(), "p.json", `{"resourceType":"Patient"}`)
	code, _, stderr := runLoad(t, "--data-dir", dir, path)

	if code != 1 || !strings.Contains(stderr, "open in another process") {
		t.Errorf("exit code %d, stderr %q; want 1 and the directory named as in use", code, stderr)
	}
}
