package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
	"github.com/ward-fhir/ward/storage/storagetest"
)

func openStore(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	return s
}

func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return openStore(t, t.TempDir())
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lastUpdated := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	s := openStore(t, dir)
	writes := []storage.Write{
		{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: lastUpdated, Op: storage.OpCreate, JSON: []byte(`{"v":1}`)},
		{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: lastUpdated.Add(time.Second), Op: storage.OpUpdate, JSON: []byte(`{"v":2}`)},
		{Type: "Patient", ID: "p2", VersionID: 1, LastUpdated: lastUpdated.Add(2 * time.Second), Op: storage.OpCreate, JSON: []byte(`{"v":1}`)},
		{Type: "Patient", ID: "p2", VersionID: 2, ExpectVersion: 1, LastUpdated: lastUpdated.Add(3 * time.Second), Op: storage.OpDelete},
	}
	for _, w := range writes {
		if _, err := s.Write(ctx, w); err != nil {
			t.Fatalf("Write %s/%s version %d: %v", w.Type, w.ID, w.VersionID, err)
		}
	}
	before, err := s.History(ctx, storage.HistoryQuery{Count: 10})
	if err != nil {
		t.Fatalf("History before reopen: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, dir)
	defer s.Close()

	p1, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read Patient/p1 after reopen: %v", err)
	}
	if p1.VersionID != 2 {
		t.Errorf("Patient/p1 VersionID = %d, want 2", p1.VersionID)
	}
	if string(p1.JSON) != `{"v":2}` {
		t.Errorf("Patient/p1 JSON = %s, want {\"v\":2}", p1.JSON)
	}

	p2, err := s.Read(ctx, "Patient", "p2")
	if !errors.Is(err, storage.ErrGone) {
		t.Errorf("Read Patient/p2 after reopen: error = %v, want ErrGone", err)
	}
	if p2.VersionID != 2 {
		t.Errorf("Patient/p2 VersionID = %d, want 2", p2.VersionID)
	}

	after, err := s.History(ctx, storage.HistoryQuery{Count: 10})
	if err != nil {
		t.Fatalf("History after reopen: %v", err)
	}
	if after.Total != before.Total {
		t.Errorf("history Total after reopen = %d, want %d", after.Total, before.Total)
	}
	if len(after.Versions) != len(before.Versions) {
		t.Fatalf("history after reopen has %d versions, want %d", len(after.Versions), len(before.Versions))
	}
	for i := range before.Versions {
		b, a := before.Versions[i], after.Versions[i]
		if a.Type != b.Type || a.ID != b.ID || a.VersionID != b.VersionID || !a.LastUpdated.Equal(b.LastUpdated) || string(a.JSON) != string(b.JSON) {
			t.Errorf("history entry %d after reopen = %+v, want %+v", i, a, b)
		}
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := openStore(t, dir)
	defer s.Close()

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("Stat data directory: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode = %o, want 700", perm)
	}
	if want := filepath.Join(dir, sqlite.FileName); s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Errorf("Stat database file: %v", err)
	}
}

func TestOpenDirectoryWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	s := openStore(t, dir)
	defer s.Close()

	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Errorf("database file not created inside %q: %v", dir, err)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatalf("open database directly: %v", err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close database: %v", err)
	}

	s, err = sqlite.Open(context.Background(), dir)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with schema version 99 succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "99") {
		t.Errorf("Open error = %q, want it to name schema version 99", err)
	}
}

func TestOpenEmptyDirectoryRejected(t *testing.T) {
	if s, err := sqlite.Open(context.Background(), ""); err == nil {
		s.Close()
		t.Error(`Open("") succeeded, want an error`)
	}
}

func TestSearchContract(t *testing.T) {
	storagetest.RunSearch(t, func(t *testing.T) storage.Backend {
		return openStore(t, t.TempDir())
	})
}

func TestTransactionContract(t *testing.T) {
	storagetest.RunTransactions(t, func(t *testing.T) storage.Backend {
		return openStore(t, t.TempDir())
	})
}
