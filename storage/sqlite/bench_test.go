package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// benchBody returns a Patient of about 3.4 KB, the mean size of a Synthea
// resource, so that page and fsync costs resemble real writes.
func benchBody(id string) []byte {
	note := strings.Repeat("x", 3300)
	return fmt.Appendf(nil, `{"resourceType":"Patient","id":%q,"text":{"status":"generated","div":%q}}`, id, note)
}

// BenchmarkWrite creates one new resource per iteration; every Write is a
// transaction synced to disk.
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	defer s.Close()
	start := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	b.SetBytes(int64(len(benchBody("p0000000"))))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("p%07d", i)
		_, err := s.Write(ctx, storage.Write{Type: "Patient", ID: id, VersionID: 1,
			LastUpdated: start.Add(time.Duration(i) * time.Millisecond), Op: storage.OpCreate, JSON: benchBody(id)})
		if err != nil {
			b.Fatalf("Write %s: %v", id, err)
		}
	}
}

// BenchmarkUpdate writes the next version of one of 100 resources per
// iteration, which also ends the previous version in history.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	defer s.Close()
	start := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	const resources = 100
	versions := make([]int64, resources)

	b.SetBytes(int64(len(benchBody("p000"))))
	for i := 0; b.Loop(); i++ {
		n := i % resources
		id := fmt.Sprintf("p%03d", n)
		op := storage.OpUpdate
		if versions[n] == 0 {
			op = storage.OpCreate
		}
		_, err := s.Write(ctx, storage.Write{Type: "Patient", ID: id, VersionID: versions[n] + 1, ExpectVersion: versions[n],
			LastUpdated: start.Add(time.Duration(i) * time.Millisecond), Op: op, JSON: benchBody(id)})
		if err != nil {
			b.Fatalf("Write %s: %v", id, err)
		}
		versions[n]++
	}
}

const benchReadResources = 1000

// populate writes benchReadResources Patients in one pass and returns their
// ids.
func populate(b *testing.B, s storage.Backend) []string {
	b.Helper()
	ctx := context.Background()
	start := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	ids := make([]string, benchReadResources)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%04d", i)
		_, err := s.Write(ctx, storage.Write{Type: "Patient", ID: ids[i], VersionID: 1,
			LastUpdated: start.Add(time.Duration(i) * time.Millisecond), Op: storage.OpCreate, JSON: benchBody(ids[i])})
		if err != nil {
			b.Fatalf("Write %s: %v", ids[i], err)
		}
	}
	return ids
}

// BenchmarkRead reads the current version of one of 1,000 resources per
// iteration from one goroutine.
func BenchmarkRead(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	defer s.Close()
	ids := populate(b, s)

	b.SetBytes(int64(len(benchBody(ids[0]))))
	for i := 0; b.Loop(); i++ {
		if _, err := s.Read(ctx, "Patient", ids[i%len(ids)]); err != nil {
			b.Fatalf("Read: %v", err)
		}
	}
}

// BenchmarkReadParallel is BenchmarkRead from GOMAXPROCS goroutines, which
// share the read pool.
func BenchmarkReadParallel(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	defer s.Close()
	ids := populate(b, s)

	b.SetBytes(int64(len(benchBody(ids[0]))))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.Read(ctx, "Patient", ids[i%len(ids)]); err != nil {
				b.Errorf("Read: %v", err)
				return
			}
		}
	})
}

// BenchmarkHistoryPage reads the first page of 50 of the system history
// over 1,000 versions, which includes counting the total.
func BenchmarkHistoryPage(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	defer s.Close()
	populate(b, s)

	for b.Loop() {
		page, err := s.History(ctx, storage.HistoryQuery{Count: 50})
		if err != nil {
			b.Fatalf("History: %v", err)
		}
		if len(page.Versions) != 50 {
			b.Fatalf("History returned %d versions, want 50", len(page.Versions))
		}
	}
}
