package resources_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/resources"
	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// syntheaFacts are values taken from the loaded bundles that the
// benchmark searches for.
type syntheaFacts struct {
	resources int

	// The patient with the most Observations.
	patientID    string
	observations map[string]int

	// A code that the chosen patient's Observations use, and the date of
	// one of them.
	code, observationDate string
}

// loadSynthea writes the Synthea transaction bundles straight into the
// store, one store transaction per bundle. The bundles refer to their own
// entries by urn:uuid fullUrls; each becomes Type/uuid, with the uuid as
// the resource id. Organizations and Practitioners that several bundles
// carry are written once.
func loadSynthea(b *testing.B, store *sqlite.Store, baseURL string) syntheaFacts {
	b.Helper()
	path := filepath.Join(syntheaDir(), "synthea-v2.4-smart-selfcontained.tar.gz")
	file, err := os.Open(path)
	if err != nil {
		b.Skipf("skipping: the Synthea bundles are not at %s (set WARD_TESTDATA): %v", path, err)
	}
	defer file.Close()
	gz, err := gzip.NewReader(file)
	if err != nil {
		b.Fatalf("read %s: %v", path, err)
	}
	indexer, err := search.NewIndexer(baseURL)
	if err != nil {
		b.Fatal(err)
	}

	facts := syntheaFacts{observations: map[string]int{}}
	written := map[string]bool{}
	codes := map[string]map[string]string{} // patient id -> code -> date
	lastUpdated := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	archive := tar.NewReader(gz)
	for {
		header, err := archive.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatalf("read %s: %v", path, err)
		}
		if !strings.HasSuffix(header.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(archive)
		if err != nil {
			b.Fatal(err)
		}
		bundle, err := fhir.Decode(data)
		if err != nil {
			b.Fatalf("decode %s: %v", header.Name, err)
		}

		entries, _ := bundle["entry"].([]any)
		refs := map[string]string{}
		for _, e := range entries {
			entry := e.(map[string]any)
			resource := entry["resource"].(map[string]any)
			fullURL, _ := entry["fullUrl"].(string)
			if id, ok := strings.CutPrefix(fullURL, "urn:uuid:"); ok {
				refs[fullURL] = resource["resourceType"].(string) + "/" + id
			}
		}

		err = store.Transaction(context.Background(), func(tx storage.Tx) error {
			for _, e := range entries {
				entry := e.(map[string]any)
				resource := entry["resource"].(map[string]any)
				resourceType := resource["resourceType"].(string)
				ref := refs[entry["fullUrl"].(string)]
				id := strings.TrimPrefix(ref, resourceType+"/")
				if written[ref] {
					continue
				}
				rewriteReferences(resource, refs)
				resource["id"] = id
				resource["meta"] = map[string]any{"versionId": "1", "lastUpdated": lastUpdated.Format("2006-01-02T15:04:05.000Z07:00")}
				index, err := indexer.Extract(resourceType, resource)
				if err != nil {
					return err
				}
				body, err := fhir.Marshal(resource)
				if err != nil {
					return err
				}
				if _, err := tx.Write(context.Background(), storage.Write{
					Type: resourceType, ID: id, VersionID: 1, LastUpdated: lastUpdated,
					Op: storage.OpCreate, ExpectVersion: 0, JSON: body, Index: index,
				}); err != nil {
					return err
				}
				written[ref] = true
				facts.resources++
				noteFacts(&facts, codes, resource)
			}
			return nil
		})
		if err != nil {
			b.Fatalf("load %s: %v", header.Name, err)
		}
	}

	for id, n := range facts.observations {
		if n > facts.observations[facts.patientID] {
			facts.patientID = id
		}
	}
	for code, date := range codes[facts.patientID] {
		if facts.code == "" || code < facts.code {
			facts.code, facts.observationDate = code, date
		}
	}
	return facts
}

