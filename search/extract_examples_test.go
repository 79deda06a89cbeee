package search

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// indexTestData returns WARD_TESTDATA, or ../shared/testdata beside the
// repository root, and skips the test when it is missing.
func indexTestData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WARD_TESTDATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Skipf("shared test data not found: %v", err)
		}
		for {
			if _, err := os.Stat(filepath.Join(wd, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(wd)
			if parent == wd {
				t.Skip("shared test data not found: no go.mod above the working directory (set WARD_TESTDATA)")
			}
			wd = parent
		}
		dir = filepath.Join(wd, "..", "shared", "testdata")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test data not found at %s (set WARD_TESTDATA): %v", dir, err)
	}
	return dir
}

// exampleResource is one resource of r4-examples.zip.
type exampleResource struct {
	file     string
	resource map[string]any
}

// readR4Examples decodes every resource of r4-examples.zip, including the
// resources inside Bundle examples, which the server stores one by one
// when it processes a transaction.
func readR4Examples(t testing.TB) []exampleResource {
	t.Helper()
	path := filepath.Join(indexTestData(t), "r4-examples.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Skipf("R4 examples missing: %v", err)
	}
	defer zr.Close()

	var out []exampleResource
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") || f.Name == "package.json" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s in %s: %v", f.Name, path, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s in %s: %v", f.Name, path, err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode %s: %v", f.Name, err)
		}
		if _, ok := r["resourceType"].(string); !ok {
			continue
		}
		out = append(out, exampleResource{file: f.Name, resource: r})
		if r["resourceType"] == "Bundle" {
			entries, _ := r["entry"].([]any)
			for i, e := range entries {
				entry, _ := e.(map[string]any)
				if inner, ok := entry["resource"].(map[string]any); ok {
					out = append(out, exampleResource{file: fmt.Sprintf("%s entry %d", f.Name, i), resource: inner})
				}
			}
		}
	}
	return out
}

func newTestIndexer(t testing.TB) *Indexer {
	t.Helper()
	ix, err := NewIndexer("http://example.org/fhir")
	if err != nil {
		t.Fatalf("NewIndexer: %v", err)
	}
	return ix
}

func TestExtractR4Examples(t *testing.T) {
	examples := readR4Examples(t)
	ix := newTestIndexer(t)

	resources := map[string]int{}
	entries := map[string]int{}
	for _, ex := range examples {
		rt := ex.resource["resourceType"].(string)
		if !definitions.IsResourceType(rt) {
			t.Errorf("%s: unknown resource type %q", ex.file, rt)
			continue
		}
		got, err := ix.Extract(rt, ex.resource)
		if err != nil {
			t.Errorf("%s: %v", ex.file, err)
			continue
		}
		resources[rt]++
		entries[rt] += len(got)
	}

	var report strings.Builder
	types := slices.Sorted(maps.Keys(resources))
	for _, rt := range types {
		fmt.Fprintf(&report, "%-32s %5d resources %7d entries\n", rt, resources[rt], entries[rt])
	}
	t.Logf("index entries of %d R4 example resources per resource type:\n%s", len(examples), report.String())
	if len(types) < 100 {
		t.Errorf("extracted only %d resource types; expected the examples to cover over 100", len(types))
	}
}
