package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/mongo"
	"github.com/ward-fhir/ward/storage/storagetest"
)

// mongoURIEnv names a MongoDB deployment to run the contract suite against
// in addition to the embedded FerretDB.
const mongoURIEnv = "WARD_TEST_MONGODB_URI"

// startFerretDB runs FerretDB v1 on its SQLite backend in a temporary
// directory, listening on a free loopback port, until the test ends, and
// returns its URI without a database path.
func startFerretDB(t *testing.T) string {
	t.Helper()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    slog.New(slog.DiscardHandler),
		Handler:   "sqlite",
		SQLiteURL: "file:" + t.TempDir() + "/",
	})
	if err != nil {
		t.Fatalf("start FerretDB: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f.MongoDBURI()
}

var databaseCounter atomic.Int64

// newDatabaseName returns a database name that no earlier call returned,
// with a random part so runs against a shared MongoDB do not collide.
func newDatabaseName(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random database name: %v", err)
	}
	return fmt.Sprintf("ward_test_%s_%d", hex.EncodeToString(b[:]), databaseCounter.Add(1))
}

func openStore(t *testing.T, uri string, opts ...mongo.Option) *mongo.Store {
	t.Helper()
	s, err := mongo.Open(context.Background(), uri, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// rawDatabase connects to database name at uri with the driver alone, so a
// test can look at or change the stored documents.
func rawDatabase(t *testing.T, uri, name string) *driver.Database {
	t.Helper()
	client, err := driver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect to %s: %v", uri, err)
	}
	t.Cleanup(func() {
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	return client.Database(name)
}

func TestContractFerretDB(t *testing.T) {
	uri := startFerretDB(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return openStore(t, uri, mongo.WithDatabase(newDatabaseName(t)), mongo.WithoutTransactions())
	})
}

// ferretDBSearchGaps names the search contract subtests that FerretDB
// v1.24.2 cannot run, with the reason. The backend matches dates, numbers,
// quantities and composites with $elemMatch on an array of documents,
// which FerretDB v1 rejects ("unknown operator") unless the $elemMatch
// holds operators only.
var ferretDBSearchGaps = map[string]string{
	"Date":                          "FerretDB v1.24.2 has no $elemMatch on arrays of documents, which date entries need",
	"Number":                        "FerretDB v1.24.2 has no $elemMatch on arrays of documents, which number entries need",
	"Quantity":                      "FerretDB v1.24.2 has no $elemMatch on arrays of documents, which quantity entries need",
	"QuantityAsWrittenAndCanonical": "FerretDB v1.24.2 has no $elemMatch on arrays of documents, which quantity entries need",
	"Composite":                     "FerretDB v1.24.2 has no $elemMatch on arrays of documents, which composite groups need",
}

// withoutTransactionsGaps names the transaction contract subtests that a
// store opened WithoutTransactions, as on FerretDB, cannot pass, with the
// reason.
var withoutTransactionsGaps = map[string]string{
	"OthersSeeNothingBeforeCommit": "without transactions (FerretDB v1.24.2 has none) a Transaction's writes are visible as they land",
}

// skipGap skips the running subtest of a contract suite when gaps names
// its last path element.
func skipGap(t *testing.T, gaps map[string]string) {
	t.Helper()
	name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
	if reason, ok := gaps[name]; ok {
		t.Skip(reason)
	}
}

func TestSearchContractFerretDB(t *testing.T) {
	uri := startFerretDB(t)
	storagetest.RunSearch(t, func(t *testing.T) storage.Backend {
		skipGap(t, ferretDBSearchGaps)
		return openStore(t, uri, mongo.WithDatabase(newDatabaseName(t)), mongo.WithoutTransactions())
	})
}

func TestTransactionContractFerretDB(t *testing.T) {
	uri := startFerretDB(t)
	storagetest.RunTransactions(t, func(t *testing.T) storage.Backend {
		skipGap(t, withoutTransactionsGaps)
		return openStore(t, uri, mongo.WithDatabase(newDatabaseName(t)), mongo.WithoutTransactions())
	})
}

func TestContractMongoDB(t *testing.T) {
	uri := os.Getenv(mongoURIEnv)
	if uri == "" {
		t.Skipf("set %s to a MongoDB 6.0+ URI, a replica set for the transactional path, to run the contract suite against it", mongoURIEnv)
	}

	var opts []mongo.Option
	probe, err := mongo.Open(context.Background(), uri, mongo.WithDatabase(newDatabaseName(t)))
	switch {
	case errors.Is(err, mongo.ErrTransactionsUnsupported):
		t.Logf("%s is a standalone server, so the suite runs WithoutTransactions: %v", mongoURIEnv, err)
		opts = append(opts, mongo.WithoutTransactions())
	case err != nil:
		t.Fatalf("Open %s: %v", mongoURIEnv, err)
	default:
		dropDatabase(t, uri, probe.Database())
		if err := probe.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}

	open := func(t *testing.T) storage.Backend {
		name := newDatabaseName(t)
		t.Cleanup(func() { dropDatabase(t, uri, name) })
		return openStore(t, uri, append(opts, mongo.WithDatabase(name))...)
	}
	t.Run("Backend", func(t *testing.T) { storagetest.Run(t, open) })
	t.Run("Search", func(t *testing.T) { storagetest.RunSearch(t, open) })
	t.Run("Transactions", func(t *testing.T) {
		storagetest.RunTransactions(t, func(t *testing.T) storage.Backend {
			if len(opts) > 0 {
				skipGap(t, withoutTransactionsGaps)
			}
			return open(t)
		})
	})
}

func dropDatabase(t *testing.T, uri, name string) {
	t.Helper()
	client, err := driver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Errorf("connect to drop database %s: %v", name, err)
		return
	}
	defer client.Disconnect(context.Background())
	if err := client.Database(name).Drop(context.Background()); err != nil {
		t.Errorf("drop database %s: %v", name, err)
	}
}

func TestOpenStandaloneNeedsOption(t *testing.T) {
	uri := startFerretDB(t)

	s, err := mongo.Open(context.Background(), uri+"ward")
	if err == nil {
		s.Close()
		t.Fatal("Open of a standalone server without WithoutTransactions succeeded, want an error")
	}
	if !errors.Is(err, mongo.ErrTransactionsUnsupported) {
		t.Errorf("Open error = %v, want one wrapping ErrTransactionsUnsupported", err)
	}
	if !strings.Contains(err.Error(), "replica set") {
		t.Errorf("Open error = %q, want it to say that a replica set is needed", err)
	}
}

func TestOpenDatabaseName(t *testing.T) {
	uri := startFerretDB(t)
	tests := []struct {
		name string
		uri  string
		opts []mongo.Option
		want string
	}{
		{"default without a path", strings.TrimSuffix(uri, "/"), nil, mongo.DefaultDatabase},
		{"default with an empty path", uri, nil, mongo.DefaultDatabase},
		{"from the URI path", uri + "clinic?connectTimeoutMS=5000", nil, "clinic"},
		{"option overrides the URI", uri + "clinic", []mongo.Option{mongo.WithDatabase("ward_other")}, "ward_other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, tc.uri, append(tc.opts, mongo.WithoutTransactions())...)
			defer s.Close()
			if s.Database() != tc.want {
				t.Errorf("Database() = %q, want %q", s.Database(), tc.want)
			}
			if s.Transactions() {
				t.Error("Transactions() = true for a store opened WithoutTransactions")
			}

			names, err := rawDatabase(t, uri, tc.want).ListCollectionNames(context.Background(), bson.D{})
			if err != nil {
				t.Fatalf("list collections of %s: %v", tc.want, err)
			}
			for _, want := range []string{"history", "counters", "meta"} {
				if !slices.Contains(names, want) {
					t.Errorf("database %s has collections %q, want %q among them", tc.want, names, want)
				}
			}
		})
	}
}

