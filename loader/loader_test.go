package loader

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// bundleJSON builds a Bundle of the given type whose entries are
// "Type/id" or "Type" specs, with POST requests for transactions and
// batches.
func bundleJSON(t *testing.T, bundleType string, specs ...string) []byte {
	t.Helper()
	entries := make([]any, len(specs))
	for i, spec := range specs {
		resourceType, id, _ := strings.Cut(spec, "/")
		resource := map[string]any{"resourceType": resourceType}
		if id != "" {
			resource["id"] = id
		}
		e := map[string]any{"fullUrl": fmt.Sprintf("urn:uuid:00000000-0000-0000-0000-%012d", i), "resource": resource}
		if bundleType == "transaction" || bundleType == "batch" {
			e["request"] = map[string]any{"method": "POST", "url": resourceType}
		}
		entries[i] = e
	}
	data, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": bundleType, "entry": entries})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func ndjson(specs ...string) []byte {
	var b bytes.Buffer
	for _, spec := range specs {
		resourceType, id, _ := strings.Cut(spec, "/")
		fmt.Fprintf(&b, `{"resourceType":%q,"id":%q}`+"\n", resourceType, id)
	}
	return b.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarball(t *testing.T, files map[string][]byte, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, name := range names {
		data := files[name]
		if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRankByName(t *testing.T) {
	tests := []struct {
		name   string
		format format
		rank   Rank
		byName bool
	}{
		{"out/hospitalInformation1712.json", formatJSON, RankOrganizations, true},
		{"out/practitionerInformation1712.json", formatJSON, RankPractitioners, true},
		{"out/Anna_Smith_123.json", formatJSON, RankOther, false},
		{"export/Organization.ndjson", formatNDJSON, RankOrganizations, true},
		{"export/Location.000.ndjson", formatNDJSON, RankOrganizations, true},
		{"export/PractitionerRole.ndjson", formatNDJSON, RankPractitioners, true},
		{"export/Patient.ndjson", formatNDJSON, RankOther, true},
		{"export/data.ndjson", formatNDJSON, RankOther, true},
	}
	for _, tt := range tests {
		rank, byName := rankByName(tt.name, tt.format)
		if rank != tt.rank || byName != tt.byName {
			t.Errorf("rankByName(%q) = %d, %t; want %d, %t", tt.name, rank, byName, tt.rank, tt.byName)
		}
	}
}

func TestRankByTypes(t *testing.T) {
	tests := []struct {
		types []string
		rank  Rank
	}{
		{[]string{"Organization", "Location", "Organization"}, RankOrganizations},
		{[]string{"Practitioner", "PractitionerRole"}, RankPractitioners},
		{[]string{"Organization", "Practitioner"}, RankPractitioners},
		{[]string{"Organization", "Patient"}, RankOther},
		{nil, RankOther},
	}
	for _, tt := range tests {
		if got := rankByTypes(tt.types); got != tt.rank {
			t.Errorf("rankByTypes(%v) = %d, want %d", tt.types, got, tt.rank)
		}
	}
}

func TestLoadOrdersReferenceDataFirst(t *testing.T) {
	fsys := fstest.MapFS{
		// Lexical order would send the patients first.
		"synthea/Aaron_Adams_1.json":            {Data: bundleJSON(t, "transaction", "Patient", "Encounter")},
		"synthea/Zoe_Zhang_2.json":              {Data: bundleJSON(t, "transaction", "Patient", "Observation")},
		"synthea/clinics.json":                  {Data: bundleJSON(t, "batch", "Organization", "Location")},
		"synthea/hospitalInformation1.json":     {Data: bundleJSON(t, "batch", "Organization", "Location")},
		"synthea/practitionerInformation1.json": {Data: bundleJSON(t, "batch", "Practitioner", "PractitionerRole")},
		"synthea/staff.json":                    {Data: bundleJSON(t, "batch", "Practitioner", "Organization")},
	}
	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{Concurrency: 4}).LoadFS(context.Background(), fsys, "synthea")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	_, requests := server.snapshot()
	if len(requests) != 6 {
		t.Fatalf("got %d requests, want 6", len(requests))
	}
	rankOf := func(r fakeRequest) Rank { return rankByTypes(r.types) }
	for i := 1; i < len(requests); i++ {
		if rankOf(requests[i]) < rankOf(requests[i-1]) {
			t.Errorf("request %d (%v) was sent after request %d (%v)", i, requests[i].types, i-1, requests[i-1].types)
		}
	}
	if summary.Files != 6 {
		t.Errorf("Files = %d, want 6", summary.Files)
	}
	if summary.Total() != 12 {
		t.Errorf("Total = %d, want 12", summary.Total())
	}
}

func TestLoadNDJSONKeepsIdsInBatches(t *testing.T) {
	data := append(ndjson("Patient/p1", "Patient/p2", "Patient/p3"), "\n  \n"...)
	data = append(data, ndjson("Observation/o1", "Observation/o2")...)
	data = append(data, `{"resourceType":"Observation"}`+"\n"...)
	fsys := fstest.MapFS{"export/data.ndjson": {Data: data}}

	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{BatchSize: 2, Concurrency: 1}).LoadFS(context.Background(), fsys, "export/data.ndjson")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	stored, requests := server.snapshot()
	if len(requests) != 3 {
		t.Fatalf("got %d requests, want 3 Bundles of at most 2 entries", len(requests))
	}
	if got := requests[0]; got.bundleType != "transaction" || got.methods[0] != "PUT" || got.urls[0] != "Patient/p1" {
		t.Errorf("first request = %+v, want a transaction that starts with PUT Patient/p1", got)
	}
	if got := requests[2].methods[1]; got != "POST" {
		t.Errorf("a line without id was sent with %s, want POST", got)
	}
	if got := requests[0].prefer; got != "return=minimal" {
		t.Errorf("Prefer = %q, want return=minimal", got)
	}
	if stored["Patient"] != 3 || stored["Observation"] != 3 {
		t.Errorf("stored %v, want 3 Patient and 3 Observation", stored)
	}
	if summary.Loaded["Patient"] != 3 || summary.Loaded["Observation"] != 3 {
		t.Errorf("Loaded = %v, want 3 Patient and 3 Observation", summary.Loaded)
	}
}

func TestLoadNDJSONReportsBadLines(t *testing.T) {
	data := []byte(`{"resourceType":"Patient","id":"p1"}
{"resourceType":"Patient","id":
{"resourceType":"Patient","id":"bad-2"}
{"id":"p4"}
{"resourceType":"Patient","id":"p5"}
`)
	fsys := fstest.MapFS{"in/Patient.ndjson": {Data: data}}

	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{}).LoadFS(context.Background(), fsys, "in")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	if got := summary.Loaded["Patient"]; got != 2 {
		t.Errorf("loaded %d Patients, want 2 (lines 1 and 5)", got)
	}
	byLine := map[int]Failure{}
	for _, f := range summary.Failures {
		byLine[f.Line] = f
	}
	if len(summary.Failures) != 3 {
		t.Fatalf("got failures %v, want 3 (lines 2, 3 and 4)", summary.Failures)
	}
	if f := byLine[2]; !strings.Contains(f.Diagnostics, "invalid JSON") {
		t.Errorf("line 2 failure = %q, want invalid JSON", f.Error())
	}
	if f := byLine[4]; !strings.Contains(f.Diagnostics, "resourceType") {
		t.Errorf("line 4 failure = %q, want a missing resourceType", f.Error())
	}
	// Line 3 fails the transaction of lines 1, 3 and 5; the batch retry
	// stores the others and names line 3.
	f := byLine[3]
	if f.File != "in/Patient.ndjson" || f.Resource != "Patient/bad-2" || f.Status != 400 {
		t.Errorf("line 3 failure = %+v, want file, resource and status 400", f)
	}
	want := "in/Patient.ndjson line 3 (Patient/bad-2): HTTP 400: the id is bad (at Patient.id)"
	if f.Error() != want {
		t.Errorf("line 3 message = %q, want %q", f.Error(), want)
	}
	_, requests := server.snapshot()
	if len(requests) != 2 || requests[1].bundleType != "batch" {
		t.Errorf("requests = %+v, want a transaction and then its retry as a batch", requests)
	}
}

