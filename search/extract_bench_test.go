package search

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchArchive is the Synthea sample the extraction benchmark reads.
const benchArchive = "synthea-v2.4-smart-selfcontained.tar.gz"

// readSyntheaResources returns the resources of the first bundles of a
// Synthea archive, read straight from the .tar.gz file.
func readSyntheaResources(b testing.TB, archive string, bundles int) []map[string]any {
	b.Helper()
	path := filepath.Join(indexTestData(b), "synthea", archive)
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("Synthea archive missing: %v", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		b.Fatalf("read %s: %v", path, err)
	}
	tr := tar.NewReader(gz)

	var out []map[string]any
	for read := 0; read < bundles; {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatalf("read %s: %v", path, err)
		}
		if hdr.Typeflag != tar.TypeReg || !strings.HasSuffix(hdr.Name, ".json") {
			continue
		}
		dec := json.NewDecoder(tr)
		dec.UseNumber()
		var bundle map[string]any
		if err := dec.Decode(&bundle); err != nil {
			b.Fatalf("decode %s in %s: %v", hdr.Name, path, err)
		}
		if bundle["resourceType"] != "Bundle" {
			continue
		}
		entries, _ := bundle["entry"].([]any)
		for _, e := range entries {
			entry, _ := e.(map[string]any)
			if r, ok := entry["resource"].(map[string]any); ok {
				out = append(out, r)
			}
		}
		read++
	}
	if len(out) == 0 {
		b.Skipf("no patient bundle in %s", path)
	}
	return out
}

// BenchmarkExtractSynthea extracts the index entries of the resources of
// the first Synthea patient bundles: all of them, then those of a few
// common types. One op is one resource.
func BenchmarkExtractSynthea(b *testing.B) {
	resources := readSyntheaResources(b, benchArchive, 5)
	ix := newTestIndexer(b)

	groups := map[string][]map[string]any{"all": resources}
	types := []string{"all", "Patient", "Encounter", "Observation", "Condition", "Claim", "ExplanationOfBenefit"}
	for _, r := range resources {
		rt := r["resourceType"].(string)
		groups[rt] = append(groups[rt], r)
	}

	for _, name := range types {
		group := groups[name]
		if len(group) == 0 {
			continue
		}
		b.Run(name, func(b *testing.B) {
			entries := 0
			for _, r := range group {
				got, err := ix.Extract(r["resourceType"].(string), r)
				if err != nil {
					b.Fatal(err)
				}
				entries += len(got)
			}
			i := 0
			for b.Loop() {
				r := group[i%len(group)]
				if _, err := ix.Extract(r["resourceType"].(string), r); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(entries)/float64(len(group)), "entries/resource")
			b.ReportMetric(float64(len(group)), "resources")
		})
	}
}

// TestExtractSynthea extracts every resource of the first Synthea bundles
// of both samples without error.
func TestExtractSynthea(t *testing.T) {
	ix := newTestIndexer(t)
	for _, archive := range []string{benchArchive, "synthea-3x-uscore-conditional.tar.gz"} {
		resources := readSyntheaResources(t, archive, 3)
		for _, r := range resources {
			if _, err := ix.Extract(r["resourceType"].(string), r); err != nil {
				t.Errorf("%s: %v", archive, err)
			}
		}
	}
}
