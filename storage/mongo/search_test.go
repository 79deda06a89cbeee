package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/mongo"
)

var testTime = time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

func nameEntry(name string) []storage.IndexEntry {
	return []storage.IndexEntry{{Param: "name", Type: storage.TypeString, Text: name, Exact: name}}
}

// createNamed writes version 1 of Patient/id with one name entry.
func createNamed(t *testing.T, s *mongo.Store, id, name string) {
	t.Helper()
	_, err := s.Write(context.Background(), storage.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: testTime,
		Op: storage.OpCreate, JSON: []byte(`{"resourceType":"Patient","id":"` + id + `"}`), Index: nameEntry(name)})
	if err != nil {
		t.Fatalf("Write Patient/%s: %v", id, err)
	}
}

func byName(name string, count int) storage.Query {
	return storage.Query{Types: []string{"Patient"}, Count: count,
		Filter: []storage.Clause{{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: name}}}}}
}

func matchIDs(page storage.SearchPage) []string {
	var ids []string
	for _, r := range page.Matches {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestSearchIndexesCreated(t *testing.T) {
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()

	db := rawDatabase(t, uri, name)
	wants := map[string][]string{
		"resources": {"search_keys", "search_dates_low", "search_dates_high", "search_numbers", "search_composites",
			"search_present", "type_id", "type_last_updated"},
		// FerretDB has no TTL indexes, so the store falls back to a plain
		// index and removes expired snapshots itself.
		"search_snapshots": {"expires"},
		"search_results":   {"expires"},
	}
	for collection, want := range wants {
		specs, err := db.Collection(collection).Indexes().ListSpecifications(context.Background())
		if err != nil {
			t.Fatalf("list %s indexes: %v", collection, err)
		}
		var got []string
		for _, spec := range specs {
			got = append(got, spec.Name)
		}
		for _, index := range want {
			if !slices.Contains(got, index) {
				t.Errorf("%s index %s is missing; indexes are %q", collection, index, got)
			}
		}
	}
}

func TestEndedVersionLosesIndex(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()

	createNamed(t, s, "p1", "peter")
	_, err := s.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: testTime.Add(time.Second),
		Op: storage.OpUpdate, JSON: []byte(`{"v":2}`), Index: nameEntry("paul")})
	if err != nil {
		t.Fatalf("Write version 2: %v", err)
	}

	history := rawDatabase(t, uri, name).Collection("history")
	for version, wantKeys := range map[int64]bool{1: false, 2: true} {
		var row bson.M
		if err := history.FindOne(ctx, bson.D{{Key: "type", Value: "Patient"}, {Key: "id", Value: "p1"}, {Key: "version", Value: version}}).Decode(&row); err != nil {
			t.Fatalf("find history row %d: %v", version, err)
		}
		if _, ok := row["k"]; ok != wantKeys {
			t.Errorf("history row %d has search keys = %t, want %t: only the current version keeps its index in history", version, ok, wantKeys)
		}
	}
}

// TestUnfinishedWriteKeepsIndex simulates a writer that died after its
// history insert: the next writer completes the version from history,
// search index included.
func TestUnfinishedWriteKeepsIndex(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()
	createNamed(t, s, "p1", "peter")

	db := rawDatabase(t, uri, name)
	_, err := db.Collection("history").InsertOne(ctx, bson.D{
		{Key: "_id", Value: int64(1000)}, {Key: "type", Value: "Patient"}, {Key: "id", Value: "p1"},
		{Key: "version", Value: int64(2)}, {Key: "lastUpdated", Value: bson.NewDateTimeFromTime(testTime.Add(time.Second))},
		{Key: "deleted", Value: false}, {Key: "op", Value: "update"}, {Key: "body", Value: []byte(`{"v":2}`)},
		{Key: "k", Value: bson.A{"exa\x1fname\x1fpaula", "str\x1fname\x1fpaula"}}, {Key: "has", Value: bson.A{"name"}},
	})
	if err != nil {
		t.Fatalf("insert the unfinished version: %v", err)
	}

	_, err = s.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: testTime.Add(2 * time.Second),
		Op: storage.OpUpdate, JSON: []byte(`{"v":"2 again"}`), Index: nameEntry("pia")})
	if !errors.Is(err, storage.ErrVersionConflict) {
		t.Fatalf("Write over the unfinished version: error = %v, want a version conflict", err)
	}

	for query, want := range map[string][]string{"pau": {"p1"}, "pet": nil, "pia": nil} {
		page, err := s.Search(ctx, byName(query, 10))
		if err != nil {
			t.Fatalf("Search name=%s: %v", query, err)
		}
		if got := matchIDs(page); !slices.Equal(got, want) {
			t.Errorf("Search name=%s after the repair = %q, want %q", query, got, want)
		}
	}
}