func TestOpenUnreachableServerFails(t *testing.T) {
	// A port that this test reserved and released has no server behind it.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve a loopback port: %v", err)
	}
	addr := listener.Addr().String()
	if err := listener.Close(); err != nil {
		t.Fatalf("release %s: %v", addr, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := mongo.Open(ctx, "mongodb://"+addr+"/ward?serverSelectionTimeoutMS=500", mongo.WithoutTransactions())
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable server succeeded, want an error")
	}
}

func TestOpenInvalidURIFails(t *testing.T) {
	for _, uri := range []string{"", "localhost:27017", "mongodb://127.0.0.1/%zz"} {
		if s, err := mongo.Open(context.Background(), uri, mongo.WithoutTransactions()); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", uri)
		}
	}
}

func TestIndexesCreated(t *testing.T) {
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()

	specs, err := rawDatabase(t, uri, name).Collection("history").Indexes().ListSpecifications(context.Background())
	if err != nil {
		t.Fatalf("list history indexes: %v", err)
	}
	got := map[string]bool{}
	for _, spec := range specs {
		got[spec.Name] = spec.Unique != nil && *spec.Unique
	}
	want := map[string]bool{
		"_id_":             false,
		"type_id_version":  true,
		"instance_history": false,
		"type_history":     false,
		"system_history":   false,
	}
	for index, unique := range want {
		gotUnique, ok := got[index]
		if !ok {
			t.Errorf("history index %s is missing; indexes are %v", index, got)
			continue
		}
		if index != "_id_" && gotUnique != unique {
			t.Errorf("history index %s unique = %t, want %t", index, gotUnique, unique)
		}
	}
}

