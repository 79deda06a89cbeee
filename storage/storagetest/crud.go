package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

func testCreateReadVread(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v := version{"Patient", "p1", 1, tick(0), storage.OpCreate}

	written, err := b.Write(ctx, v.write())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkResource(t, "Write", written, v.resource())

	read, err := b.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	checkResource(t, "Read", read, v.resource())

	vread, err := b.ReadVersion(ctx, "Patient", "p1", 1)
	if err != nil {
		t.Fatalf("ReadVersion: %v", err)
	}
	checkResource(t, "ReadVersion", vread, v.resource())
}

func testLastUpdatedStoredAsUTCMillis(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	zone := time.FixedZone("UTC+01", 3600)
	given := time.Date(2024, time.March, 1, 9, 30, 15, 123456789, zone)
	want := time.Date(2024, time.March, 1, 8, 30, 15, 123000000, time.UTC)

	w := storage.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: given,
		Op: storage.OpCreate, JSON: []byte(`{"resourceType":"Patient","id":"p1"}`)}
	written, err := b.Write(ctx, w)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	read, err := b.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	vread, err := b.ReadVersion(ctx, "Patient", "p1", 1)
	if err != nil {
		t.Fatalf("ReadVersion: %v", err)
	}
	page := history(t, b, storage.HistoryQuery{Type: "Patient", ID: "p1", Count: 10})
	if len(page.Versions) != 1 {
		t.Fatalf("History returned %d versions, want 1", len(page.Versions))
	}

	for label, got := range map[string]storage.Resource{
		"Write": written, "Read": read, "ReadVersion": vread, "History": page.Versions[0],
	} {
		if !got.LastUpdated.Equal(want) {
			t.Errorf("%s: LastUpdated = %s, want %s", label, got.LastUpdated.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
		if got.LastUpdated.Location() != time.UTC {
			t.Errorf("%s: LastUpdated location = %s, want UTC", label, got.LastUpdated.Location())
		}
	}
}

func testUpdateIncrementsVersion(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(0), storage.OpCreate}
	v2 := version{"Patient", "p1", 2, tick(1), storage.OpUpdate}
	mustWrite(t, b, v1)

	written, err := b.Write(ctx, v2.write())
	if err != nil {
		t.Fatalf("Write version 2: %v", err)
	}
	checkResource(t, "Write version 2", written, v2.resource())

	read, err := b.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	checkResource(t, "Read", read, v2.resource())

	for _, v := range []version{v1, v2} {
		got, err := b.ReadVersion(ctx, "Patient", "p1", v.VersionID)
		if err != nil {
			t.Fatalf("ReadVersion %d: %v", v.VersionID, err)
		}
		checkResource(t, "ReadVersion "+v.key(), got, v.resource())
	}
}

func testVersionConflict(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(0), storage.OpCreate}
	v2 := version{"Patient", "p1", 2, tick(1), storage.OpUpdate}
	mustWrite(t, b, v1, v2)

	tests := []struct {
		name string
		w    storage.Write
	}{
		{"expected an older version", storage.Write{Type: "Patient", ID: "p1", VersionID: 3, ExpectVersion: 1}},
		{"expected a newer version", storage.Write{Type: "Patient", ID: "p1", VersionID: 4, ExpectVersion: 3}},
		{"create of an existing resource", storage.Write{Type: "Patient", ID: "p1", VersionID: 1, ExpectVersion: 0}},
		{"update of a missing resource", storage.Write{Type: "Patient", ID: "missing", VersionID: 2, ExpectVersion: 1}},
		{"any version with a stale version id", storage.Write{Type: "Patient", ID: "p1", VersionID: 2, ExpectVersion: storage.AnyVersion}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.w.LastUpdated = tick(2)
			tc.w.Op = storage.OpUpdate
			tc.w.JSON = body(tc.w.Type, tc.w.ID, tc.w.VersionID, tick(2))

			_, err := b.Write(ctx, tc.w)
			checkErrorIs(t, "Write", err, storage.ErrVersionConflict)
		})
	}

	read, err := b.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read after conflicts: %v", err)
	}
	checkResource(t, "Read after conflicts", read, v2.resource())

	_, err = b.Read(ctx, "Patient", "missing")
	checkErrorIs(t, "Read of the resource a conflict did not create", err, storage.ErrNotFound)

	page := history(t, b, storage.HistoryQuery{Count: 10})
	checkKeys(t, "system history after conflicts", keys(page.Versions), []string{v2.key(), v1.key()})
}