func TestLoadTransactionFailureNamesEntry(t *testing.T) {
	fsys := fstest.MapFS{"p.json": {Data: bundleJSON(t, "transaction", "Patient/p1", "Encounter/e1", "Observation/bad-o", "Observation/o2")}}

	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{}).LoadFS(context.Background(), fsys, "p.json")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	if len(summary.Failures) != 1 {
		t.Fatalf("failures = %v, want 1", summary.Failures)
	}
	f := summary.Failures[0]
	if f.File != "p.json" || f.Entry != 2 || f.Resource != "Observation/bad-o" || f.NotLoaded != 4 {
		t.Errorf("failure = %+v, want p.json entry 2, Observation/bad-o, 4 entries not loaded", f)
	}
	if got := f.Expression; len(got) != 1 || got[0] != "Bundle.entry[2].resource.id" {
		t.Errorf("expression = %v, want the entry's path", got)
	}
	want := "p.json Bundle.entry[2] (Observation/bad-o): HTTP 400: the id is bad (at Bundle.entry[2].resource.id); 4 entries not loaded"
	if f.Error() != want {
		t.Errorf("message = %q, want %q", f.Error(), want)
	}
	if summary.Total() != 0 {
		t.Errorf("Total = %d, want 0 after a failed transaction", summary.Total())
	}
	if _, requests := server.snapshot(); len(requests) != 1 {
		t.Errorf("got %d requests, want 1: a transaction from a file is never split", len(requests))
	}
}

