package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// Versions of the shared history fixture, written in this order. Observation/o
// version 2 and Patient/b version 2 share a LastUpdated, so the later write
// must come first in history.
var (
	a1 = version{"Patient", "a", 1, tick(0), storage.OpCreate}
	b1 = version{"Patient", "b", 1, tick(1), storage.OpCreate}
	o1 = version{"Observation", "o", 1, tick(2), storage.OpCreate}
	a2 = version{"Patient", "a", 2, tick(3), storage.OpUpdate}
	a3 = version{"Patient", "a", 3, tick(4), storage.OpDelete}
	o2 = version{"Observation", "o", 2, tick(5), storage.OpUpdate}
	b2 = version{"Patient", "b", 2, tick(5), storage.OpUpdate}
)

func writeHistoryFixture(t *testing.T, b storage.Backend) {
	t.Helper()
	mustWrite(t, b, a1, b1, o1, a2, a3, o2, b2)
}

func versionKeys(vs ...version) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.key())
	}
	return out
}

func testHistoryOrderAndTotal(t *testing.T, b storage.Backend) {
	writeHistoryFixture(t, b)

	tests := []struct {
		name string
		q    storage.HistoryQuery
		want []string
	}{
		{"instance", storage.HistoryQuery{Type: "Patient", ID: "a"}, versionKeys(a3, a2, a1)},
		{"instance never written", storage.HistoryQuery{Type: "Patient", ID: "zzz"}, versionKeys()},
		{"type Patient", storage.HistoryQuery{Type: "Patient"}, versionKeys(b2, a3, a2, b1, a1)},
		{"type Observation", storage.HistoryQuery{Type: "Observation"}, versionKeys(o2, o1)},
		{"type never written", storage.HistoryQuery{Type: "Encounter"}, versionKeys()},
		{"system", storage.HistoryQuery{}, versionKeys(b2, o2, a3, a2, o1, b1, a1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Count = 100
			page := history(t, b, tc.q)

			checkKeys(t, "versions", keys(page.Versions), tc.want)
			if page.Total != len(tc.want) {
				t.Errorf("Total = %d, want %d", page.Total, len(tc.want))
			}
			if page.NextCursor != "" {
				t.Errorf("NextCursor = %q on the only page, want empty", page.NextCursor)
			}
			if page.PrevCursor != "" {
				t.Errorf("PrevCursor = %q on the first page, want empty", page.PrevCursor)
			}
		})
	}
}

func testHistoryEntriesCarryVersions(t *testing.T, b storage.Backend) {
	writeHistoryFixture(t, b)

	page := history(t, b, storage.HistoryQuery{Count: 100})
	want := []version{b2, o2, a3, a2, o1, b1, a1}
	if len(page.Versions) != len(want) {
		t.Fatalf("system history has %d versions, want %d", len(page.Versions), len(want))
	}
	for i, v := range want {
		checkResource(t, "system history entry "+v.key(), page.Versions[i], v.resource())
	}
}

func testHistorySince(t *testing.T, b storage.Backend) {
	writeHistoryFixture(t, b)

	tests := []struct {
		name string
		q    storage.HistoryQuery
		want []string
	}{
		{"system since a version's exact time", storage.HistoryQuery{Since: tick(3)}, versionKeys(b2, o2, a3, a2)},
		{"system since just after a version", storage.HistoryQuery{Since: tick(3).Add(500 * time.Microsecond)}, versionKeys(b2, o2, a3)},
		{"type since shared time", storage.HistoryQuery{Type: "Patient", Since: tick(5)}, versionKeys(b2)},
		{"instance since before everything", storage.HistoryQuery{Type: "Patient", ID: "a", Since: tick(-10)}, versionKeys(a3, a2, a1)},
		{"system since after everything", storage.HistoryQuery{Since: tick(6)}, versionKeys()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Count = 100
			page := history(t, b, tc.q)

			checkKeys(t, "versions", keys(page.Versions), tc.want)
			if page.Total != len(tc.want) {
				t.Errorf("Total = %d, want %d", page.Total, len(tc.want))
			}
		})
	}
}

