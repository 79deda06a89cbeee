package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// Bounds of the concurrent writers test: every writer makes exactly this
// many read-then-write attempts on the same resource.
const (
	concurrentWriters  = 8
	attemptsPerWriter  = 20
	concurrentAttempts = concurrentWriters * attemptsPerWriter
)

// testConcurrentWriters races writers that each read the current version
// and write the next one expecting it. Optimistic locking must let exactly
// one writer win each version, and report every loser as a conflict.
func testConcurrentWriters(t *testing.T, b storage.Backend) {
	ctx := context.Background()

	// Each attempt takes its LastUpdated after its read, so it is never
	// before the version it read, which was committed before that read.
	var clock atomic.Int64

	var mu sync.Mutex
	won := map[int64][]byte{} // version -> JSON of the writer that won it
	conflicts := 0

	attempt := func(writer, n int) {
		current := int64(0)
		r, err := b.Read(ctx, "Patient", "shared")
		switch {
		case err == nil:
			current = r.VersionID
		case !errors.Is(err, storage.ErrNotFound):
			t.Errorf("writer %d attempt %d: Read: %v", writer, n, err)
			return
		}

		lastUpdated := baseTime.Add(time.Duration(clock.Add(1)) * time.Millisecond)
		op := storage.OpUpdate
		if current == 0 {
			op = storage.OpCreate
		}
		w := storage.Write{
			Type: "Patient", ID: "shared", VersionID: current + 1, ExpectVersion: current,
			LastUpdated: lastUpdated, Op: op,
			JSON: fmt.Appendf(nil, `{"resourceType":"Patient","id":"shared","writer":%d,"attempt":%d}`, writer, n),
		}
		_, err = b.Write(ctx, w)

		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			if _, dup := won[w.VersionID]; dup {
				t.Errorf("writer %d attempt %d: version %d was written twice", writer, n, w.VersionID)
			}
			won[w.VersionID] = w.JSON
		case errors.Is(err, storage.ErrVersionConflict):
			conflicts++
		default:
			t.Errorf("writer %d attempt %d: Write: %v, want nil or a version conflict", writer, n, err)
		}
	}

	var wg sync.WaitGroup
	for writer := range concurrentWriters {
		wg.Go(func() {
			for n := range attemptsPerWriter {
				attempt(writer, n)
			}
		})
	}
	wg.Wait()

	successes := int64(len(won))
	t.Logf("%d writes succeeded, %d hit a version conflict", successes, conflicts)
	if successes+int64(conflicts) != concurrentAttempts {
		t.Errorf("%d successes + %d conflicts = %d, want %d attempts", successes, conflicts, successes+int64(conflicts), concurrentAttempts)
	}

	final, err := b.Read(ctx, "Patient", "shared")
	if err != nil {
		t.Fatalf("Read after the race: %v", err)
	}
	if final.VersionID != successes {
		t.Errorf("final version = %d, want %d, the number of successful writes", final.VersionID, successes)
	}

	for v := int64(1); v <= successes; v++ {
		want, ok := won[v]
		if !ok {
			t.Errorf("version %d: no writer reported winning it", v)
			continue
		}
		got, err := b.ReadVersion(ctx, "Patient", "shared", v)
		if err != nil {
			t.Errorf("ReadVersion %d: %v", v, err)
			continue
		}
		if !bytes.Equal(got.JSON, want) {
			t.Errorf("version %d: JSON = %s, want %s from the writer that won it", v, got.JSON, want)
		}
	}

	page := history(t, b, storage.HistoryQuery{Type: "Patient", ID: "shared", Count: concurrentAttempts})
	if int64(page.Total) != successes {
		t.Errorf("instance history Total = %d, want %d", page.Total, successes)
	}
	for i, r := range page.Versions {
		if want := successes - int64(i); r.VersionID != want {
			t.Errorf("instance history entry %d: VersionID = %d, want %d", i, r.VersionID, want)
		}
	}
}