func TestLoadBatchFailureNamesEntry(t *testing.T) {
	fsys := fstest.MapFS{"b.json": {Data: bundleJSON(t, "batch", "Organization/o1", "Organization/bad-o", "Location/l1")}}

	summary, err := newFakeLoader(t, newFakeServer(), Options{}).LoadFS(context.Background(), fsys, "b.json")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	if summary.Total() != 2 {
		t.Errorf("Total = %d, want 2", summary.Total())
	}
	if len(summary.Failures) != 1 {
		t.Fatalf("failures = %v, want 1", summary.Failures)
	}
	if f := summary.Failures[0]; f.Entry != 1 || f.Resource != "Organization/bad-o" || f.NotLoaded != 1 {
		t.Errorf("failure = %+v, want entry 1, Organization/bad-o", f)
	}
}

func TestLoadCollectionAsTransaction(t *testing.T) {
	fsys := fstest.MapFS{"c.json": {Data: bundleJSON(t, "collection", "Patient/p1", "Observation")}}

	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{}).LoadFS(context.Background(), fsys, "c.json")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	_, requests := server.snapshot()
	if len(requests) != 1 {
		t.Fatalf("got %d requests, want 1", len(requests))
	}
	r := requests[0]
	if r.bundleType != "transaction" {
		t.Errorf("bundle type = %q, want transaction", r.bundleType)
	}
	if r.methods[0] != "PUT" || r.urls[0] != "Patient/p1" {
		t.Errorf("entry 0 = %s %s, want PUT Patient/p1", r.methods[0], r.urls[0])
	}
	if r.methods[1] != "POST" || r.urls[1] != "Observation" {
		t.Errorf("entry 1 = %s %s, want POST Observation", r.methods[1], r.urls[1])
	}
	if r.fullURLs[1] == "" {
		t.Error("fullUrl was dropped; references between entries need it")
	}
	if summary.Total() != 2 {
		t.Errorf("Total = %d, want 2", summary.Total())
	}
}

func TestLoadSingleResourcesAndDocuments(t *testing.T) {
	fsys := fstest.MapFS{
		"one/patient.json":  {Data: []byte(`{"resourceType":"Patient","id":"p1"}`)},
		"one/obs.json":      {Data: []byte(`{"resourceType":"Observation"}`)},
		"one/document.json": {Data: []byte(`{"resourceType":"Bundle","id":"d1","type":"document","entry":[{"resource":{"resourceType":"Composition"}}]}`)},
		"one/README.txt":    {Data: []byte("not FHIR")},
	}
	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{}).LoadFS(context.Background(), fsys, "one")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	stored, requests := server.snapshot()
	if len(requests) != 1 {
		t.Errorf("got %d requests, want the three files in one Bundle", len(requests))
	}
	want := map[string]int{"Patient": 1, "Observation": 1, "Bundle": 1}
	for resourceType, n := range want {
		if stored[resourceType] != n {
			t.Errorf("stored %d %s, want %d (all: %v)", stored[resourceType], resourceType, n, stored)
		}
	}
	if summary.Files != 3 {
		t.Errorf("Files = %d, want 3: README.txt is skipped", summary.Files)
	}
}

