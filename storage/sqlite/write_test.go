package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// failOnCode makes every insert of a token entry with code "boom" fail
// halfway through a write: after the history and resources rows, and
// after the entries of the tables written before idx_token.
func failOnCode(t *testing.T, s *Store) {
	t.Helper()
	_, err := s.writer.Exec(`CREATE TRIGGER fail_boom BEFORE INSERT ON idx_token
		WHEN NEW.code = 'boom' BEGIN SELECT RAISE(FAIL, 'boom entry rejected'); END`)
	if err != nil {
		t.Fatalf("create trigger: %v", err)
	}
}

func patientWrite(id string, version int64, lastUpdated time.Time, code string) storage.Write {
	return storage.Write{Type: "Patient", ID: id, VersionID: version, ExpectVersion: version - 1,
		LastUpdated: lastUpdated, Op: storage.OpCreate, JSON: []byte(`{"resourceType":"Patient"}`),
		Index: []storage.IndexEntry{
			{Param: "name", Type: storage.TypeString, Text: "pet", Exact: "Pet"},
			{Param: "identifier", Type: storage.TypeToken, System: "urn:mrn", Code: code},
		}}
}

func TestWriteFailingHalfwayLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	failOnCode(t, s)
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	if _, err := s.Write(ctx, patientWrite("p1", 1, now, "boom")); err == nil {
		t.Fatal("Write with the rejected entry succeeded, want an error")
	}
	if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read after the failed Write: err = %v, want ErrNotFound", err)
	}
	for _, table := range []string{"history", "resources", "idx_string", "idx_token", "idx_date", "search_params"} {
		if n := countRows(t, s, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("%s has %d rows after the failed Write, want 0", table, n)
		}
	}

	if _, err := s.Write(ctx, patientWrite("p1", 1, now, "ok")); err != nil {
		t.Fatalf("Write after the failed one: %v", err)
	}
}

