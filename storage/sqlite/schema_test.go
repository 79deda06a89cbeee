package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ward-fhir/ward/storage"
)

// TestMigrateFromVersion1 opens a file written by the first schema, with
// its body in resources, and checks that reads, writes and searches work
// after the migrations.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if _, err := db.Exec(migrations[0] + `PRAGMA user_version = 1;`); err != nil {
		t.Fatalf("create schema version 1: %v", err)
	}
	_, err = db.Exec(`
INSERT INTO history (seq, type, id, version, last_updated, op, body) VALUES (1, 'Patient', 'p1', 1, 1000, 'create', '{"v":1}');
INSERT INTO resources (type, id, version, last_updated, deleted, op, seq, body) VALUES ('Patient', 'p1', 1, 1000, 0, 'create', 1, '{"v":1}');`)
	if err != nil {
		t.Fatalf("insert version 1 rows: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	r, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read after migration: %v", err)
	}
	if string(r.JSON) != `{"v":1}` || r.VersionID != 1 {
		t.Errorf("Read after migration = version %d %s, want version 1 {\"v\":1}", r.VersionID, r.JSON)
	}

	_, err = s.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: r.LastUpdated,
		Op: storage.OpUpdate, JSON: []byte(`{"v":2}`), Index: []storage.IndexEntry{{Param: "name", Type: storage.TypeString, Text: "pat"}}})
	if err != nil {
		t.Fatalf("Write after migration: %v", err)
	}
	page, err := s.Search(ctx, storage.Query{Types: []string{"Patient"}, Count: 10,
		Filter: []storage.Clause{{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Text: "pa"}}}}})
	if err != nil {
		t.Fatalf("Search after migration: %v", err)
	}
	if len(page.Matches) != 1 || string(page.Matches[0].JSON) != `{"v":2}` {
		t.Errorf("Search after migration returned %+v, want Patient/p1 version 2", page.Matches)
	}
}