func TestStoredDocuments(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()

	// Bytes that a JSON round trip would change: key order, spacing and an
	// escaped character must come back untouched.
	body := []byte(`{"resourceType":"Patient", "id":"p1","name":[{"text":"Zo\u00eb"}],"a":1}`)
	at := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	writes := []storage.Write{
		{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: at, Op: storage.OpCreate, JSON: body},
		{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: at.Add(time.Second), Op: storage.OpDelete},
	}
	for _, w := range writes {
		if _, err := s.Write(ctx, w); err != nil {
			t.Fatalf("Write version %d: %v", w.VersionID, err)
		}
	}
	db := rawDatabase(t, uri, name)

	var current bson.M
	if err := db.Collection("resources").FindOne(ctx, bson.D{{Key: "_id", Value: "Patient/p1"}}).Decode(&current); err != nil {
		t.Fatalf("find current document Patient/p1: %v", err)
	}
	wantCurrent := map[string]any{"type": "Patient", "id": "p1", "version": int64(2), "deleted": true, "op": "delete"}
	for field, want := range wantCurrent {
		if got := current[field]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("current document %s = %v, want %v", field, got, want)
		}
	}
	if _, ok := current["body"]; ok {
		t.Errorf("current document of a deletion has a body: %v", current["body"])
	}
	if got, ok := current["lastUpdated"].(bson.DateTime); !ok || got.Time().UTC() != at.Add(time.Second) {
		t.Errorf("current document lastUpdated = %v (%T), want the date %s", current["lastUpdated"], current["lastUpdated"], at.Add(time.Second))
	}

	var first bson.Raw
	err := db.Collection("history").FindOne(ctx, bson.D{{Key: "type", Value: "Patient"}, {Key: "id", Value: "p1"}, {Key: "version", Value: 1}}).Decode(&first)
	if err != nil {
		t.Fatalf("find history row Patient/p1/_history/1: %v", err)
	}
	subtype, data, ok := first.Lookup("body").BinaryOK()
	if !ok {
		t.Fatalf("history body is BSON %s, want binary", first.Lookup("body").Type)
	}
	if subtype != 0 {
		t.Errorf("history body binary subtype = %d, want 0 (generic)", subtype)
	}
	if string(data) != string(body) {
		t.Errorf("history body = %s, want the bytes written: %s", data, body)
	}
	ended, ok := first.Lookup("ended").DateTimeOK()
	if !ok || ended != at.Add(time.Second).UnixMilli() {
		t.Errorf("history row 1 ended = %v, want version 2's lastUpdated %s", first.Lookup("ended"), at.Add(time.Second))
	}

	read, err := s.ReadVersion(ctx, "Patient", "p1", 1)
	if err != nil {
		t.Fatalf("ReadVersion 1: %v", err)
	}
	if string(read.JSON) != string(body) {
		t.Errorf("ReadVersion 1 JSON = %s, want %s", read.JSON, body)
	}
}