// noteFacts records what the benchmark's queries need from one resource.
func noteFacts(facts *syntheaFacts, codes map[string]map[string]string, resource map[string]any) {
	switch resource["resourceType"] {
	case "Observation":
		subject, _ := resource["subject"].(map[string]any)
		patientID := strings.TrimPrefix(subject["reference"].(string), "Patient/")
		facts.observations[patientID]++
		coding := resource["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		date, _ := resource["effectiveDateTime"].(string)
		if codes[patientID] == nil {
			codes[patientID] = map[string]string{}
		}
		codes[patientID][coding["code"].(string)] = date
	}
}

// syntheaDir returns WARD_TESTDATA/synthea, or ../shared/testdata/synthea
// beside the repository root.
func syntheaDir() string {
	if dir := os.Getenv("WARD_TESTDATA"); dir != "" {
		return filepath.Join(dir, "synthea")
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
	}
	return filepath.Join(dir, "..", "shared", "testdata", "synthea")
}

func rewriteReferences(value any, refs map[string]string) {
	switch v := value.(type) {
	case map[string]any:
		for key, child := range v {
			if s, ok := child.(string); ok && key == "reference" {
				if ref, ok := refs[s]; ok {
					v[key] = ref
				}
				continue
			}
			rewriteReferences(child, refs)
		}
	case []any:
		for _, child := range v {
			rewriteReferences(child, refs)
		}
	}
}

// BenchmarkSearchHTTP times searches over HTTP on loopback against a
// SQLite store that holds the 30 Synthea patients of the v2.4 sample.
func BenchmarkSearchHTTP(b *testing.B) {
	store, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()

	var api *resources.API
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeHTTP(w, r) }))
	defer server.Close()
	api, err = resources.New(resources.Config{Backend: store, BaseURL: server.URL, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	facts := loadSynthea(b, store, server.URL)
	b.Logf("loaded %d resources in %v", facts.resources, time.Since(start).Round(time.Millisecond))

	patient, err := store.Read(context.Background(), "Patient", facts.patientID)
	if err != nil {
		b.Fatal(err)
	}
	var p struct {
		Name      []struct{ Family string }
		BirthDate string
	}
	if err := json.Unmarshal(patient.JSON, &p); err != nil {
		b.Fatal(err)
	}
	family := p.Name[0].Family
	day := facts.observationDate[:10]

	queries := []struct{ name, path string }{
		{"PatientByNameAndBirthdate", "/Patient?family=" + url.QueryEscape(family) + "&birthdate=" + p.BirthDate},
		{"ObservationsByCodeAndDate", "/Observation?patient=Patient/" + facts.patientID + "&code=http://loinc.org|" + facts.code + "&date=ge" + day[:4]},
		{"ObservationsOfPatient", "/Observation?patient=Patient/" + facts.patientID + "&_count=100"},
		{"EncountersByDate", "/Encounter?date=ge2020-01-01&date=lt2020-07-01&_count=50"},
		{"ChainedPatientName", "/Observation?subject:Patient.family=" + url.QueryEscape(family) + "&code=" + facts.code},
		{"IncludeSubjectAndEncounter", "/Observation?patient=Patient/" + facts.patientID + "&code=" + facts.code + "&_include=Observation:subject&_include=Observation:encounter"},
		{"RevIncludeEncounters", "/Patient?_id=" + facts.patientID + "&_revinclude=Encounter:patient"},
	}
	client := server.Client()
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			entries := 0
			for b.Loop() {
				resp, err := client.Get(server.URL + q.path)
				if err != nil {
					b.Fatal(err)
				}
				var bundle struct{ Entry []json.RawMessage }
				err = json.NewDecoder(resp.Body).Decode(&bundle)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: status %d, %v", q.path, resp.StatusCode, err)
				}
				entries = len(bundle.Entry)
			}
			if entries == 0 {
				b.Fatalf("GET %s found nothing", q.path)
			}
			b.ReportMetric(float64(entries), "entries/op")
		})
	}
}
