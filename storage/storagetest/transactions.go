package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ward-fhir/ward/storage"
)

// RunTransactions runs the transaction contract suite. open must return a
// new, empty backend on every call that implements storage.Transactor and
// storage.Searcher; RunTransactions closes it when the subtest ends.
func RunTransactions(t *testing.T, open func(t *testing.T) storage.Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, b txBackend)
	}{
		{"CommitStoresAll", testTxCommitStoresAll},
		{"SeesOwnWrites", testTxSeesOwnWrites},
		{"OthersSeeNothingBeforeCommit", testTxOthersSeeNothingBeforeCommit},
		{"RollbackOnError", testTxRollbackOnError},
		{"RollbackOnPanic", testTxRollbackOnPanic},
		{"FailedWriteLeavesNothing", testTxFailedWriteLeavesNothing},
		{"SearchPagesInside", testTxSearchPagesInside},
		{"UseAfterEndFails", testTxUseAfterEndFails},
		{"ConcurrentTransactions", testTxConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tb, ok := b.(txBackend)
			if !ok {
				t.Fatalf("backend %T does not implement storage.Transactor and storage.Searcher", b)
			}
			tc.run(t, tb)
		})
	}
}

// txBackend is a Backend that runs transactions and searches.
type txBackend interface {
	storage.Backend
	storage.Searcher
	storage.Transactor
}

// txWrite returns the Write that creates, or updates from version
// current, Type/id with one "name" entry.
func txWrite(resourceType, id string, current int64, name string) storage.Write {
	op := storage.OpUpdate
	if current == 0 {
		op = storage.OpCreate
	}
	lastUpdated := tick(int(current))
	return storage.Write{
		Type: resourceType, ID: id, VersionID: current + 1, ExpectVersion: current,
		LastUpdated: lastUpdated, Op: op, JSON: body(resourceType, id, current+1, lastUpdated),
		Index: []storage.IndexEntry{str("name", name, name)},
	}
}

func byName(name string) storage.Query {
	q := query("Patient", clause("name", storage.TypeString, textValue(name)))
	q.Count = 100
	return q
}

// txSearch runs a search inside a transaction and returns "Type/id" of the
// first page.
func txSearch(ctx context.Context, tx storage.Tx, q storage.Query) ([]string, error) {
	page, err := tx.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	return refs(page.Matches), nil
}