func TestUnfinishedWriteCompleted(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()

	at := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	v1 := storage.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: at, Op: storage.OpCreate, JSON: []byte(`{"v":1}`)}
	if _, err := s.Write(ctx, v1); err != nil {
		t.Fatalf("Write version 1: %v", err)
	}

	// A writer that died after its history insert left version 2 in
	// history while the current document still shows version 1.
	db := rawDatabase(t, uri, name)
	var counter struct {
		Value int64 `bson:"value"`
	}
	err := db.Collection("counters").FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: "history"}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "value", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&counter)
	if err != nil {
		t.Fatalf("take a sequence number: %v", err)
	}
	orphanTime := at.Add(time.Second)
	_, err = db.Collection("history").InsertOne(ctx, bson.D{
		{Key: "_id", Value: counter.Value}, {Key: "type", Value: "Patient"}, {Key: "id", Value: "p1"},
		{Key: "version", Value: int64(2)}, {Key: "lastUpdated", Value: bson.NewDateTimeFromTime(orphanTime)},
		{Key: "deleted", Value: false}, {Key: "op", Value: "update"}, {Key: "body", Value: []byte(`{"v":2}`)},
	})
	if err != nil {
		t.Fatalf("insert the unfinished version: %v", err)
	}

	v2 := storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: 1, LastUpdated: at.Add(2 * time.Second),
		Op: storage.OpUpdate, JSON: []byte(`{"v":"2 again"}`)}
	_, err = s.Write(ctx, v2)
	if !errors.Is(err, storage.ErrVersionConflict) {
		t.Fatalf("Write over the unfinished version: error = %v, want a version conflict", err)
	}

	read, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read after the conflict: %v", err)
	}
	if read.VersionID != 2 || string(read.JSON) != `{"v":2}` || !read.LastUpdated.Equal(orphanTime) {
		t.Errorf("Read after the conflict = version %d %s at %s, want the unfinished version 2 {\"v\":2} at %s",
			read.VersionID, read.JSON, read.LastUpdated, orphanTime)
	}

	page, err := s.History(ctx, storage.HistoryQuery{Type: "Patient", ID: "p1", AtLow: at.Add(1500 * time.Millisecond), AtHigh: at.Add(1500 * time.Millisecond), Count: 10})
	if err != nil {
		t.Fatalf("History _at after the repair: %v", err)
	}
	if len(page.Versions) != 1 || page.Versions[0].VersionID != 2 {
		t.Errorf("versions current 1.5s after creation = %+v, want only version 2, because the repair ended version 1", page.Versions)
	}

	v3 := storage.Write{Type: "Patient", ID: "p1", VersionID: 3, ExpectVersion: 2, LastUpdated: at.Add(3 * time.Second),
		Op: storage.OpUpdate, JSON: []byte(`{"v":3}`)}
	if _, err := s.Write(ctx, v3); err != nil {
		t.Fatalf("Write version 3 after the repair: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	at := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	first := storage.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: at, Op: storage.OpCreate, JSON: []byte(`{"v":1}`)}
	if _, err := s.Write(ctx, first); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}

	// A lost counter must not hand out a sequence number that history
	// already uses, or the next write would fail or sort wrongly.
	if _, err := rawDatabase(t, uri, name).Collection("counters").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatalf("delete the counter: %v", err)
	}

	s = openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	defer s.Close()
	read, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read after reopen: %v", err)
	}
	if read.VersionID != 1 || string(read.JSON) != `{"v":1}` {
		t.Errorf("Read after reopen = version %d %s, want version 1 {\"v\":1}", read.VersionID, read.JSON)
	}

	second := storage.Write{Type: "Patient", ID: "p2", VersionID: 1, LastUpdated: at, Op: storage.OpCreate, JSON: []byte(`{"v":1}`)}
	if _, err := s.Write(ctx, second); err != nil {
		t.Fatalf("Write after the counter was lost: %v", err)
	}
	page, err := s.History(ctx, storage.HistoryQuery{Count: 10})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	var got []string
	for _, r := range page.Versions {
		got = append(got, r.Type+"/"+r.ID)
	}
	if want := []string{"Patient/p2", "Patient/p1"}; !slices.Equal(got, want) {
		t.Errorf("system history = %q, want %q: the later write first among equal times", got, want)
	}
}

func TestNewerSchemaRejected(t *testing.T) {
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	s := openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	_, err := rawDatabase(t, uri, name).Collection("meta").UpdateOne(context.Background(),
		bson.D{{Key: "_id", Value: "schema"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 99}}}})
	if err != nil {
		t.Fatalf("set schema version 99: %v", err)
	}

	s, err = mongo.Open(context.Background(), uri, mongo.WithDatabase(name), mongo.WithoutTransactions())
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with schema version 99 succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "99") {
		t.Errorf("Open error = %q, want it to name schema version 99", err)
	}
}

