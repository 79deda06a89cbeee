package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

func countRows(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.reader.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestExpiredSnapshotsRemoved(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	s, err := Open(ctx, t.TempDir(), WithClock(func() time.Time { return now }), WithSnapshotTTL(time.Minute))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	for i := range 6 {
		_, err := s.Write(ctx, storage.Write{Type: "Patient", ID: fmt.Sprintf("p%d", i), VersionID: 1, LastUpdated: now,
			Op: storage.OpCreate, JSON: []byte(`{}`)})
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	q := storage.Query{Types: []string{"Patient"}, Count: 2}

	for range maxExpiredPerCleanup + 2 {
		if _, err := s.Search(ctx, q); err != nil {
			t.Fatalf("Search: %v", err)
		}
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM search_snapshots`); got != maxExpiredPerCleanup+2 {
		t.Fatalf("%d snapshots after %d paged searches, want one each", got, maxExpiredPerCleanup+2)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM search_results`); got != 6*(maxExpiredPerCleanup+2) {
		t.Fatalf("%d snapshot rows, want 6 per snapshot", got)
	}

	// Each new snapshot removes at most maxExpiredPerCleanup expired ones.
	now = now.Add(2 * time.Minute)
	if _, err := s.Search(ctx, q); err != nil {
		t.Fatalf("Search after expiry: %v", err)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM search_snapshots`); got != 3 {
		t.Errorf("%d snapshots after the first cleanup, want 2 expired left and the new one", got)
	}
	if _, err := s.Search(ctx, q); err != nil {
		t.Fatalf("Search after expiry: %v", err)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM search_snapshots`); got != 2 {
		t.Errorf("%d snapshots after the second cleanup, want the 2 live ones", got)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM search_results`); got != 12 {
		t.Errorf("%d snapshot rows after cleanup, want 12 of the 2 live snapshots", got)
	}
}

func TestSmallResultNeedsNoSnapshot(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	_, err = s.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: time.Now(), Op: storage.OpCreate, JSON: []byte(`{}`)})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := s.Search(ctx, storage.Query{Types: []string{"Patient"}, Count: 1}); err != nil {
		t.Fatalf("Search: %v", err)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM search_snapshots`); got != 0 {
		t.Errorf("%d snapshots after a one-page search, want 0", got)
	}
}

func TestDeleteRemovesIndexRows(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	_, err = s.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: now, Op: storage.OpCreate, JSON: []byte(`{}`),
		Index: []storage.IndexEntry{
			{Param: "name", Type: storage.TypeString, Text: "pat"},
			{Param: "gender", Type: storage.TypeToken, Code: "male"},
			{Param: "general-practitioner", Type: storage.TypeReference, RefType: "Practitioner", RefID: "d1"},
			{Param: "birthdate", Type: storage.TypeDate, Low: now, High: now},
		}})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	var rid int64
	if err := s.reader.QueryRow(`SELECT rid FROM resources WHERE type = 'Patient' AND id = 'p1'`).Scan(&rid); err != nil {
		t.Fatalf("read rid: %v", err)
	}
	entries := func() int {
		total := 0
		for _, table := range indexTables {
			total += countRows(t, s, `SELECT COUNT(*) FROM `+table+` WHERE rid = ?`, rid)
		}
		return total
	}
	// The four entries and _lastUpdated.
	if got := entries(); got != 5 {
		t.Fatalf("%d index rows after the create, want 5", got)
	}

	_, err = s.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: now, Op: storage.OpDelete})
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := entries(); got != 0 {
		t.Errorf("%d index rows after the delete, want 0", got)
	}
}