func testHistoryAt(t *testing.T, b storage.Backend) {
	x1 := version{"Patient", "x", 1, tick(10), storage.OpCreate}
	y1 := version{"Patient", "y", 1, tick(12), storage.OpCreate}
	y2 := version{"Patient", "y", 2, tick(15), storage.OpDelete}
	x2 := version{"Patient", "x", 2, tick(20), storage.OpUpdate}
	x3 := version{"Patient", "x", 3, tick(30), storage.OpUpdate}
	z1 := version{"Patient", "z", 1, tick(40), storage.OpCreate}
	mustWrite(t, b, x1, y1, y2, x2, x3, z1)

	tests := []struct {
		name      string
		id        string
		low, high int
		want      []string
	}{
		{name: "window inside one version", low: 22, high: 25, want: versionKeys(x2, y2)},
		{name: "version that ended inside the window", low: 18, high: 25, want: versionKeys(x2, y2, x1)},
		{name: "version that ended before the window", low: 31, high: 35, want: versionKeys(x3, y2)},
		{name: "version ending at the window start", low: 20, high: 20, want: versionKeys(x2, y2)},
		{name: "version starting at the window end", low: 35, high: 40, want: versionKeys(z1, x3, y2)},
		{name: "window before every version", low: 0, high: 5, want: versionKeys()},
		{name: "window covering everything", low: 0, high: 50, want: versionKeys(z1, x3, x2, y2, y1, x1)},
		{name: "instance", id: "x", low: 15, high: 25, want: versionKeys(x2, x1)},
		{name: "instant", low: 13, high: 13, want: versionKeys(y1, x1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := storage.HistoryQuery{Type: "Patient", ID: tc.id, AtLow: tick(tc.low), AtHigh: tick(tc.high), Count: 100}
			page := history(t, b, q)

			checkKeys(t, fmt.Sprintf("versions current in [tick %d, tick %d]", tc.low, tc.high), keys(page.Versions), tc.want)
			if page.Total != len(tc.want) {
				t.Errorf("Total = %d, want %d", page.Total, len(tc.want))
			}
		})
	}

	// System history applies the same rule across types.
	mustWrite(t, b, version{"Observation", "o", 1, tick(41), storage.OpCreate})
	page := history(t, b, storage.HistoryQuery{AtLow: tick(45), AtHigh: tick(45), Count: 100})
	checkKeys(t, "system history at tick 45", keys(page.Versions),
		[]string{versionKey("Observation", "o", 1), z1.key(), x3.key(), y2.key()})
}

// pagingFixture writes n versions spread over five Patients and two
// Observations, two versions per LastUpdated, and returns them in history
// order.
func pagingFixture(t *testing.T, b storage.Backend, n int) []string {
	t.Helper()
	current := map[string]int64{}
	var written []string
	for i := range n {
		resourceType := "Patient"
		if i%4 == 3 {
			resourceType = "Observation"
		}
		id := fmt.Sprintf("r%d", i%5)
		name := resourceType + "/" + id
		current[name]++
		op := storage.OpUpdate
		if current[name] == 1 {
			op = storage.OpCreate
		}
		v := version{resourceType, id, current[name], tick(i / 2), op}
		mustWrite(t, b, v)
		written = append(written, v.key())
	}
	slices.Reverse(written)
	return written
}

// pageForward follows NextCursor from the first page and returns every
// page's keys. sizes gives the Count of each request, the last repeating.
func pageForward(t *testing.T, b storage.Backend, q storage.HistoryQuery, wantTotal int, sizes ...int) ([][]string, []storage.HistoryPage) {
	t.Helper()
	var pageKeys [][]string
	var pages []storage.HistoryPage
	q.Cursor = ""
	for i := 0; ; i++ {
		if i > wantTotal+1 {
			t.Fatalf("paging did not end after %d pages for %d versions", i, wantTotal)
		}
		q.Count = sizes[min(i, len(sizes)-1)]
		page := history(t, b, q)
		if page.Total != wantTotal {
			t.Errorf("page %d: Total = %d, want %d", i+1, page.Total, wantTotal)
		}
		if i == 0 && page.PrevCursor != "" {
			t.Errorf("page 1: PrevCursor = %q, want empty", page.PrevCursor)
		}
		if i > 0 && page.PrevCursor == "" {
			t.Errorf("page %d: PrevCursor is empty, want a cursor", i+1)
		}
		pageKeys = append(pageKeys, keys(page.Versions))
		pages = append(pages, page)
		if page.NextCursor == "" {
			return pageKeys, pages
		}
		q.Cursor = page.NextCursor
	}
}