func testVersionIDNotNextRejected(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(0), storage.OpCreate}
	mustWrite(t, b, v1)

	for _, versionID := range []int64{1, 3} {
		w := storage.Write{Type: "Patient", ID: "p1", VersionID: versionID, ExpectVersion: 1,
			LastUpdated: tick(1), Op: storage.OpUpdate, JSON: body("Patient", "p1", versionID, tick(1))}
		if _, err := b.Write(ctx, w); err == nil {
			t.Errorf("Write of version %d over version 1 succeeded, want an error", versionID)
		}
	}

	read, err := b.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	checkResource(t, "Read after rejected writes", read, v1.resource())
}

func testAnyVersionSkipsCheck(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	versions := []version{
		{"Patient", "p1", 1, tick(0), storage.OpCreate},
		{"Patient", "p1", 2, tick(1), storage.OpUpdate},
		{"Patient", "p1", 3, tick(2), storage.OpDelete},
	}
	for _, v := range versions {
		w := v.write()
		w.ExpectVersion = storage.AnyVersion
		if _, err := b.Write(ctx, w); err != nil {
			t.Fatalf("Write %s with AnyVersion: %v", v.key(), err)
		}
	}

	read, err := b.Read(ctx, "Patient", "p1")
	checkErrorIs(t, "Read after delete", err, storage.ErrGone)
	checkResource(t, "Read after delete", read, versions[2].resource())
}

func testInvalidWriteRejected(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(10), storage.OpCreate}
	mustWrite(t, b, v1)

	valid := func() storage.Write {
		return storage.Write{Type: "Patient", ID: "p2", VersionID: 1, ExpectVersion: 0,
			LastUpdated: tick(11), Op: storage.OpCreate, JSON: body("Patient", "p2", 1, tick(11))}
	}
	tests := []struct {
		name   string
		change func(w *storage.Write)
	}{
		{"empty type", func(w *storage.Write) { w.Type = "" }},
		{"empty id", func(w *storage.Write) { w.ID = "" }},
		{"version zero", func(w *storage.Write) { w.VersionID = 0 }},
		{"expected version below AnyVersion", func(w *storage.Write) { w.ExpectVersion = -2 }},
		{"unknown operation", func(w *storage.Write) { w.Op = "merge" }},
		{"create without JSON", func(w *storage.Write) { w.JSON = nil }},
		{"update without JSON", func(w *storage.Write) { w.Op = storage.OpUpdate; w.JSON = nil }},
		{"delete with JSON", func(w *storage.Write) { w.Op = storage.OpDelete }},
		{"zero lastUpdated", func(w *storage.Write) { w.LastUpdated = time.Time{} }},
		{"lastUpdated before current version", func(w *storage.Write) {
			w.ID, w.VersionID, w.ExpectVersion, w.Op = "p1", 2, 1, storage.OpUpdate
			w.LastUpdated = tick(9)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := valid()
			tc.change(&w)
			if _, err := b.Write(ctx, w); err == nil {
				t.Errorf("Write(%+v) succeeded, want an error", w)
			}
		})
	}

	page := history(t, b, storage.HistoryQuery{Count: 10})
	checkKeys(t, "system history after rejected writes", keys(page.Versions), []string{v1.key()})
	if page.Total != 1 {
		t.Errorf("system history Total = %d, want 1", page.Total)
	}
}

func testDeleteThenReadGone(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(0), storage.OpCreate}
	v2 := version{"Patient", "p1", 2, tick(1), storage.OpUpdate}
	deletion := version{"Patient", "p1", 3, tick(2), storage.OpDelete}
	mustWrite(t, b, v1, v2)

	written, err := b.Write(ctx, deletion.write())
	if err != nil {
		t.Fatalf("Write deletion: %v", err)
	}
	checkResource(t, "Write deletion", written, deletion.resource())

	read, err := b.Read(ctx, "Patient", "p1")
	checkErrorIs(t, "Read", err, storage.ErrGone)
	if errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read: error %v wraps ErrNotFound, want only ErrGone", err)
	}
	checkResource(t, "Read", read, deletion.resource())

	vread, err := b.ReadVersion(ctx, "Patient", "p1", 3)
	checkErrorIs(t, "ReadVersion of the deletion", err, storage.ErrGone)
	checkResource(t, "ReadVersion of the deletion", vread, deletion.resource())

	for _, v := range []version{v1, v2} {
		got, err := b.ReadVersion(ctx, "Patient", "p1", v.VersionID)
		if err != nil {
			t.Fatalf("ReadVersion %d after delete: %v", v.VersionID, err)
		}
		checkResource(t, "ReadVersion after delete "+v.key(), got, v.resource())
	}
}