func TestSearchCursorExpires(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	var now atomic.Int64
	now.Store(testTime.UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()).UTC() }
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions(),
		mongo.WithClock(clock), mongo.WithSnapshotTTL(time.Minute))
	defer s.Close()
	for i := range 5 {
		createNamed(t, s, fmt.Sprintf("p%d", i), "pat")
	}

	first, err := s.Search(ctx, byName("pat", 2))
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if first.NextCursor == "" {
		t.Fatal("first page of 5 matches by 2 has no NextCursor")
	}
	q := byName("pat", 2)
	q.Cursor = first.NextCursor
	if _, err := s.Search(ctx, q); err != nil {
		t.Fatalf("Search with a fresh cursor: %v", err)
	}

	now.Add(2 * time.Minute.Milliseconds())
	if _, err := s.Search(ctx, q); !errors.Is(err, storage.ErrInvalidCursor) {
		t.Errorf("Search with an expired cursor: error = %v, want ErrInvalidCursor", err)
	}

	// A new paged search removes the expired snapshot where the server
	// has no TTL index to do it.
	if _, err := s.Search(ctx, byName("pat", 2)); err != nil {
		t.Fatalf("second Search: %v", err)
	}
	db := rawDatabase(t, uri, name)
	n, err := db.Collection("search_snapshots").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatalf("count snapshots: %v", err)
	}
	if n != 1 {
		t.Errorf("%d snapshots stored, want only the new one", n)
	}
}

func TestSearchLimits(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	s := openStore(t, uri, mongo.WithDatabase(newDatabaseName(t)), mongo.WithoutTransactions(),
		mongo.WithSearchLimits(mongo.SearchLimits{MaxLinked: 2, MaxSnapshot: 3, MaxClauses: 3}))
	defer s.Close()
	for i := range 4 {
		createNamed(t, s, fmt.Sprintf("p%d", i), "pat")
	}

	chain := storage.Query{Types: []string{"Observation"}, Count: 10, Filter: []storage.Clause{{Param: "subject", Type: storage.TypeReference,
		Chain: &storage.Chain{TargetTypes: []string{"Patient"}, Filter: byName("pat", 1).Filter}}}}
	has := storage.Query{Types: []string{"Patient"}, Count: 10, Filter: []storage.Clause{{Param: "_has",
		Has: &storage.Has{Type: "Patient", Param: "link", Filter: byName("pat", 1).Filter}}}}
	tooManyClauses := byName("pat", 10)
	tooManyClauses.Filter = slices.Repeat(tooManyClauses.Filter, 4)

	tests := []struct {
		name string
		q    storage.Query
	}{
		{"chain targets over MaxLinked", chain},
		{"paged matches over MaxSnapshot", byName("pat", 1)},
		{"clauses over MaxClauses", tooManyClauses},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Search(ctx, tc.q)
			if !errors.Is(err, storage.ErrTooCostly) {
				t.Errorf("Search: error = %v, want ErrTooCostly", err)
			}
		})
	}

	t.Run("has without referrers is cheap", func(t *testing.T) {
		page, err := s.Search(ctx, has)
		if err != nil || len(page.Matches) != 0 {
			t.Errorf("Search = %d matches, %v; want none and no error", len(page.Matches), err)
		}
	})
	t.Run("one page within MaxSnapshot", func(t *testing.T) {
		page, err := s.Search(ctx, byName("pat", 10))
		if err != nil || len(page.Matches) != 4 {
			t.Errorf("Search = %d matches, %v; want 4 and no error, because a single page stores no snapshot", len(page.Matches), err)
		}
	})
}

