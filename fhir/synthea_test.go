package fhir

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntheaEntry is one resource of a Synthea patient Bundle.
type syntheaEntry struct {
	bundle string
	index  int
	body   []byte
}

// readSyntheaEntries returns the entry resources of every Bundle in one of
// the Synthea archives of the shared test data, re-encoded one by one as a
// client would send them, and skips the test when the archive is missing.
func readSyntheaEntries(t testing.TB, archiveName string) []syntheaEntry {
	t.Helper()
	path := filepath.Join(testdataDir(t), "synthea", archiveName)
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("Synthea bundles not found at %s; set WARD_TESTDATA to the shared test data folder", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	gz, err := gzip.NewReader(file)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	archive := tar.NewReader(gz)

	var entries []syntheaEntry
	for {
		header, err := archive.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if !strings.HasSuffix(header.Name, ".json") {
			continue
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.NewDecoder(archive).Decode(&bundle); err != nil {
			t.Fatalf("decode %s in %s: %v", header.Name, path, err)
		}
		for i, entry := range bundle.Entry {
			entries = append(entries, syntheaEntry{bundle: filepath.Base(header.Name), index: i, body: entry.Resource})
		}
	}
	return entries
}

func TestSyntheaEntries(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("parses about 12,500 resources, which takes minutes under the race detector")
	}
	for _, archive := range []string{"synthea-v2.4-smart-selfcontained.tar.gz", "synthea-3x-uscore-conditional.tar.gz"} {
		t.Run(strings.TrimSuffix(archive, ".tar.gz"), func(t *testing.T) {
			entries := readSyntheaEntries(t, archive)
			rejected := 0
			for _, entry := range entries {
				_, err := ParseResource(entry.body, DefaultLimits())
				if err == nil {
					continue
				}
				rejected++
				var invalidErr *InvalidError
				if errors.As(err, &invalidErr) && rejected <= 20 {
					t.Logf("%s entry %d: %s", entry.bundle, entry.index, summarizeIssues(invalidErr.Issues, 3))
				}
			}
			t.Logf("accepted %d of %d entry resources", len(entries)-rejected, len(entries))
			if rejected > 0 {
				t.Errorf("%d Synthea resources rejected", rejected)
			}
		})
	}
}