// pageBackward follows PrevCursor from last and returns the keys of the
// pages before it, first page first.
func pageBackward(t *testing.T, b storage.Backend, q storage.HistoryQuery, last storage.HistoryPage, count int) [][]string {
	t.Helper()
	var pageKeys [][]string
	q.Count = count
	cursor := last.PrevCursor
	for i := 0; cursor != ""; i++ {
		if i > 1000 {
			t.Fatal("backward paging did not reach the first page after 1000 pages")
		}
		q.Cursor = cursor
		page := history(t, b, q)
		if page.NextCursor == "" {
			t.Errorf("backward page %d: NextCursor is empty, want a cursor", i+1)
		}
		if len(page.Versions) == 0 {
			t.Errorf("backward page %d is empty, want versions on every page before the last", i+1)
		}
		pageKeys = append(pageKeys, keys(page.Versions))
		cursor = page.PrevCursor
	}
	slices.Reverse(pageKeys)
	return pageKeys
}

func checkNoRepeats(t *testing.T, label string, got []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range got {
		if seen[k] {
			t.Errorf("%s: %s appears twice", label, k)
		}
		seen[k] = true
	}
}

func testHistoryPagingCoversAll(t *testing.T, b storage.Backend) {
	all := pagingFixture(t, b, 23)
	withPrefix := func(prefix string) []string {
		var out []string
		for _, k := range all {
			if strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
		}
		return out
	}
	patients := withPrefix("Patient/")
	patientR0 := withPrefix("Patient/r0/")
	if len(patients) != 18 || len(patientR0) != 4 {
		t.Fatalf("fixture has %d Patient and %d Patient/r0 versions, want 18 and 4", len(patients), len(patientR0))
	}

	tests := []struct {
		name      string
		q         storage.HistoryQuery
		want      []string
		sizes     []int
		wantSizes []int
	}{
		{"system", storage.HistoryQuery{}, all, []int{5}, []int{5, 5, 5, 5, 3}},
		{"system one per page", storage.HistoryQuery{}, all, []int{1}, slices.Repeat([]int{1}, 23)},
		{"system page size changes", storage.HistoryQuery{}, all, []int{4, 7, 2, 10}, []int{4, 7, 2, 10}},
		{"system single page", storage.HistoryQuery{}, all, []int{23}, []int{23}},
		{"type", storage.HistoryQuery{Type: "Patient"}, patients, []int{7}, []int{7, 7, 4}},
		{"instance", storage.HistoryQuery{Type: "Patient", ID: "r0"}, patientR0, []int{3}, []int{3, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			full := history(t, b, storage.HistoryQuery{Type: tc.q.Type, ID: tc.q.ID, Count: 1000})
			checkKeys(t, "single page", keys(full.Versions), tc.want)

			pages, lastPages := pageForward(t, b, tc.q, len(tc.want), tc.sizes...)
			var sizes []int
			for _, p := range pages {
				sizes = append(sizes, len(p))
			}
			if !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tc.wantSizes)
			}
			joined := slices.Concat(pages...)
			checkNoRepeats(t, "pages", joined)
			checkKeys(t, "pages joined", joined, tc.want)

			last := lastPages[len(lastPages)-1]
			size := tc.sizes[len(tc.sizes)-1]
			back := pageBackward(t, b, tc.q, last, size)
			backJoined := slices.Concat(append(back, pages[len(pages)-1])...)
			checkNoRepeats(t, "pages read backwards", backJoined)
			checkKeys(t, "pages read backwards, joined", backJoined, tc.want)
			if len(tc.sizes) == 1 && len(back) != len(pages)-1 {
				t.Errorf("backward paging returned %d pages before the last, want %d", len(back), len(pages)-1)
			}
		})
	}
}

func testHistoryPagingStableUnderWrites(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	var before []version
	for v := int64(1); v <= 3; v++ {
		for _, id := range []string{"p0", "p1", "p2", "p3"} {
			op := storage.OpUpdate
			if v == 1 {
				op = storage.OpCreate
			}
			before = append(before, version{"Patient", id, v, tick(int(v)), op})
		}
	}
	mustWrite(t, b, before...)
	full := keys(history(t, b, storage.HistoryQuery{Count: 100}).Versions)
	if len(full) != 12 {
		t.Fatalf("system history has %d versions, want 12", len(full))
	}

	// Writes land between pages: updates, a deletion and a new resource,
	// with times both inside and after the range already paged.
	between := [][]version{
		{{"Patient", "p0", 4, tick(3), storage.OpUpdate}, {"Patient", "p9", 1, tick(2), storage.OpCreate}},
		{{"Patient", "p1", 4, tick(4), storage.OpDelete}},
		{{"Patient", "p2", 4, tick(9), storage.OpUpdate}},
	}

	q := storage.HistoryQuery{Count: 3}
	var got []string
	var last storage.HistoryPage
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("paging did not end after 10 pages for 12 versions")
		}
		page := history(t, b, q)
		if page.Total != 12 {
			t.Errorf("page %d: Total = %d, want 12", i+1, page.Total)
		}
		got = append(got, keys(page.Versions)...)
		last = page
		if page.NextCursor == "" {
			break
		}
		if i < len(between) {
			mustWrite(t, b, between[i]...)
		}
		q.Cursor = page.NextCursor
	}
	checkNoRepeats(t, "pages with writes in between", got)
	checkKeys(t, "pages with writes in between, joined", got, full)

	back := pageBackward(t, b, storage.HistoryQuery{}, last, 3)
	checkKeys(t, "pages read backwards after the writes", slices.Concat(append(back, keys(last.Versions))...), full)

	fresh, err := b.History(ctx, storage.HistoryQuery{Count: 100})
	if err != nil {
		t.Fatalf("History after the writes: %v", err)
	}
	if fresh.Total != 16 {
		t.Errorf("new first page after the writes: Total = %d, want 16", fresh.Total)
	}
}

