package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedTestData returns WARD_TESTDATA, or ../shared/testdata beside the
// repository root, skipping the test when it is missing.
func sharedTestData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WARD_TESTDATA")
	if dir == "" {
		root, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Skip("shared test data not found: no go.mod above the working directory (set WARD_TESTDATA)")
			}
			root = parent
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	if _, err := os.Stat(filepath.Join(dir, "synthea")); err != nil {
		t.Skipf("Synthea test data not found in %s (set WARD_TESTDATA): %v", dir, err)
	}
	return dir
}

// syntheaPatient is what the test reads from one patient's Bundle.
type syntheaPatient struct {
	family       string
	names        []string // every name part, lower case
	identifier   string   // system|value of the Synthea identifier
	observations map[string]int
}

// syntheaArchives returns the .tar.gz archives in dir. Under the race
// detector, which makes loading several times slower, it returns only the
// Synthea 3.x archive: it is the one whose patient Bundles need the
// reference Bundles loaded first.
func syntheaArchives(t testing.TB, dir string) []string {
	t.Helper()
	archives, err := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no .tar.gz archives in %s: %v", dir, err)
	}
	if !raceEnabled {
		return archives
	}
	for _, a := range archives {
		if strings.Contains(filepath.Base(a), "conditional") {
			return []string{a}
		}
	}
	return archives[:1]
}

// syntheaFiles counts the entries of every Bundle in the archives by
// resource type, and collects each patient's names, identifier and
// Observation codes, reading the archives without the loader.
func syntheaFiles(t testing.TB, archives []string) (map[string]int, []syntheaPatient) {
	t.Helper()
	counts := map[string]int{}
	var patients []syntheaPatient
	for _, archive := range archives {
		file, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(file)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			header, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if header.Typeflag != tar.TypeReg || !strings.HasSuffix(header.Name, ".json") {
				continue
			}
			var bundle struct {
				Entry []struct {
					FullURL  string          `json:"fullUrl"`
					Resource json.RawMessage `json:"resource"`
				} `json:"entry"`
			}
			if err := json.NewDecoder(tr).Decode(&bundle); err != nil {
				t.Fatalf("%s/%s: %v", archive, header.Name, err)
			}

			var patient *syntheaPatient
			patientURL := ""
			for _, e := range bundle.Entry {
				var header struct {
					ResourceType string `json:"resourceType"`
				}
				if err := json.Unmarshal(e.Resource, &header); err != nil {
					t.Fatal(err)
				}
				counts[header.ResourceType]++
				if header.ResourceType != "Patient" && header.ResourceType != "Observation" {
					continue
				}
				var r struct {
					ResourceType string `json:"resourceType"`
					Name         []struct {
						Family string   `json:"family"`
						Given  []string `json:"given"`
						Prefix []string `json:"prefix"`
						Suffix []string `json:"suffix"`
					} `json:"name"`
					Identifier []struct {
						System string `json:"system"`
						Value  string `json:"value"`
					} `json:"identifier"`
					Subject struct {
						Reference string `json:"reference"`
					} `json:"subject"`
					Code struct {
						Coding []struct {
							System string `json:"system"`
							Code   string `json:"code"`
						} `json:"coding"`
					} `json:"code"`
				}
				if err := json.Unmarshal(e.Resource, &r); err != nil {
					t.Fatal(err)
				}

				switch r.ResourceType {
				case "Patient":
					patient = &syntheaPatient{observations: map[string]int{}}
					patientURL = e.FullURL
					for _, n := range r.Name {
						if patient.family == "" {
							patient.family = n.Family
						}
						parts := append(append(append([]string{n.Family}, n.Given...), n.Prefix...), n.Suffix...)
						for _, p := range parts {
							patient.names = append(patient.names, strings.ToLower(p))
						}
					}
					for _, id := range r.Identifier {
						if id.System == "https://github.com/synthetichealth/synthea" {
							patient.identifier = id.System + "|" + id.Value
						}
					}
				case "Observation":
					if patient != nil && r.Subject.Reference == patientURL && len(r.Code.Coding) > 0 {
						patient.observations[r.Code.Coding[0].System+"|"+r.Code.Coding[0].Code]++
					}
				}
			}
			if patient != nil {
				patients = append(patients, *patient)
			}
		}
		_ = gz.Close()
		_ = file.Close()
	}
	sort.Slice(patients, func(i, j int) bool { return patients[i].identifier < patients[j].identifier })
	return counts, patients
}

// TestLoadSynthea loads the Synthea archives, as ward load reads them,
// into a new data directory and checks the stored counts and a few
// searches against what the files contain.
func TestLoadSynthea(t *testing.T) {
	dir := filepath.Join(sharedTestData(t), "synthea")
	if testing.Short() {
		t.Skip("loading the Synthea set takes a minute; skipped in -short mode")
	}
	archives := syntheaArchives(t, dir)
	want, patients := syntheaFiles(t, archives)
	data := filepath.Join(t.TempDir(), "data")

	code, stdout, stderr := runLoad(t, append([]string{"--data-dir", data}, archives...)...)
	if code != 0 {
		t.Fatalf("ward load exited with %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("ward load: %s", strings.SplitN(stdout, "\n", 2)[0])

	api := openTestAPI(t, data)
	for resourceType, n := range want {
		if got := api.countType(resourceType); got != n {
			t.Errorf("%s: %d stored, %d in the files", resourceType, got, n)
		}
	}

	// A few patients across the set: the first, a middle and the last.
	checked := 0
	for _, i := range []int{0, len(patients) / 2, len(patients) - 1} {
		p := patients[i]
		if p.identifier == "" {
			t.Errorf("patient %s has no Synthea identifier", p.family)
			continue
		}
		checkPatientSearches(t, api, p, patients)
		checked++
	}
	if checked == 0 {
		t.Fatal("no patient was checked")
	}
}

func checkPatientSearches(t *testing.T, api *testAPI, p syntheaPatient, all []syntheaPatient) {
	t.Helper()

	// name matches any name part that starts with the value, ignoring case.
	prefix := strings.ToLower(p.family)
	wantByName := 0
	for _, other := range all {
		for _, n := range other.names {
			if strings.HasPrefix(n, prefix) {
				wantByName++
				break
			}
		}
	}
	if got := api.total("/Patient?name=" + url.QueryEscape(p.family)); got != wantByName {
		t.Errorf("Patient?name=%s: %d matches, %d in the files", p.family, got, wantByName)
	}

	status, found := api.get("/Patient?identifier=" + url.QueryEscape(p.identifier))
	entries, _ := found["entry"].([]any)
	if status != 200 || len(entries) != 1 {
		t.Errorf("Patient?identifier=%s: status %d, %d entries; want one", p.identifier, status, len(entries))
		return
	}
	resource, _ := entries[0].(map[string]any)["resource"].(map[string]any)
	id, _ := resource["id"].(string)

	code, wantCount := "", 0
	for c, n := range p.observations {
		if n > wantCount || (n == wantCount && c < code) {
			code, wantCount = c, n
		}
	}
	if code == "" {
		return
	}
	query := "/Observation?subject=Patient/" + id + "&code=" + url.QueryEscape(code) + "&_summary=count&_total=accurate"
	if got := api.total(query); got != wantCount {
		t.Errorf("%s: %d matches, %d in the files", query, got, wantCount)
	}
}