func TestTypeWithSlashRejected(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	s := openStore(t, uri, mongo.WithDatabase(newDatabaseName(t)), mongo.WithoutTransactions())
	defer s.Close()

	at := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	w := storage.Write{Type: "Patient", ID: "a/b", VersionID: 1, LastUpdated: at, Op: storage.OpCreate, JSON: []byte(`{}`)}
	if _, err := s.Write(ctx, w); err != nil {
		t.Fatalf("Write Patient with id a/b: %v", err)
	}

	bad := storage.Write{Type: "Patient/a", ID: "b", VersionID: 1, LastUpdated: at, Op: storage.OpCreate, JSON: []byte(`{}`)}
	if _, err := s.Write(ctx, bad); err == nil {
		t.Error("Write of type Patient/a succeeded, want an error")
	}
	_, err := s.Read(ctx, "Patient/a", "b")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read Patient/a b: error = %v, want ErrNotFound, not the resource Patient/a/b", err)
	}
}

// TestTwoStoresRaceExactly races writers through two stores on one
// database, as two Ward processes would run. Each store's write lock covers
// only its own writers, so the unique history key alone must let exactly
// one writer win each version.
func TestTwoStoresRaceExactly(t *testing.T) {
	ctx := context.Background()
	uri := startFerretDB(t)
	name := newDatabaseName(t)
	stores := []*mongo.Store{
		openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions()),
		openStore(t, uri, mongo.WithDatabase(name), mongo.WithoutTransactions()),
	}
	for _, s := range stores {
		defer s.Close()
	}

	const writers, attempts = 6, 15
	base := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	var mu sync.Mutex
	won := map[int64]string{}
	conflicts := 0

	var wg sync.WaitGroup
	for writer := range writers {
		s := stores[writer%len(stores)]
		wg.Go(func() {
			for n := range attempts {
				current := int64(0)
				r, err := s.Read(ctx, "Patient", "shared")
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("writer %d attempt %d: Read: %v", writer, n, err)
					return
				}
				if err == nil {
					current = r.VersionID
				}
				op := storage.OpUpdate
				if current == 0 {
					op = storage.OpCreate
				}
				body := fmt.Sprintf(`{"writer":%d,"attempt":%d}`, writer, n)
				_, err = s.Write(ctx, storage.Write{Type: "Patient", ID: "shared", VersionID: current + 1, ExpectVersion: current,
					LastUpdated: base.Add(time.Duration(clock.Add(1)) * time.Millisecond), Op: op, JSON: []byte(body)})

				mu.Lock()
				switch {
				case err == nil:
					if _, dup := won[current+1]; dup {
						t.Errorf("writer %d attempt %d: version %d was written twice", writer, n, current+1)
					}
					won[current+1] = body
				case errors.Is(err, storage.ErrVersionConflict):
					conflicts++
				default:
					t.Errorf("writer %d attempt %d: Write: %v, want nil or a version conflict", writer, n, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if len(won)+conflicts != writers*attempts {
		t.Errorf("%d successes + %d conflicts, want %d attempts", len(won), conflicts, writers*attempts)
	}
	for _, s := range stores {
		final, err := s.Read(ctx, "Patient", "shared")
		if err != nil {
			t.Fatalf("Read after the race: %v", err)
		}
		if final.VersionID != int64(len(won)) {
			t.Errorf("final version = %d, want %d, the number of successful writes", final.VersionID, len(won))
		}
	}
	for v := int64(1); v <= int64(len(won)); v++ {
		got, err := stores[0].ReadVersion(ctx, "Patient", "shared", v)
		if err != nil {
			t.Errorf("ReadVersion %d: %v", v, err)
			continue
		}
		if string(got.JSON) != won[v] {
			t.Errorf("version %d: JSON = %s, want %s from the writer that won it", v, got.JSON, won[v])
		}
	}
	page, err := stores[1].History(ctx, storage.HistoryQuery{Type: "Patient", ID: "shared", Count: writers * attempts})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if page.Total != len(won) {
		t.Errorf("instance history Total = %d, want %d", page.Total, len(won))
	}
}
