package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/testdata/hospital"
)

type sampleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

func readSample(t *testing.T, name string) (string, []sampleEntry) {
	t.Helper()
	data, err := hospital.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		ResourceType string        `json:"resourceType"`
		Type         string        `json:"type"`
		Entry        []sampleEntry `json:"entry"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return bundle.Type, bundle.Entry
}

// sampleCounts counts the sample's resources by type.
func sampleCounts(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, name := range hospital.Files {
		_, entries := readSample(t, name)
		for _, e := range entries {
			resourceType, _, _ := strings.Cut(e.Request.URL, "/")
			counts[resourceType]++
		}
	}
	return counts
}

// references returns every Reference.reference string in a resource.
func references(value any) []string {
	var found []string
	switch v := value.(type) {
	case map[string]any:
		for key, child := range v {
			if s, ok := child.(string); ok && key == "reference" {
				found = append(found, s)
				continue
			}
			found = append(found, references(child)...)
		}
	case []any:
		for _, child := range v {
			found = append(found, references(child)...)
		}
	}
	return found
}

func TestHospitalSampleIsValidR4(t *testing.T) {
	stored := map[string]bool{} // Type/id of earlier Bundles and this one
	for _, name := range hospital.Files {
		bundleType, entries := readSample(t, name)
		if bundleType != "transaction" {
			t.Errorf("%s: Bundle.type %q, want transaction", name, bundleType)
		}
		fullURLs := map[string]bool{}
		for i, e := range entries {
			r, err := fhir.ParseResource(e.Resource, fhir.DefaultLimits())
			if err != nil {
				var invalid *fhir.InvalidError
				if errors.As(err, &invalid) {
					for _, is := range invalid.Issues {
						t.Errorf("%s entry %d: %s (at %v)", name, i, is.Diagnostics, is.Expression)
					}
					continue
				}
				t.Fatalf("%s entry %d: %v", name, i, err)
			}
			if e.Request.Method != http.MethodPut || e.Request.URL != r.Type+"/"+r.ID {
				t.Errorf("%s entry %d: request %s %s, want PUT %s/%s", name, i, e.Request.Method, e.Request.URL, r.Type, r.ID)
			}
			if !strings.HasPrefix(e.FullURL, "urn:uuid:") || fullURLs[e.FullURL] {
				t.Errorf("%s entry %d: fullUrl %q is not a unique urn:uuid", name, i, e.FullURL)
			}
			fullURLs[e.FullURL] = true
			stored[e.Request.URL] = true
		}

		for i, e := range entries {
			var obj any
			if err := json.Unmarshal(e.Resource, &obj); err != nil {
				t.Fatal(err)
			}
			for _, ref := range references(obj) {
				if strings.HasPrefix(ref, "urn:uuid:") && !fullURLs[ref] {
					t.Errorf("%s entry %d: %s is not an entry of the same Bundle", name, i, ref)
				}
				if !strings.HasPrefix(ref, "urn:") && !stored[ref] {
					t.Errorf("%s entry %d: %s is in no Bundle loaded before or with it", name, i, ref)
				}
			}
		}
	}
}

func TestDemoLoadsOnce(t *testing.T) {
	api := openTestAPI(t, t.TempDir())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	if err := loadDemo(context.Background(), api.api, "http://127.0.0.1:8080", logger); err != nil {
		t.Fatalf("first load: %v", err)
	}
	want := sampleCounts(t)
	for resourceType, n := range want {
		if got := api.countType(resourceType); got != n {
			t.Errorf("%s: %d stored, %d in the sample", resourceType, got, n)
		}
	}

	if err := loadDemo(context.Background(), api.api, "http://127.0.0.1:8080", logger); err != nil {
		t.Fatalf("second load: %v", err)
	}
	for _, path := range []string{"/Organization/kestrel-bay-general", "/Patient/pat-hartwell"} {
		status, body := api.get(path)
		meta, _ := body["meta"].(map[string]any)
		if status != http.StatusOK || meta["versionId"] != "1" {
			t.Errorf("GET %s: status %d, meta %v; want version 1 after loading twice", path, status, meta)
		}
	}
	if got, n := api.countType("Observation"), want["Observation"]; got != n {
		t.Errorf("Observation: %d stored after the second load, want %d", got, n)
	}
}

func TestServeDemoFlag(t *testing.T) {
	cfg, err := parseServeFlags([]string{"--demo"}, io.Discard)
	if err != nil || !cfg.demo {
		t.Errorf("--demo: demo %t, error %v", cfg.demo, err)
	}
	t.Setenv("WARD_DEMO", "true")
	cfg, err = parseServeFlags(nil, io.Discard)
	if err != nil || !cfg.demo {
		t.Errorf("WARD_DEMO=true: demo %t, error %v", cfg.demo, err)
	}
	cfg, err = parseServeFlags([]string{"--demo=false"}, io.Discard)
	if err != nil || cfg.demo {
		t.Errorf("--demo=false over WARD_DEMO=true: demo %t, error %v", cfg.demo, err)
	}
}

// TestHospitalModelExamples runs every curl example of
// docs/hospital-model.md against the sample and expects each to find
// something, so the page stays true to the data.
func TestHospitalModelExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "hospital-model.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile(`curl -s '(http://127\.0\.0\.1:8080[^']+)'`).FindAllStringSubmatch(string(doc), -1)
	if len(examples) < 20 {
		t.Fatalf("found %d examples in the page, expected at least 20", len(examples))
	}

	api := openTestAPI(t, t.TempDir())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := loadDemo(context.Background(), api.api, "http://127.0.0.1:8080", logger); err != nil {
		t.Fatal(err)
	}
	for _, example := range examples {
		path := strings.TrimPrefix(example[1], "http://127.0.0.1:8080")
		status, body := api.get(path)
		if status != http.StatusOK {
			t.Errorf("GET %s: status %d: %v", path, status, body)
			continue
		}
		if body["resourceType"] != "Bundle" {
			continue
		}
		if entries, _ := body["entry"].([]any); len(entries) == 0 {
			t.Errorf("GET %s: found nothing", path)
		}
	}
}
