package sqlite_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
)

// syntheaDir returns the synthea folder of WARD_TESTDATA, or of
// ../shared/testdata beside the repository root, skipping when it is
// missing.
func syntheaDir(b *testing.B) string {
	b.Helper()
	dir := os.Getenv("WARD_TESTDATA")
	if dir == "" {
		root, err := os.Getwd()
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(root) == root {
				b.Skip("skipping: no go.mod above the working directory to find the shared test data from (set WARD_TESTDATA)")
			}
			root = filepath.Dir(root)
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	dir = filepath.Join(dir, "synthea")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("skipping: the Synthea archives are not in %s (set WARD_TESTDATA): %v", dir, err)
	}
	return dir
}

// syntheaCommit is the writes of one commit: a whole transaction Bundle,
// or one entry of a batch Bundle.
type syntheaCommit []storage.Write

// syntheaCommits reads every Bundle of the Synthea archives and turns each
// entry into the create that Ward's API would hand the store, with the
// index entries the search package extracts. A urn:uuid fullUrl becomes
// Type/uuid and references to it are rewritten; conditional references
// stay as written. A resource that an earlier Bundle already created is
// left out.
func syntheaCommits(b *testing.B) (commits []syntheaCommit, resources int) {
	b.Helper()
	archives, err := filepath.Glob(filepath.Join(syntheaDir(b), "*.tar.gz"))
	if err != nil || len(archives) == 0 {
		b.Skipf("skipping: no Synthea archives found: %v", err)
	}
	indexer, err := search.NewIndexer("")
	if err != nil {
		b.Fatal(err)
	}

	lastUpdated := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	written := map[string]bool{}
	for _, archive := range archives {
		for name, data := range readArchive(b, archive) {
			bundle, err := fhir.Decode(data)
			if err != nil {
				b.Fatalf("decode %s in %s: %v", name, archive, err)
			}
			entries, _ := bundle["entry"].([]any)
			refs := map[string]string{}
			for i, e := range entries {
				entry := e.(map[string]any)
				resource := entry["resource"].(map[string]any)
				fullURL, _ := entry["fullUrl"].(string)
				id, ok := strings.CutPrefix(fullURL, "urn:uuid:")
				if !ok {
					id = fmt.Sprintf("%s-%d", filepath.Base(name), i)
				}
				refs[fullURL] = resource["resourceType"].(string) + "/" + id
			}

			var commit syntheaCommit
			for _, e := range entries {
				entry := e.(map[string]any)
				resource := entry["resource"].(map[string]any)
				fullURL, _ := entry["fullUrl"].(string)
				ref := refs[fullURL]
				if written[ref] {
					continue
				}
				written[ref] = true
				resourceType, id, _ := strings.Cut(ref, "/")
				rewriteReferences(resource, refs)
				resource["id"] = id
				resource["meta"] = map[string]any{"versionId": "1", "lastUpdated": lastUpdated.Format("2006-01-02T15:04:05.000Z07:00")}
				index, err := indexer.Extract(resourceType, resource)
				if err != nil {
					b.Fatalf("index %s in %s: %v", ref, name, err)
				}
				body, err := fhir.Marshal(resource)
				if err != nil {
					b.Fatalf("marshal %s in %s: %v", ref, name, err)
				}
				commit = append(commit, storage.Write{Type: resourceType, ID: id, VersionID: 1, LastUpdated: lastUpdated,
					Op: storage.OpCreate, JSON: body, Index: index})
				resources++
			}

			// Ward commits a batch Bundle entry by entry.
			if bundle["type"] == "batch" {
				for _, w := range commit {
					commits = append(commits, syntheaCommit{w})
				}
				continue
			}
			if len(commit) > 0 {
				commits = append(commits, commit)
			}
		}
	}
	return commits, resources
}

// readArchive returns the .json files of a .tar.gz archive by name, in
// archive order.
func readArchive(b *testing.B, path string) func(yield func(string, []byte) bool) {
	return func(yield func(string, []byte) bool) {
		file, err := os.Open(path)
		if err != nil {
			b.Fatalf("open %s: %v", path, err)
		}
		defer file.Close()
		gz, err := gzip.NewReader(file)
		if err != nil {
			b.Fatalf("read %s: %v", path, err)
		}
		archive := tar.NewReader(gz)
		for {
			header, err := archive.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				b.Fatalf("read %s: %v", path, err)
			}
			if !strings.HasSuffix(header.Name, ".json") {
				continue
			}
			data, err := io.ReadAll(archive)
			if err != nil {
				b.Fatalf("read %s in %s: %v", header.Name, path, err)
			}
			if !yield(header.Name, data) {
				return
			}
		}
	}
}

// rewriteReferences replaces every reference found in refs.
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

// BenchmarkWriteSynthea stores the Synthea archives of the shared test
// data into a new database per iteration, one Transaction per commit that
// Ward's API makes when it loads them. Parsing and index extraction happen
// before the timer starts, so the figures are the store's alone. Besides
// resources per second of wall time it reports resources per second of
// the process's CPU time, which other jobs on the machine disturb less.
func BenchmarkWriteSynthea(b *testing.B) {
	ctx := context.Background()
	commits, resources := syntheaCommits(b)
	entries := 0
	for _, c := range commits {
		for _, w := range c {
			entries += len(w.Index)
		}
	}
	b.Logf("%d resources with %d index entries in %d commits", resources, entries, len(commits))

	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		s := openStore(b, b.TempDir())
		cpuStart, _ := processCPUTime()
		b.StartTimer()

		for _, c := range commits {
			err := s.Transaction(ctx, func(tx storage.Tx) error {
				for _, w := range c {
					if _, err := tx.Write(ctx, w); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatalf("write: %v", err)
			}
		}

		b.StopTimer()
		cpuEnd, ok := processCPUTime()
		cpu += cpuEnd - cpuStart
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if !ok {
			cpu = 0
		}
	}
	b.ReportMetric(float64(resources)*float64(b.N)/b.Elapsed().Seconds(), "resources/s")
	if cpu > 0 {
		b.ReportMetric(float64(resources)*float64(b.N)/cpu.Seconds(), "resources/CPU-s")
	}
}