func testRecreateAfterDelete(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(0), storage.OpCreate}
	deletion := version{"Patient", "p1", 2, tick(1), storage.OpDelete}
	recreated := version{"Patient", "p1", 3, tick(2), storage.OpCreate}
	mustWrite(t, b, v1, deletion)

	fresh := storage.Write{Type: "Patient", ID: "p1", VersionID: 1, ExpectVersion: 0,
		LastUpdated: tick(2), Op: storage.OpCreate, JSON: body("Patient", "p1", 1, tick(2))}
	_, err := b.Write(ctx, fresh)
	checkErrorIs(t, "Write expecting no resource over a deletion", err, storage.ErrVersionConflict)

	written, err := b.Write(ctx, recreated.write())
	if err != nil {
		t.Fatalf("Write version 3 after deletion: %v", err)
	}
	checkResource(t, "Write version 3", written, recreated.resource())

	read, err := b.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read after re-create: %v", err)
	}
	checkResource(t, "Read after re-create", read, recreated.resource())

	page := history(t, b, storage.HistoryQuery{Type: "Patient", ID: "p1", Count: 10})
	checkKeys(t, "instance history", keys(page.Versions), []string{recreated.key(), deletion.key(), v1.key()})
}

func testReadMissingNotFound(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	mustWrite(t, b, version{"Patient", "p1", 1, tick(0), storage.OpCreate})

	_, err := b.Read(ctx, "Patient", "missing")
	checkErrorIs(t, "Read of a missing resource", err, storage.ErrNotFound)
	if errors.Is(err, storage.ErrGone) {
		t.Errorf("Read of a missing resource: error %v wraps ErrGone, want only ErrNotFound", err)
	}

	_, err = b.Read(ctx, "Observation", "p1")
	checkErrorIs(t, "Read of an existing id under another type", err, storage.ErrNotFound)

	_, err = b.ReadVersion(ctx, "Patient", "missing", 1)
	checkErrorIs(t, "ReadVersion of a missing resource", err, storage.ErrNotFound)

	for _, versionID := range []int64{2, 0, -1} {
		_, err = b.ReadVersion(ctx, "Patient", "p1", versionID)
		checkErrorIs(t, "ReadVersion of a missing version "+versionKey("Patient", "p1", versionID), err, storage.ErrNotFound)
	}
}

func testTypesAreSeparate(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	patient := version{"Patient", "x", 1, tick(0), storage.OpCreate}
	observation := version{"Observation", "x", 1, tick(1), storage.OpCreate}
	mustWrite(t, b, patient, observation)

	for _, v := range []version{patient, observation} {
		got, err := b.Read(ctx, v.Type, v.ID)
		if err != nil {
			t.Fatalf("Read %s: %v", v.key(), err)
		}
		checkResource(t, "Read "+v.key(), got, v.resource())
	}

	page := history(t, b, storage.HistoryQuery{Type: "Patient", ID: "x", Count: 10})
	checkKeys(t, "instance history of Patient/x", keys(page.Versions), []string{patient.key()})
}

func testPing(t *testing.T, b storage.Backend) {
	if err := b.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testCloseThenCallsFail(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	v1 := version{"Patient", "p1", 1, tick(0), storage.OpCreate}
	mustWrite(t, b, v1)

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	v2 := version{"Patient", "p1", 2, tick(1), storage.OpUpdate}
	if _, err := b.Write(ctx, v2.write()); err == nil {
		t.Error("Write after Close succeeded, want an error")
	}
	if _, err := b.Read(ctx, "Patient", "p1"); err == nil {
		t.Error("Read after Close succeeded, want an error")
	}
	if _, err := b.ReadVersion(ctx, "Patient", "p1", 1); err == nil {
		t.Error("ReadVersion after Close succeeded, want an error")
	}
	if _, err := b.History(ctx, storage.HistoryQuery{Count: 10}); err == nil {
		t.Error("History after Close succeeded, want an error")
	}
	if err := b.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded, want an error")
	}
}