func TestTransactionAbortedByHalfwayFailure(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	failOnCode(t, s)
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	var failed, after, read error
	err = s.Transaction(ctx, func(tx storage.Tx) error {
		if _, err := tx.Write(ctx, patientWrite("p1", 1, now, "ok")); err != nil {
			t.Fatalf("first write: %v", err)
		}
		_, failed = tx.Write(ctx, patientWrite("p2", 1, now, "boom"))
		_, after = tx.Write(ctx, patientWrite("p3", 1, now, "ok"))
		_, read = tx.Read(ctx, "Patient", "p1")
		// fn ignores the failures; the transaction must still not commit.
		return nil
	})

	if failed == nil {
		t.Error("write with the rejected entry succeeded, want an error")
	}
	if !errors.Is(after, errTxAborted) {
		t.Errorf("write after the failed one: err = %v, want errTxAborted", after)
	}
	if !errors.Is(read, errTxAborted) {
		t.Errorf("read after the failed write: err = %v, want errTxAborted", read)
	}
	if !errors.Is(err, errTxAborted) {
		t.Errorf("Transaction after a write failed halfway: err = %v, want errTxAborted", err)
	}
	for _, id := range []string{"p1", "p2", "p3"} {
		if _, err := s.Read(ctx, "Patient", id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Read Patient/%s after the aborted transaction: err = %v, want ErrNotFound", id, err)
		}
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM search_params`); n != 0 {
		t.Errorf("search_params has %d rows after the aborted transaction, want 0", n)
	}
	if _, ok := s.params.lookup(paramKey{"Patient", "name"}); ok {
		t.Error("the pid cache holds a pid of the aborted transaction")
	}

	// The numbers the aborted transaction took are given out again and
	// must be the ones stored.
	if _, err := s.Write(ctx, patientWrite("p1", 1, now, "ok")); err != nil {
		t.Fatalf("Write after the aborted transaction: %v", err)
	}
	page, err := s.Search(ctx, storage.Query{Types: []string{"Patient"}, Count: 10,
		Filter: []storage.Clause{{Param: "identifier", Type: storage.TypeToken, Values: []storage.Value{{Code: "ok", AnySystem: true}}}}})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(page.Matches) != 1 {
		t.Errorf("Search identifier=ok found %d matches, want 1", len(page.Matches))
	}
}

func TestTransactionGoesOnAfterConflict(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	err = s.Transaction(ctx, func(tx storage.Tx) error {
		if _, err := tx.Write(ctx, patientWrite("p1", 2, now, "a")); !errors.Is(err, storage.ErrVersionConflict) {
			t.Errorf("write of version 2 over nothing: err = %v, want ErrVersionConflict", err)
		}
		_, err := tx.Write(ctx, patientWrite("p1", 1, now, "a"))
		return err
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	if _, err := s.Read(ctx, "Patient", "p1"); err != nil {
		t.Errorf("Read after the commit: %v", err)
	}
}

// entriesOf returns the codes of the token entries and the count of all
// index rows of Patient/id.
func entriesOf(t *testing.T, s *Store, id string) (codes []string, rows int) {
	t.Helper()
	var rid int64
	if err := s.reader.QueryRow(`SELECT rid FROM resources WHERE type = 'Patient' AND id = ?`, id).Scan(&rid); err != nil {
		t.Fatalf("read rid of Patient/%s: %v", id, err)
	}
	for _, table := range indexTables {
		rows += countRows(t, s, `SELECT COUNT(*) FROM `+table+` WHERE rid = ?`, rid)
	}
	rs, err := s.reader.Query(`SELECT code FROM idx_token WHERE rid = ? ORDER BY n`, rid)
	if err != nil {
		t.Fatalf("read token entries: %v", err)
	}
	defer rs.Close()
	for rs.Next() {
		var code string
		if err := rs.Scan(&code); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return codes, rows
}

func TestEntriesFollowEveryVersion(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	steps := []struct {
		name  string
		write storage.Write
		codes []string
		rows  int // _lastUpdated, name and identifier, or none
	}{
		{"create", patientWrite("p1", 1, now, "a"), []string{"a"}, 3},
		{"update", patientWrite("p1", 2, now.Add(time.Second), "b"), []string{"b"}, 3},
		{"delete", storage.Write{Type: "Patient", ID: "p1", VersionID: 3, ExpectVersion: 2,
			LastUpdated: now.Add(2 * time.Second), Op: storage.OpDelete}, nil, 0},
		{"create after delete", patientWrite("p1", 4, now.Add(3*time.Second), "c"), []string{"c"}, 3},
		{"update after re-create", patientWrite("p1", 5, now.Add(4*time.Second), "d"), []string{"d"}, 3},
	}
	for _, step := range steps {
		if _, err := s.Write(ctx, step.write); err != nil {
			t.Fatalf("%s: Write: %v", step.name, err)
		}
		codes, rows := entriesOf(t, s, "p1")
		if rows != step.rows {
			t.Errorf("%s: %d index rows, want %d", step.name, rows, step.rows)
		}
		if len(codes) != len(step.codes) || (len(codes) == 1 && codes[0] != step.codes[0]) {
			t.Errorf("%s: token codes %q, want %q", step.name, codes, step.codes)
		}
	}
}

// TestManyEntriesOfOneTable writes counts of entries that need one, several
// and more than the largest of the prepared multi-row INSERTs, and checks
// that every entry is stored once with its position.
func TestManyEntriesOfOneTable(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	for _, count := range []int{1, 2, 3, 63, 64, 65, 127, 200} {
		id := fmt.Sprintf("p%d", count)
		w := storage.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: now, Op: storage.OpCreate, JSON: []byte(`{}`)}
		for i := range count {
			w.Index = append(w.Index, storage.IndexEntry{Param: "identifier", Type: storage.TypeToken, System: "urn:x", Code: strconv.Itoa(i)})
		}
		if _, err := s.Write(ctx, w); err != nil {
			t.Fatalf("%d entries: Write: %v", count, err)
		}

		var rid int64
		if err := s.reader.QueryRow(`SELECT rid FROM resources WHERE type = 'Patient' AND id = ?`, id).Scan(&rid); err != nil {
			t.Fatalf("%d entries: read rid: %v", count, err)
		}
		rows, err := s.reader.Query(`SELECT n, code FROM idx_token WHERE rid = ? ORDER BY n`, rid)
		if err != nil {
			t.Fatalf("%d entries: %v", count, err)
		}
		got := 0
		for rows.Next() {
			var n int
			var code string
			if err := rows.Scan(&n, &code); err != nil {
				t.Fatal(err)
			}
			// n counts _lastUpdated in front of w.Index.
			if want := strconv.Itoa(n - 1); code != want {
				t.Errorf("%d entries: entry %d has code %q, want %q", count, n, code, want)
			}
			got++
		}
		rows.Close()
		if got != count {
			t.Errorf("%d entries: stored %d", count, got)
		}
	}
}

func TestTransactionAbortedBySearchTimeout(t *testing.T) {
	ctx := context.Background()
	// A timeout of one nanosecond has passed before the first statement
	// runs, so every search fails as interrupted.
	s, err := Open(ctx, t.TempDir(), WithSearchLimits(SearchLimits{Timeout: time.Nanosecond}))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	var searched, after error
	err = s.Transaction(ctx, func(tx storage.Tx) error {
		if _, err := tx.Write(ctx, patientWrite("p1", 1, now, "a")); err != nil {
			t.Fatalf("write: %v", err)
		}
		_, searched = tx.Search(ctx, storage.Query{Types: []string{"Patient"}, Count: 10})
		_, after = tx.Write(ctx, patientWrite("p2", 1, now, "b"))
		return nil
	})

	if !errors.Is(searched, storage.ErrTooCostly) {
		t.Errorf("search: err = %v, want ErrTooCostly", searched)
	}
	if !errors.Is(after, errTxAborted) {
		t.Errorf("write after the interrupted search: err = %v, want errTxAborted", after)
	}
	if !errors.Is(err, errTxAborted) {
		t.Errorf("Transaction: err = %v, want errTxAborted", err)
	}
	if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read Patient/p1 after the aborted transaction: err = %v, want ErrNotFound", err)
	}
}

func TestTransactionSearchOverLimitGoesOn(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), WithSearchLimits(SearchLimits{MaxSortKeys: 1}))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	err = s.Transaction(ctx, func(tx storage.Tx) error {
		q := storage.Query{Types: []string{"Patient"}, Count: 10, Sort: []storage.Sort{{Param: "_id"}, {Param: "_lastUpdated"}}}
		if _, err := tx.Search(ctx, q); !errors.Is(err, storage.ErrTooCostly) {
			t.Errorf("search with 2 sort keys: err = %v, want ErrTooCostly", err)
		}
		_, err := tx.Write(ctx, patientWrite("p1", 1, now, "a"))
		return err
	})
	if err != nil {
		t.Fatalf("Transaction after a rejected search: %v", err)
	}
}
