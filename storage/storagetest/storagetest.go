// Package storagetest is the contract suite for storage.Backend. A backend
// package calls Run from one of its tests; a backend is correct when every
// subtest passes.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// Run runs the contract suite. open must return a new, empty backend on
// every call; Run closes it when the subtest ends. open may register its
// own t.Cleanup to remove files.
func Run(t *testing.T, open func(t *testing.T) storage.Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, b storage.Backend)
	}{
		{"CreateReadVread", testCreateReadVread},
		{"LastUpdatedStoredAsUTCMillis", testLastUpdatedStoredAsUTCMillis},
		{"UpdateIncrementsVersion", testUpdateIncrementsVersion},
		{"VersionConflict", testVersionConflict},
		{"VersionIDNotNextRejected", testVersionIDNotNextRejected},
		{"AnyVersionSkipsCheck", testAnyVersionSkipsCheck},
		{"InvalidWriteRejected", testInvalidWriteRejected},
		{"DeleteThenReadGone", testDeleteThenReadGone},
		{"RecreateAfterDelete", testRecreateAfterDelete},
		{"ReadMissingNotFound", testReadMissingNotFound},
		{"TypesAreSeparate", testTypesAreSeparate},
		{"HistoryOrderAndTotal", testHistoryOrderAndTotal},
		{"HistoryEntriesCarryVersions", testHistoryEntriesCarryVersions},
		{"HistorySince", testHistorySince},
		{"HistoryAt", testHistoryAt},
		{"HistoryPagingCoversAll", testHistoryPagingCoversAll},
		{"HistoryPagingStableUnderWrites", testHistoryPagingStableUnderWrites},
		{"HistoryAtPagingStableUnderWrites", testHistoryAtPagingStableUnderWrites},
		{"HistoryInvalidCursor", testHistoryInvalidCursor},
		{"HistoryInvalidQuery", testHistoryInvalidQuery},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.run(t, b)
		})
	}

	// This subtest closes the backend itself, so it has no Close cleanup.
	t.Run("CloseThenCallsFail", func(t *testing.T) {
		testCloseThenCallsFail(t, open(t))
	})
}

// baseTime is the LastUpdated of tick 0. Tests give times as ticks of one
// second after it, so expected orders can be read from the fixture.
var baseTime = time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

func tick(n int) time.Time { return baseTime.Add(time.Duration(n) * time.Second) }

// body returns a small resource whose bytes differ for every version, so a
// test can tell which version a read returned.
func body(resourceType, id string, version int64, lastUpdated time.Time) []byte {
	return fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d","lastUpdated":%q}}`,
		resourceType, id, version, lastUpdated.UTC().Format(time.RFC3339Nano))
}

// version describes one write of a fixture. The write expects the previous
// version, and deletions carry no JSON.
type version struct {
	Type, ID    string
	VersionID   int64
	LastUpdated time.Time
	Op          storage.Operation
}

func (v version) write() storage.Write {
	w := storage.Write{
		Type:          v.Type,
		ID:            v.ID,
		VersionID:     v.VersionID,
		LastUpdated:   v.LastUpdated,
		Op:            v.Op,
		ExpectVersion: v.VersionID - 1,
	}
	if v.Op != storage.OpDelete {
		w.JSON = body(v.Type, v.ID, v.VersionID, v.LastUpdated)
	}
	return w
}

// resource is the Resource the backend must return for v.
func (v version) resource() storage.Resource {
	w := v.write()
	return storage.Resource{
		Type:        v.Type,
		ID:          v.ID,
		VersionID:   v.VersionID,
		LastUpdated: v.LastUpdated,
		Op:          v.Op,
		Deleted:     v.Op == storage.OpDelete,
		JSON:        w.JSON,
	}
}

func (v version) key() string { return versionKey(v.Type, v.ID, v.VersionID) }

func versionKey(resourceType, id string, versionID int64) string {
	return fmt.Sprintf("%s/%s/_history/%d", resourceType, id, versionID)
}

// mustWrite stores every version in order and stops the test on an error.
func mustWrite(t *testing.T, b storage.Backend, versions ...version) {
	t.Helper()
	for _, v := range versions {
		if _, err := b.Write(context.Background(), v.write()); err != nil {
			t.Fatalf("Write %s: %v", v.key(), err)
		}
	}
}

// checkResource compares every field of got with want.
func checkResource(t *testing.T, label string, got, want storage.Resource) {
	t.Helper()
	if got.Type != want.Type {
		t.Errorf("%s: Type = %q, want %q", label, got.Type, want.Type)
	}
	if got.ID != want.ID {
		t.Errorf("%s: ID = %q, want %q", label, got.ID, want.ID)
	}
	if got.VersionID != want.VersionID {
		t.Errorf("%s: VersionID = %d, want %d", label, got.VersionID, want.VersionID)
	}
	if !got.LastUpdated.Equal(want.LastUpdated) {
		t.Errorf("%s: LastUpdated = %s, want %s", label, got.LastUpdated.Format(time.RFC3339Nano), want.LastUpdated.Format(time.RFC3339Nano))
	}
	if got.LastUpdated.Location() != time.UTC {
		t.Errorf("%s: LastUpdated location = %s, want UTC", label, got.LastUpdated.Location())
	}
	if got.Op != want.Op {
		t.Errorf("%s: Op = %q, want %q", label, got.Op, want.Op)
	}
	if got.Deleted != want.Deleted {
		t.Errorf("%s: Deleted = %t, want %t", label, got.Deleted, want.Deleted)
	}
	if !bytes.Equal(got.JSON, want.JSON) {
		t.Errorf("%s: JSON = %s, want %s", label, got.JSON, want.JSON)
	}
	if want.JSON == nil && got.JSON != nil {
		t.Errorf("%s: JSON is %d empty bytes, want nil", label, len(got.JSON))
	}
}

// checkErrorIs fails the test unless err wraps target.
func checkErrorIs(t *testing.T, label string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want one wrapping %q", label, err, target)
	}
}

// keys returns the version keys of a page, in page order.
func keys(rs []storage.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, versionKey(r.Type, r.ID, r.VersionID))
	}
	return out
}

// checkKeys compares two key lists in order.
func checkKeys(t *testing.T, label string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", label, got, want)
	}
}

// history runs one History call and stops the test on an error.
func history(t *testing.T, b storage.Backend, q storage.HistoryQuery) storage.HistoryPage {
	t.Helper()
	page, err := b.History(context.Background(), q)
	if err != nil {
		t.Fatalf("History(%+v): %v", q, err)
	}
	return page
}
