package resources_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// syntheaBundles returns the JSON files of a Synthea archive in the test
// data, by file name, and skips the test when the archive is missing.
func syntheaBundles(t *testing.T, archive string) map[string][]byte {
	t.Helper()
	path := filepath.Join(testdataDir(t), "synthea", archive)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("Synthea archive %s not found; set WARD_TESTDATA to the shared test data folder", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		header, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if header.Typeflag != tar.TypeReg || !strings.HasSuffix(header.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, header.Name, err)
		}
		files[filepath.Base(header.Name)] = data
	}
	return files
}

// loadBundle posts a Synthea Bundle and checks that every entry
// succeeded with one of the wanted statuses. It returns the response
// entries.
func (s *testServer) loadBundle(name string, body []byte, wantStatuses ...string) []map[string]any {
	s.t.Helper()
	resp := s.doBytes("POST", "/", body)
	if resp.status != http.StatusOK {
		s.t.Fatalf("%s: status %d: %.2000s", name, resp.status, resp.body)
	}
	entries := bundleEntries(s.t, resp.json(s.t))
	for i, e := range entries {
		status, _ := entryResponse(s.t, e)["status"].(string)
		if !slices.Contains(wantStatuses, status) {
			s.t.Fatalf("%s: entry %d: status %q, want one of %v: %.1000s", name, i, status, wantStatuses, mustJSON(s.t, e))
		}
	}
	return entries
}

// TestSyntheaConditionalBundles loads Synthea 3.x output as its authors
// intend: two batches of organizations, locations and practitioners with
// If-None-Exist, then one transaction per patient whose references to
// them are all conditional references.
func TestSyntheaConditionalBundles(t *testing.T) {
	files := syntheaBundles(t, "synthea-3x-uscore-conditional.tar.gz")
	s := newTestServer(t)

	reference := []string{"hospitalInformation.json", "practitionerInformation.json"}
	for _, name := range reference {
		body, ok := files[name]
		if !ok {
			t.Fatalf("the archive has no %s", name)
		}
		s.loadBundle(name, body, "201 Created")
	}
	// Loading them again finds every resource that has If-None-Exist
	// instead of creating it. The PractitionerRole entries have none, so
	// they are created again.
	before := s.historyTotal()
	for _, name := range reference {
		entries := s.loadBundle(name, files[name], "200 OK", "201 Created")
		for i, e := range entries {
			resource, _ := e["resource"].(map[string]any)
			want := "200 OK"
			if resource["resourceType"] == "PractitionerRole" {
				want = "201 Created"
			}
			wantEntryStatus(t, e, want)
			if t.Failed() {
				t.Fatalf("%s: entry %d failed; stopping", name, i)
			}
		}
	}
	if after := s.historyTotal(); after != before+155 {
		t.Errorf("reloading the reference Bundles wrote %d versions, want 155 PractitionerRoles", after-before)
	}

	var patients []string
	for name := range files {
		if !slices.Contains(reference, name) {
			patients = append(patients, name)
		}
	}
	slices.Sort(patients)
	for _, name := range patients {
		entries := s.loadBundle(name, files[name], "201 Created")

		// Every stored resource has literal references only: no urn:uuid
		// and no conditional reference is left.
		for _, e := range entries {
			location, _ := entryResponse(t, e)["location"].(string)
			resource, _ := e["resource"].(map[string]any)
			data, err := json.Marshal(resource)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			if strings.Contains(text, `"reference":"urn:uuid:`) || strings.Contains(text, `?identifier=`) {
				t.Errorf("%s: %s still has a urn:uuid or conditional reference: %.500s", name, location, text)
			}
		}
	}
	if len(patients) == 0 {
		t.Fatal("the archive has no patient Bundles")
	}
	if got := s.search("/Patient?_count=100"); len(got) != len(patients) {
		t.Errorf("found %d Patients, want %d", len(got), len(patients))
	}
}

// TestSyntheaSelfContainedBundles loads Synthea 2.4 patient transactions,
// whose entries refer to each other by urn:uuid fullUrls.
func TestSyntheaSelfContainedBundles(t *testing.T) {
	files := syntheaBundles(t, "synthea-v2.4-smart-selfcontained.tar.gz")
	s := newTestServer(t)

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	// Five patients keep the test short; the references they use are the
	// same kinds as in the rest.
	names = names[:min(5, len(names))]
	for _, name := range names {
		entries := s.loadBundle(name, files[name], "201 Created")
		patientID := ""
		for _, e := range entries {
			if location, _ := entryResponse(t, e)["location"].(string); strings.HasPrefix(location, "Patient/") {
				patientID = idOf(t, location)
			}
		}
		if patientID == "" {
			t.Fatalf("%s: no Patient was created", name)
		}
		// Encounters refer to the patient through a rewritten urn:uuid.
		if got := s.search("/Encounter?subject=Patient/" + patientID + "&_count=1000"); len(got) == 0 {
			t.Errorf("%s: no Encounter refers to Patient/%s", name, patientID)
		}
	}
}