// testHistoryAtPagingStableUnderWrites pages an _at query whose window
// lies after the writes made between pages. Those writes end the versions
// being paged before the window, and the pages must not notice.
func testHistoryAtPagingStableUnderWrites(t *testing.T, b storage.Backend) {
	ids := []string{"p0", "p1", "p2", "p3"}
	var want []string
	for i, id := range ids {
		v := version{"Patient", id, 1, tick(i), storage.OpCreate}
		mustWrite(t, b, v)
		want = append([]string{v.key()}, want...)
	}

	q := storage.HistoryQuery{AtLow: tick(100), AtHigh: tick(100), Count: 1}
	var got []string
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("paging did not end after 10 pages for 4 versions")
		}
		page := history(t, b, q)
		if page.Total != 4 {
			t.Errorf("page %d: Total = %d, want 4", i+1, page.Total)
		}
		got = append(got, keys(page.Versions)...)
		if page.NextCursor == "" {
			break
		}
		mustWrite(t, b, version{"Patient", ids[i%len(ids)], 2, tick(50 + i), storage.OpUpdate})
		q.Cursor = page.NextCursor
	}
	checkKeys(t, "versions current at tick 100, paged with writes in between", got, want)
}

func testHistoryInvalidCursor(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	pagingFixture(t, b, 10)

	first := history(t, b, storage.HistoryQuery{Type: "Patient", Count: 2})
	if first.NextCursor == "" {
		t.Fatal("first page of 2 has no NextCursor, want one")
	}
	valid := first.NextCursor

	tests := []struct {
		name string
		q    storage.HistoryQuery
	}{
		{"not base64", storage.HistoryQuery{Type: "Patient", Cursor: "!!!"}},
		{"random text", storage.HistoryQuery{Type: "Patient", Cursor: "bm90IGEgY3Vyc29y"}},
		{"truncated", storage.HistoryQuery{Type: "Patient", Cursor: valid[:len(valid)/2]}},
		{"extended", storage.HistoryQuery{Type: "Patient", Cursor: valid + "AAAA"}},
		{"from another type", storage.HistoryQuery{Type: "Observation", Cursor: valid}},
		{"from type history in system history", storage.HistoryQuery{Cursor: valid}},
		{"from another since", storage.HistoryQuery{Type: "Patient", Since: tick(1), Cursor: valid}},
		{"from another at", storage.HistoryQuery{Type: "Patient", AtLow: tick(1), AtHigh: tick(2), Cursor: valid}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Count = 2
			_, err := b.History(ctx, tc.q)
			checkErrorIs(t, "History", err, storage.ErrInvalidCursor)
		})
	}
}

func testHistoryInvalidQuery(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	writeHistoryFixture(t, b)

	tests := []struct {
		name string
		q    storage.HistoryQuery
	}{
		{"zero count", storage.HistoryQuery{Count: 0}},
		{"negative count", storage.HistoryQuery{Count: -1}},
		{"id without type", storage.HistoryQuery{ID: "a", Count: 10}},
		{"at without high end", storage.HistoryQuery{AtLow: tick(1), Count: 10}},
		{"at without low end", storage.HistoryQuery{AtHigh: tick(1), Count: 10}},
		{"at ending before it starts", storage.HistoryQuery{AtLow: tick(2), AtHigh: tick(1), Count: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.History(ctx, tc.q); err == nil {
				t.Errorf("History(%+v) succeeded, want an error", tc.q)
			}
		})
	}
}