func testTxCommitStoresAll(t *testing.T, b txBackend) {
	ctx := context.Background()
	put(t, b, res("Patient", "old", str("name", "old", "old")))

	err := b.Transaction(ctx, func(tx storage.Tx) error {
		for _, w := range []storage.Write{
			txWrite("Patient", "a", 0, "anna"),
			txWrite("Patient", "b", 0, "anna"),
			txWrite("Patient", "old", 1, "anneliese"),
		} {
			if _, err := tx.Write(ctx, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}

	runSearchCases(t, b, []searchCase{
		{name: "new entries", q: byName("ann"), want: []string{"Patient/a", "Patient/b", "Patient/old"}},
		{name: "replaced entries", q: byName("old")},
	})
	for _, id := range []string{"a", "b", "old"} {
		if _, err := b.Read(ctx, "Patient", id); err != nil {
			t.Errorf("Read Patient/%s after commit: %v", id, err)
		}
	}
	page := history(t, b, storage.HistoryQuery{Type: "Patient", Count: 10})
	if page.Total != 4 {
		t.Errorf("type history Total = %d, want 4 versions", page.Total)
	}
}

func testTxSeesOwnWrites(t *testing.T, b txBackend) {
	ctx := context.Background()
	put(t, b,
		res("Patient", "keep", str("name", "anna", "Anna")),
		res("Patient", "drop", str("name", "anna", "Anna")),
	)

	err := b.Transaction(ctx, func(tx storage.Tx) error {
		if _, err := tx.Write(ctx, txWrite("Patient", "new", 0, "anna")); err != nil {
			return err
		}
		r, err := tx.Read(ctx, "Patient", "new")
		if err != nil {
			return fmt.Errorf("read of own create: %w", err)
		}
		if r.VersionID != 1 {
			t.Errorf("Read of own create: VersionID = %d, want 1", r.VersionID)
		}

		got, err := txSearch(ctx, tx, byName("ann"))
		if err != nil {
			return err
		}
		slices.Sort(got)
		checkKeys(t, "search after a create", got, []string{"Patient/drop", "Patient/keep", "Patient/new"})

		if _, err := tx.Write(ctx, storage.Write{Type: "Patient", ID: "drop", VersionID: 2, ExpectVersion: 1,
			LastUpdated: tick(10), Op: storage.OpDelete}); err != nil {
			return err
		}
		if _, err := tx.Write(ctx, txWrite("Patient", "keep", 1, "berta")); err != nil {
			return err
		}
		if _, err := tx.Read(ctx, "Patient", "drop"); !errors.Is(err, storage.ErrGone) {
			t.Errorf("Read of own delete: error = %v, want ErrGone", err)
		}

		got, err = txSearch(ctx, tx, byName("ann"))
		if err != nil {
			return err
		}
		checkKeys(t, "search after a delete and an update", got, []string{"Patient/new"})
		got, err = txSearch(ctx, tx, byName("ber"))
		if err != nil {
			return err
		}
		checkKeys(t, "search for the updated value", got, []string{"Patient/keep"})
		return nil
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
}

func testTxOthersSeeNothingBeforeCommit(t *testing.T, b txBackend) {
	ctx := context.Background()
	put(t, b, res("Patient", "p1", str("name", "anna", "Anna")))

	err := b.Transaction(ctx, func(tx storage.Tx) error {
		if _, err := tx.Write(ctx, txWrite("Patient", "p2", 0, "anna")); err != nil {
			return err
		}
		if _, err := tx.Write(ctx, txWrite("Patient", "p1", 1, "zora")); err != nil {
			return err
		}

		// Another client reads while the transaction is open. Reads and
		// one-page searches must not wait for the transaction.
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := b.Read(ctx, "Patient", "p2"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("outside Read of an uncommitted create: error = %v, want ErrNotFound", err)
			}
			r, err := b.Read(ctx, "Patient", "p1")
			if err != nil || r.VersionID != 1 {
				t.Errorf("outside Read of an uncommitted update: version %d, error %v; want version 1", r.VersionID, err)
			}
			page, err := b.Search(ctx, byName("ann"))
			if err != nil {
				t.Errorf("outside Search: %v", err)
				return
			}
			checkKeys(t, "outside search", refs(page.Matches), []string{"Patient/p1"})
		})
		wg.Wait()
		return nil
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	runSearchCases(t, b, []searchCase{
		{name: "after commit", q: byName("ann"), want: []string{"Patient/p2"}},
	})
}

// checkUnchanged verifies that the fixture of the rollback tests is as it
// was before the transaction.
func checkUnchanged(t *testing.T, b txBackend) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.Read(ctx, "Patient", "new"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read of a rolled back create: error = %v, want ErrNotFound", err)
	}
	r, err := b.Read(ctx, "Patient", "p1")
	if err != nil || r.VersionID != 1 {
		t.Errorf("Read of a rolled back update: version %d, error %v; want version 1", r.VersionID, err)
	}
	if _, err := b.Read(ctx, "Patient", "p2"); err != nil {
		t.Errorf("Read of a rolled back delete: %v, want the resource", err)
	}
	runSearchCases(t, b, []searchCase{
		{name: "old entries stay", q: byName("anna"), want: []string{"Patient/p1", "Patient/p2"}},
		{name: "new entries gone", q: byName("zora")},
	})
	page := history(t, b, storage.HistoryQuery{Count: 10})
	if page.Total != 2 {
		t.Errorf("system history Total = %d, want the 2 versions from before the transaction", page.Total)
	}
}

// writeRollbackFixture writes two Patients and returns a function that
// makes the writes a transaction then throws away.
func writeRollbackFixture(t *testing.T, b txBackend) func(ctx context.Context, tx storage.Tx) error {
	put(t, b,
		res("Patient", "p1", str("name", "anna", "Anna")),
		res("Patient", "p2", str("name", "anna", "Anna")),
	)
	return func(ctx context.Context, tx storage.Tx) error {
		for _, w := range []storage.Write{
			txWrite("Patient", "new", 0, "zora"),
			txWrite("Patient", "p1", 1, "zora"),
			{Type: "Patient", ID: "p2", VersionID: 2, ExpectVersion: 1, LastUpdated: tick(10), Op: storage.OpDelete},
		} {
			if _, err := tx.Write(ctx, w); err != nil {
				return err
			}
		}
		return nil
	}
}

func testTxRollbackOnError(t *testing.T, b txBackend) {
	ctx := context.Background()
	writes := writeRollbackFixture(t, b)
	errAbort := errors.New("abort the bundle")

	err := b.Transaction(ctx, func(tx storage.Tx) error {
		if err := writes(ctx, tx); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("Transaction error = %v, want the error fn returned", err)
	}
	checkUnchanged(t, b)
}

func testTxRollbackOnPanic(t *testing.T, b txBackend) {
	ctx := context.Background()
	writes := writeRollbackFixture(t, b)

	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Transaction swallowed the panic of fn")
			}
		}()
		// fn panics, so Transaction has no error to return: the deferred
		// recover above checks that the panic came through.
		_ = b.Transaction(ctx, func(tx storage.Tx) error {
			if err := writes(ctx, tx); err != nil {
				return err
			}
			panic("fn fails")
		})
	}()
	checkUnchanged(t, b)

	// The backend is still usable.
	if err := b.Transaction(ctx, func(tx storage.Tx) error {
		_, err := tx.Write(ctx, txWrite("Patient", "after", 0, "anna"))
		return err
	}); err != nil {
		t.Errorf("Transaction after a panic: %v", err)
	}
}

func testTxFailedWriteLeavesNothing(t *testing.T, b txBackend) {
	ctx := context.Background()
	put(t, b, res("Patient", "p1", str("name", "anna", "Anna")))

	err := b.Transaction(ctx, func(tx storage.Tx) error {
		// A stale expected version fails, and fn goes on without it.
		_, err := tx.Write(ctx, txWrite("Patient", "p1", 0, "zora"))
		if !errors.Is(err, storage.ErrVersionConflict) {
			t.Errorf("stale write in a transaction: error = %v, want ErrVersionConflict", err)
		}
		_, err = tx.Write(ctx, txWrite("Patient", "p2", 0, "anna"))
		return err
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	runSearchCases(t, b, []searchCase{
		{name: "failed write left no entries", q: byName("zora")},
		{name: "other write committed", q: byName("anna"), want: []string{"Patient/p1", "Patient/p2"}},
	})
}

func testTxSearchPagesInside(t *testing.T, b txBackend) {
	ctx := context.Background()
	var want []string
	err := b.Transaction(ctx, func(tx storage.Tx) error {
		for i := range 10 {
			id := fmt.Sprintf("p%02d", i)
			if _, err := tx.Write(ctx, txWrite("Patient", id, 0, "anna")); err != nil {
				return err
			}
			want = append(want, "Patient/"+id)
		}
		q := byName("anna")
		q.Count, q.Total = 3, storage.TotalAccurate
		var got []string
		for range maxPages {
			page, err := tx.Search(ctx, q)
			if err != nil {
				return err
			}
			if page.Total != 10 {
				t.Errorf("Total inside the transaction = %d, want 10", page.Total)
			}
			got = append(got, refs(page.Matches)...)
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		checkKeys(t, "pages inside the transaction", got, want)
		return nil
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
}

func testTxUseAfterEndFails(t *testing.T, b txBackend) {
	ctx := context.Background()
	var kept storage.Tx
	if err := b.Transaction(ctx, func(tx storage.Tx) error {
		kept = tx
		return nil
	}); err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	if _, err := kept.Write(ctx, txWrite("Patient", "late", 0, "anna")); err == nil {
		t.Error("Write through a committed transaction succeeded, want an error")
	}
	if _, err := kept.Read(ctx, "Patient", "late"); err == nil {
		t.Error("Read through a committed transaction succeeded, want an error")
	}
	if _, err := kept.Search(ctx, byName("anna")); err == nil {
		t.Error("Search through a committed transaction succeeded, want an error")
	}
	if _, err := b.Read(ctx, "Patient", "late"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read Patient/late: error = %v, want ErrNotFound", err)
	}
}

// Bounds of the concurrent transactions test.
const (
	txWorkers        = 4
	txPerWorker      = 10
	txAttemptsInRace = txWorkers * txPerWorker
)

// testTxConcurrent races transactions that each read a counter, write its
// next version and create a record named after that version. A
// transaction either commits both writes or neither, so the committed
// records are exactly the counter's versions.
func testTxConcurrent(t *testing.T, b txBackend) {
	ctx := context.Background()
	var mu sync.Mutex
	committed := map[int64]bool{}
	failures := 0

	attempt := func() {
		var version int64
		err := b.Transaction(ctx, func(tx storage.Tx) error {
			current := int64(0)
			r, err := tx.Read(ctx, "Basic", "counter")
			switch {
			case err == nil:
				current = r.VersionID
			case !errors.Is(err, storage.ErrNotFound):
				return err
			}
			version = current + 1
			if _, err := tx.Write(ctx, txWrite("Basic", "counter", current, "counter")); err != nil {
				return err
			}
			_, err = tx.Write(ctx, txWrite("Basic", fmt.Sprintf("record-%d", version), 0, "record"))
			return err
		})

		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			if committed[version] {
				t.Errorf("version %d of the counter was committed twice", version)
			}
			committed[version] = true
		case errors.Is(err, storage.ErrVersionConflict):
			// A backend that runs transactions in parallel may reject the
			// loser of a race.
			failures++
		default:
			t.Errorf("Transaction: %v", err)
		}
	}

	var wg sync.WaitGroup
	for range txWorkers {
		wg.Go(func() {
			for range txPerWorker {
				attempt()
			}
		})
	}
	wg.Wait()

	t.Logf("%d transactions committed, %d lost a race", len(committed), failures)
	if len(committed)+failures != txAttemptsInRace {
		t.Errorf("%d commits + %d conflicts, want %d attempts", len(committed), failures, txAttemptsInRace)
	}
	counter, err := b.Read(ctx, "Basic", "counter")
	if err != nil {
		t.Fatalf("Read counter: %v", err)
	}
	if counter.VersionID != int64(len(committed)) {
		t.Errorf("counter version = %d, want %d committed transactions", counter.VersionID, len(committed))
	}
	q := query("Basic", clause("name", storage.TypeString, textValue("record")))
	got := searchAll(t, b, q)
	var want []string
	for v := range committed {
		want = append(want, fmt.Sprintf("Basic/record-%d", v))
	}
	slices.Sort(got)
	slices.Sort(want)
	checkKeys(t, "records of committed transactions", got, want)
}