// TestTransactionUndoRestoresHistory checks what the contract cannot see:
// after a failed Transaction without transactions, the previous version's
// history row is open again and holds its search index, so a later write
// ends it properly.
func TestTransactionUndoRestoresHistory(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()
	createNamed(t, s, "p1", "peter")

	errAbort := errors.New("abort")
	err := s.Transaction(ctx, func(tx storage.Tx) error {
		_, err := tx.Write(ctx, storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: testTime.Add(time.Second),
			Op: storage.OpUpdate, JSON: []byte(`{"v":2}`), Index: nameEntry("zora")})
		if err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Transaction error = %v, want the error fn returned", err)
	}

	var row bson.M
	err = rawDatabase(t, uri, name).Collection("history").FindOne(ctx,
		bson.D{{Key: "type", Value: "Patient"}, {Key: "id", Value: "p1"}, {Key: "version", Value: int64(1)}}).Decode(&row)
	if err != nil {
		t.Fatalf("find history row 1: %v", err)
	}
	for _, field := range []string{"ended", "nextSeq"} {
		if _, ok := row[field]; ok {
			t.Errorf("history row 1 still has %s = %v after the undo", field, row[field])
		}
	}
	keys, _ := row["k"].(bson.A)
	if !slices.ContainsFunc(keys, func(k any) bool { return strings.HasSuffix(fmt.Sprint(k), "peter") }) {
		t.Errorf("history row 1 keys = %v, want version 1's name keys back", row["k"])
	}

	page, err := s.History(ctx, storage.HistoryQuery{Type: "Patient", ID: "p1", Count: 10})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if page.Total != 1 {
		t.Errorf("instance history Total = %d, want 1 after the undo", page.Total)
	}
}

func TestSchemaVersionOneUpgrade(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)

	t.Run("empty database moves up", func(t *testing.T) {
		name := newDatabaseName(t)
		db := rawDatabase(t, uri, name)
		if _, err := db.Collection("meta").InsertOne(ctx, bson.D{{Key: "_id", Value: "schema"}, {Key: "version", Value: 1}}); err != nil {
			t.Fatalf("mark schema version 1: %v", err)
		}
		s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
		s.Close()
		var meta struct {
			Version int `bson:"version"`
		}
		if err := db.Collection("meta").FindOne(ctx, bson.D{{Key: "_id", Value: "schema"}}).Decode(&meta); err != nil {
			t.Fatalf("read schema version: %v", err)
		}
		if meta.Version != 2 {
			t.Errorf("schema version after Open = %d, want 2", meta.Version)
		}
	})

	t.Run("database with resources is rejected", func(t *testing.T) {
		name := newDatabaseName(t)
		db := rawDatabase(t, uri, name)
		if _, err := db.Collection("meta").InsertOne(ctx, bson.D{{Key: "_id", Value: "schema"}, {Key: "version", Value: 1}}); err != nil {
			t.Fatalf("mark schema version 1: %v", err)
		}
		if _, err := db.Collection("resources").InsertOne(ctx, bson.D{{Key: "_id", Value: "Patient/p1"}}); err != nil {
			t.Fatalf("insert a version 1 resource: %v", err)
		}
		s, err := mongo.Open(ctx, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
		if err == nil {
			s.Close()
			t.Fatal("Open of a version 1 database with resources succeeded, want an error")
		}
		if !strings.Contains(err.Error(), "search index") {
			t.Errorf("Open error = %q, want it to say the search index is missing", err)
		}
	})
}
