package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

func nameClause(text string) storage.Clause {
	return storage.Clause{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: text}}}
}

func TestSearchCostLimits(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.WithSearchLimits(sqlite.SearchLimits{
		MaxClauses: 3, MaxValues: 4, MaxDepth: 1, MaxSortKeys: 1,
	}))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	chain := func(filter ...storage.Clause) storage.Clause {
		return storage.Clause{Param: "subject", Type: storage.TypeReference,
			Chain: &storage.Chain{TargetTypes: []string{"Patient"}, Filter: filter}}
	}
	manyValues := nameClause("a")
	manyValues.Values = append(manyValues.Values, manyValues.Values[0], manyValues.Values[0], manyValues.Values[0], manyValues.Values[0])
	sortKey := storage.Sort{Param: "name", Type: storage.TypeString}

	tests := []struct {
		name   string
		q      storage.Query
		reason string
	}{
		{"clauses", storage.Query{Filter: []storage.Clause{nameClause("a"), nameClause("b"), nameClause("c"), nameClause("d")}}, "4 clauses"},
		{"clauses inside a chain", storage.Query{Filter: []storage.Clause{chain(nameClause("a"), nameClause("b"), nameClause("c"))}}, "4 clauses"},
		{"values", storage.Query{Filter: []storage.Clause{manyValues}}, "5 values"},
		{"depth", storage.Query{Filter: []storage.Clause{chain(chain(nameClause("a")))}}, "2 deep"},
		{"sort keys", storage.Query{Sort: []storage.Sort{sortKey, sortKey}}, "2 sort keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Types, tc.q.Count = []string{"Observation"}, 10
			_, err := s.Search(ctx, tc.q)
			if !errors.Is(err, storage.ErrTooCostly) {
				t.Fatalf("Search error = %v, want one wrapping ErrTooCostly", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Search error %q does not name the reason %q", err, tc.reason)
			}
		})
	}

	t.Run("at the limits", func(t *testing.T) {
		q := storage.Query{Types: []string{"Observation"}, Count: 10, Sort: []storage.Sort{sortKey},
			Filter: []storage.Clause{nameClause("a"), chain(nameClause("b"))}}
		if _, err := s.Search(ctx, q); err != nil {
			t.Errorf("Search at the limits: %v", err)
		}
	})
}

func TestSearchTimeoutIsTooCostly(t *testing.T) {
	ctx := context.Background()
	// A timeout of one nanosecond has passed before the first statement
	// runs, so the search fails every time.
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.WithSearchLimits(sqlite.SearchLimits{Timeout: time.Nanosecond}))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	_, err = s.Search(ctx, storage.Query{Types: []string{"Patient"}, Count: 10})
	if !errors.Is(err, storage.ErrTooCostly) {
		t.Errorf("Search error = %v, want one wrapping ErrTooCostly", err)
	}
}

func TestSearchCursorExpires(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.WithClock(clock), sqlite.WithSnapshotTTL(time.Minute))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	for i := range 5 {
		id := fmt.Sprintf("p%d", i)
		_, err := s.Write(ctx, storage.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: now, Op: storage.OpCreate,
			JSON: []byte(`{}`), Index: []storage.IndexEntry{{Param: "name", Type: storage.TypeString, Text: "pat", Exact: "Pat"}}})
		if err != nil {
			t.Fatalf("Write %s: %v", id, err)
		}
	}
	q := storage.Query{Types: []string{"Patient"}, Filter: []storage.Clause{nameClause("pat")}, Count: 2}
	first, err := s.Search(ctx, q)
	if err != nil {
		t.Fatalf("first page: %v", err)
	}

	now = now.Add(59 * time.Second)
	if _, err := s.Search(ctx, withCursor(q, first.NextCursor)); err != nil {
		t.Errorf("second page within the TTL: %v", err)
	}

	now = now.Add(2 * time.Second)
	_, err = s.Search(ctx, withCursor(q, first.NextCursor))
	if !errors.Is(err, storage.ErrInvalidCursor) {
		t.Errorf("second page after the TTL: error = %v, want ErrInvalidCursor", err)
	}
}

func withCursor(q storage.Query, cursor string) storage.Query {
	q.Cursor = cursor
	return q
}

func TestWriteRejectsInvalidIndex(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	lastUpdated := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	tests := []struct {
		name  string
		w     storage.Write
		label string
	}{
		{"entry without a parameter", storage.Write{Op: storage.OpCreate, JSON: []byte(`{}`),
			Index: []storage.IndexEntry{{Type: storage.TypeString, Text: "x"}}}, "no parameter code"},
		{"composite entry", storage.Write{Op: storage.OpCreate, JSON: []byte(`{}`),
			Index: []storage.IndexEntry{{Param: "code-value", Type: storage.TypeComposite}}}, `"composite"`},
		{"entries on a deletion", storage.Write{Op: storage.OpDelete,
			Index: []storage.IndexEntry{{Param: "name", Type: storage.TypeString}}}, "index entries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.w.Type, tc.w.ID, tc.w.VersionID, tc.w.LastUpdated = "Patient", "p1", 1, lastUpdated
			_, err := s.Write(ctx, tc.w)
			if err == nil {
				t.Fatal("Write succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.label) {
				t.Errorf("Write error %q does not mention %s", err, tc.label)
			}
			if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Read after the rejected write: error = %v, want ErrNotFound", err)
			}
		})
	}
}