func TestLoadGzipAndTarArchives(t *testing.T) {
	inner := map[string][]byte{
		"out/hospitalInformation1.json":      bundleJSON(t, "batch", "Organization/o1"),
		"out/Anna_1.json":                    bundleJSON(t, "transaction", "Patient", "Encounter"),
		"out/Observation.ndjson.gz":          gzipped(t, ndjson("Observation/o1", "Observation/o2")),
		"out/notes.txt":                      []byte("skipped"),
		"out/practitionerInformation1.json":  bundleJSON(t, "batch", "Practitioner/pr1"),
		"out/nested.tar":                     tarball(t, map[string][]byte{"x.json": bundleJSON(t, "batch", "Patient")}, "x.json"),
		"out/Bob_2.json.gz":                  gzipped(t, bundleJSON(t, "transaction", "Patient")),
		"out/practitionerInformation2.jsonl": ndjson("Practitioner/pr2"),
	}
	names := []string{"out/Anna_1.json", "out/Bob_2.json.gz", "out/Observation.ndjson.gz", "out/hospitalInformation1.json",
		"out/notes.txt", "out/practitionerInformation1.json", "out/nested.tar", "out/practitionerInformation2.jsonl"}
	fsys := fstest.MapFS{
		"data/synthea.tar.gz":       {Data: gzipped(t, tarball(t, inner, names...))},
		"data/more/Claim.ndjson":    {Data: ndjson("Claim/c1")},
		"data/more/Patient.json.gz": {Data: gzipped(t, []byte(`{"resourceType":"Patient","id":"p9"}`))},
	}

	server := newFakeServer()
	summary, err := newFakeLoader(t, server, Options{Concurrency: 2}).LoadFS(context.Background(), fsys, "data")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	if len(summary.Failures) > 0 {
		t.Fatalf("failures: %v", summary.Failures)
	}

	stored, requests := server.snapshot()
	want := map[string]int{"Organization": 1, "Practitioner": 2, "Patient": 3, "Encounter": 1, "Observation": 2, "Claim": 1}
	for resourceType, n := range want {
		if stored[resourceType] != n {
			t.Errorf("stored %d %s, want %d (all: %v)", stored[resourceType], resourceType, n, stored)
		}
	}
	if summary.Files != 8 {
		t.Errorf("Files = %d, want 8 (6 archive members and 2 files)", summary.Files)
	}
	if first := requests[0].types[0]; first != "Organization" {
		t.Errorf("first request holds %s, want the hospital information first", first)
	}
}

func TestLoadArchiveMemberNamedInFailure(t *testing.T) {
	inner := map[string][]byte{"out/p.json": bundleJSON(t, "transaction", "Patient/bad-1")}
	fsys := fstest.MapFS{"a.tgz": {Data: gzipped(t, tarball(t, inner, "out/p.json"))}}

	summary, err := newFakeLoader(t, newFakeServer(), Options{}).LoadFS(context.Background(), fsys, "a.tgz")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	if len(summary.Failures) != 1 || summary.Failures[0].File != "a.tgz/out/p.json" {
		t.Errorf("failures = %v, want one in a.tgz/out/p.json", summary.Failures)
	}
}

func TestLoadRejectsUnknownPaths(t *testing.T) {
	fsys := fstest.MapFS{"notes.txt": {Data: []byte("x")}}
	l := newFakeLoader(t, newFakeServer(), Options{})

	if _, err := l.LoadFS(context.Background(), fsys, "notes.txt"); err == nil || !strings.Contains(err.Error(), "unsupported file name") {
		t.Errorf("error = %v, want unsupported file name", err)
	}
	if _, err := l.LoadFS(context.Background(), fsys, "missing.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want not exist", err)
	}
}

func TestLoadReportsInvalidFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"broken.json":  {Data: []byte(`{"resourceType": "Bundle", "type": "transaction", "entry": [`)},
		"nothing.json": {Data: []byte(`{"id": "x"}`)},
		"odd.json":     {Data: bundleJSON(t, "subscription-notification", "Patient")},
		"holes.json":   {Data: []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:x"},{"resource":{"resourceType":"Patient"}}]}`)},
	}
	summary, err := newFakeLoader(t, newFakeServer(), Options{}).LoadFS(context.Background(), fsys, ".")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}

	messages := map[string]string{}
	for _, f := range summary.Failures {
		messages[f.File] = f.Error()
	}
	wants := map[string]string{
		"broken.json":  "invalid JSON",
		"nothing.json": "missing \"resourceType\"",
		"odd.json":     "is not loadable",
		"holes.json":   "Bundle.entry[0]: the entry has no resource",
	}
	for file, want := range wants {
		if !strings.Contains(messages[file], want) {
			t.Errorf("failure for %s = %q, want it to contain %q", file, messages[file], want)
		}
	}
	if summary.Loaded["Patient"] != 1 {
		t.Errorf("Loaded = %v, want the Patient of holes.json", summary.Loaded)
	}
}

func TestLoadWholeRequestFailure(t *testing.T) {
	server := newFakeServer()
	server.status = http.StatusInternalServerError
	fsys := fstest.MapFS{"t.json": {Data: bundleJSON(t, "transaction", "Patient", "Encounter")}}

	summary, err := newFakeLoader(t, server, Options{}).LoadFS(context.Background(), fsys, "t.json")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	if len(summary.Failures) != 1 {
		t.Fatalf("failures = %v, want 1", summary.Failures)
	}
	f := summary.Failures[0]
	if f.Entry != -1 || f.Status != 500 || f.NotLoaded != 2 || !strings.Contains(f.Diagnostics, "set to fail") {
		t.Errorf("failure = %+v, want the whole Bundle, status 500, the server's diagnostics", f)
	}
}

func TestLoadStopsWhenServerUnreachable(t *testing.T) {
	server := httptest.NewServer(http.NotFoundHandler())
	url := server.URL
	server.Close()

	l, err := New(Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"t.json": {Data: bundleJSON(t, "transaction", "Patient")}}
	_, err = l.LoadFS(context.Background(), fsys, "t.json")
	if err == nil || !strings.Contains(err.Error(), "t.json") {
		t.Errorf("error = %v, want a connection error naming t.json", err)
	}
}

func TestLoadOverHTTPFromDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.json"), bundleJSON(t, "transaction", "Patient", "Condition"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := newFakeServer()
	server := httptest.NewServer(fake)
	defer server.Close()

	var seen []Failure
	l, err := New(Options{BaseURL: server.URL + "/", OnFailure: func(f Failure) { seen = append(seen, f) }})
	if err != nil {
		t.Fatal(err)
	}
	summary, err := l.Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if summary.Total() != 2 || len(seen) != 0 {
		t.Errorf("Total = %d, failures %v; want 2 and none", summary.Total(), seen)
	}
	if p := l.Progress(); p.Resources != 2 || p.Files != 1 {
		t.Errorf("Progress = %+v, want 2 resources from 1 file", p)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without BaseURL succeeded")
	}
	if _, err := New(Options{BaseURL: "http://x", Concurrency: -1}); err == nil {
		t.Error("New with negative concurrency succeeded")
	}
}

func TestRankOfJSON(t *testing.T) {
	tests := []struct {
		name string
		json string
		rank Rank
	}{
		{"single Organization", `{"resourceType":"Organization","name":"x"}`, RankOrganizations},
		{"single Patient", `{"resourceType":"Patient"}`, RankOther},
		{"locations", string(bundleJSON(t, "batch", "Location", "Organization")), RankOrganizations},
		{"staff", string(bundleJSON(t, "transaction", "Organization", "PractitionerRole", "Practitioner")), RankPractitioners},
		{"patient first", string(bundleJSON(t, "transaction", "Patient", "Organization")), RankOther},
		{"patient last", string(bundleJSON(t, "transaction", "Organization", "Patient")), RankOther},
		{"document", `{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Organization"}}]}`, RankOther},
		{"keys in another order", `{"entry":[{"resource":{"resourceType":"Location"}}],"meta":{"tag":[]},"resourceType":"Bundle"}`, RankOrganizations},
		{"empty Bundle", `{"resourceType":"Bundle","type":"batch"}`, RankOther},
		{"invalid JSON", `{"resourceType":"Bundle","entry":[{`, RankOther},
		{"not an object", `[1,2]`, RankOther},
	}
	for _, tt := range tests {
		if got := rankOfJSON(strings.NewReader(tt.json)); got != tt.rank {
			t.Errorf("%s: rank %d, want %d", tt.name, got, tt.rank)
		}
	}
}
