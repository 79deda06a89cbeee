package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ward-fhir/ward/storage"
)

// sortFixture holds Patients with family names and birth years, some
// missing, one with two family names.
func sortFixture() []resourceFixture {
	born := func(y int) storage.IndexEntry {
		low, high := year(y)
		return dateRange("birthdate", low, high)
	}
	return []resourceFixture{
		res("Patient", "s1", str("family", "baker", "Baker"), born(1980)),
		res("Patient", "s2", str("family", "adams", "Adams"), born(1990)),
		res("Patient", "s3", str("family", "clark", "Clark"), born(1970)),
		res("Patient", "s4", str("family", "adams", "Adams"), born(1985)),
		res("Patient", "s5", born(1975)),
		res("Patient", "s6", str("family", "baker", "Baker"), str("family", "zed", "Zed")),
	}
}

func sortBy(param string, t storage.ParamType, descending bool) storage.Sort {
	return storage.Sort{Param: param, Type: t, Descending: descending}
}

func sorted(resourceType string, sorts ...storage.Sort) storage.Query {
	return storage.Query{Types: []string{resourceType}, Sort: sorts}
}

func testSearchSort(t *testing.T, b searchBackend) {
	put(t, b, sortFixture()...)
	family := func(desc bool) storage.Sort { return sortBy("family", storage.TypeString, desc) }
	birthdate := func(desc bool) storage.Sort { return sortBy("birthdate", storage.TypeDate, desc) }

	runSearchCases(t, b, []searchCase{
		{name: "no sort orders by id", q: sorted("Patient"), ordered: true,
			want: []string{"Patient/s1", "Patient/s2", "Patient/s3", "Patient/s4", "Patient/s5", "Patient/s6"}},
		{name: "string ascending, ties by id", q: sorted("Patient", family(false)), ordered: true,
			want: []string{"Patient/s2", "Patient/s4", "Patient/s1", "Patient/s6", "Patient/s3", "Patient/s5"}},
		{name: "string descending uses the highest value", q: sorted("Patient", family(true)), ordered: true,
			want: []string{"Patient/s6", "Patient/s3", "Patient/s1", "Patient/s2", "Patient/s4", "Patient/s5"}},
		{name: "date descending", q: sorted("Patient", birthdate(true)), ordered: true,
			want: []string{"Patient/s2", "Patient/s4", "Patient/s1", "Patient/s5", "Patient/s3", "Patient/s6"}},
		{name: "two keys", q: sorted("Patient", family(false), birthdate(false)), ordered: true,
			want: []string{"Patient/s4", "Patient/s2", "Patient/s1", "Patient/s6", "Patient/s3", "Patient/s5"}},
		{name: "two keys, second descending", q: sorted("Patient", family(false), birthdate(true)), ordered: true,
			want: []string{"Patient/s2", "Patient/s4", "Patient/s1", "Patient/s6", "Patient/s3", "Patient/s5"}},
		{name: "id descending", q: sorted("Patient", sortBy("_id", storage.TypeToken, true)), ordered: true,
			want: []string{"Patient/s6", "Patient/s5", "Patient/s4", "Patient/s3", "Patient/s2", "Patient/s1"}},
		{name: "lastUpdated descending", q: sorted("Patient", sortBy("_lastUpdated", storage.TypeDate, true)), ordered: true,
			want: []string{"Patient/s6", "Patient/s5", "Patient/s4", "Patient/s3", "Patient/s2", "Patient/s1"}},
		{name: "sort with a filter", q: storage.Query{Types: []string{"Patient"},
			Filter: []storage.Clause{clause("family", storage.TypeString, textValue("a"), textValue("b"))},
			Sort:   []storage.Sort{birthdate(false)}}, ordered: true,
			want: []string{"Patient/s1", "Patient/s4", "Patient/s2", "Patient/s6"}},
		{name: "sort over pages", q: storage.Query{Types: []string{"Patient"}, Sort: []storage.Sort{family(true)}, Count: 4}, ordered: true,
			want: []string{"Patient/s6", "Patient/s3", "Patient/s1", "Patient/s2", "Patient/s4", "Patient/s5"}},
	})
}

func testSearchSortMissingLast(t *testing.T, b searchBackend) {
	put(t, b,
		res("Patient", "a"),
		res("Patient", "b", num("weight", 2)),
		res("Patient", "c"),
		res("Patient", "d", num("weight", 1)),
		res("Patient", "e", tok("weight-code", "", "x")),
	)
	weight := func(desc bool) storage.Query {
		return sorted("Patient", sortBy("weight", storage.TypeNumber, desc))
	}
	runSearchCases(t, b, []searchCase{
		{name: "ascending", q: weight(false), ordered: true,
			want: []string{"Patient/d", "Patient/b", "Patient/a", "Patient/c", "Patient/e"}},
		{name: "descending", q: weight(true), ordered: true,
			want: []string{"Patient/b", "Patient/d", "Patient/a", "Patient/c", "Patient/e"}},
		{name: "over pages of one", q: storage.Query{Types: []string{"Patient"}, Sort: []storage.Sort{sortBy("weight", storage.TypeNumber, true)}, Count: 1},
			ordered: true, want: []string{"Patient/b", "Patient/d", "Patient/a", "Patient/c", "Patient/e"}},
	})
}

// pagingPatients writes n Patients named "pat" with ids p000, p001, ...
// and returns their refs in id order.
func pagingPatients(t *testing.T, b storage.Backend, n int) []string {
	t.Helper()
	var fixtures []resourceFixture
	var want []string
	for i := range n {
		id := fmt.Sprintf("p%03d", i)
		fixtures = append(fixtures, res("Patient", id, str("name", "pat", "Pat")))
		want = append(want, "Patient/"+id)
	}
	put(t, b, fixtures...)
	return want
}

func patQuery(count int) storage.Query {
	q := query("Patient", clause("name", storage.TypeString, textValue("pat")))
	q.Count = count
	return q
}

func testSearchPagingCoversAll(t *testing.T, b searchBackend) {
	want := pagingPatients(t, b, 25)

	for _, count := range []int{1, 7, 24, 25, 26} {
		t.Run(fmt.Sprintf("count %d", count), func(t *testing.T) {
			q := patQuery(count)
			var got []string
			pages := 0
			for range maxPages {
				page := search(t, b, q)
				pages++
				if len(page.Matches) > count {
					t.Errorf("page %d has %d matches, more than count %d", pages, len(page.Matches), count)
				}
				if pages == 1 && page.PrevCursor != "" {
					t.Errorf("first page has a PrevCursor")
				}
				got = append(got, refs(page.Matches)...)
				if page.NextCursor == "" {
					break
				}
				q.Cursor = page.NextCursor
			}
			checkKeys(t, "matches over all pages", got, want)
			if wantPages := (len(want) + count - 1) / count; pages != wantPages {
				t.Errorf("pages = %d, want %d", pages, wantPages)
			}
		})
	}

	t.Run("count changes between pages", func(t *testing.T) {
		q := patQuery(10)
		page := search(t, b, q)
		got := refs(page.Matches)
		for _, count := range []int{3, 100} {
			q.Count, q.Cursor = count, page.NextCursor
			page = search(t, b, q)
			got = append(got, refs(page.Matches)...)
		}
		checkKeys(t, "matches", got, want)
		if page.NextCursor != "" {
			t.Errorf("last page has a NextCursor")
		}
	})
}

func testSearchPagingBackward(t *testing.T, b searchBackend) {
	want := pagingPatients(t, b, 20)
	q := patQuery(6)

	var forward [][]string
	var last storage.SearchPage
	for range maxPages {
		last = search(t, b, q)
		forward = append(forward, refs(last.Matches))
		if last.NextCursor == "" {
			break
		}
		q.Cursor = last.NextCursor
	}
	if len(forward) != 4 {
		t.Fatalf("forward paging gave %d pages, want 4", len(forward))
	}

	var backward [][]string
	page := last
	for page.PrevCursor != "" && len(backward) < maxPages {
		q.Cursor = page.PrevCursor
		page = search(t, b, q)
		backward = append([][]string{refs(page.Matches)}, backward...)
	}
	backward = append(backward, forward[len(forward)-1])
	if !slices.EqualFunc(forward, backward, slices.Equal) {
		t.Errorf("pages going back differ from pages going forward:\n forward  %q\n backward %q", forward, backward)
	}
	if got := slices.Concat(backward...); !slices.Equal(got, want) {
		t.Errorf("matches going back:\n got  %q\n want %q", got, want)
	}
}

// Bounds of the concurrent writer in testSearchPagingStableUnderWrites.
const concurrentPagingWrites = 40

func testSearchPagingStableUnderWrites(t *testing.T, b searchBackend) {
	ctx := context.Background()
	want := pagingPatients(t, b, 20)
	q := patQuery(5)
	q.Sort = []storage.Sort{sortBy("name", storage.TypeString, false)}

	first := search(t, b, q)
	got := refs(first.Matches)

	// Between pages: new matches that would sort first, a match that stops
	// matching, and a deletion.
	put(t, b,
		res("Patient", "a000", str("name", "pat", "Pat")),
		res("Patient", "p010", str("name", "zed", "Zed")),
	)
	deleteResource(t, b, "Patient", "p015", tick(1000))

	// Meanwhile another client keeps writing matches.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range concurrentPagingWrites {
			f := res("Patient", fmt.Sprintf("c%03d", i), str("name", "pat", "Pat"))
			if _, err := writeNextVersion(ctx, b, f, tick(2000+i)); err != nil {
				t.Errorf("concurrent Write %s: %v", f.ID, err)
				return
			}
		}
	})

	q.Cursor = first.NextCursor
	for q.Cursor != "" {
		page := search(t, b, q)
		got = append(got, refs(page.Matches)...)
		q.Cursor = page.NextCursor
	}
	wg.Wait()

	// The deleted resource is left out; the one that stopped matching
	// stays, because the first page fixed the set.
	want = slices.DeleteFunc(want, func(r string) bool { return r == "Patient/p015" })
	checkKeys(t, "matches over all pages", got, want)

	fresh := searchAll(t, b, patQuery(100))
	if !slices.Contains(fresh, "Patient/a000") || slices.Contains(fresh, "Patient/p010") {
		t.Errorf("a new search does not see the writes made while paging: %q", fresh)
	}
	if len(fresh) != 20-2+1+concurrentPagingWrites {
		t.Errorf("a new search has %d matches, want %d", len(fresh), 20-2+1+concurrentPagingWrites)
	}
}

func testSearchTotal(t *testing.T, b searchBackend) {
	pagingPatients(t, b, 12)
	put(t, b, res("Patient", "other", str("name", "zed", "Zed")))

	tests := []struct {
		name  string
		total storage.TotalMode
		count int
		want  int
	}{
		{"none on one page", storage.TotalNone, 20, -1},
		{"default is none", "", 5, -1},
		{"accurate on one page", storage.TotalAccurate, 20, 12},
		{"accurate over pages", storage.TotalAccurate, 5, 12},
		{"estimate over pages", storage.TotalEstimate, 5, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := patQuery(tc.count)
			q.Total = tc.total
			page := search(t, b, q)
			if page.Total != tc.want {
				t.Errorf("first page Total = %d, want %d", page.Total, tc.want)
			}
			for page.NextCursor != "" {
				q.Cursor = page.NextCursor
				page = search(t, b, q)
				if page.Total != tc.want {
					t.Errorf("later page Total = %d, want %d", page.Total, tc.want)
				}
			}
		})
	}

	t.Run("no matches", func(t *testing.T) {
		q := query("Patient", clause("name", storage.TypeString, textValue("nobody")))
		q.Count, q.Total = 10, storage.TotalAccurate
		page := search(t, b, q)
		if page.Total != 0 || len(page.Matches) != 0 || page.NextCursor != "" {
			t.Errorf("page = %d matches, Total %d, NextCursor %q; want none, 0 and empty", len(page.Matches), page.Total, page.NextCursor)
		}
	})
}

func testSearchInvalidCursor(t *testing.T, b searchBackend) {
	pagingPatients(t, b, 10)
	first := search(t, b, patQuery(3))
	if first.NextCursor == "" {
		t.Fatal("first page of 10 matches by 3 has no NextCursor")
	}
	mustWrite(t, b, version{"Encounter", "e1", 1, tick(0), storage.OpCreate})
	historyPage := history(t, b, storage.HistoryQuery{Count: 1})

	other := query("Patient", clause("name", storage.TypeString, textValue("pa")))
	other.Count = 3
	otherSort := patQuery(3)
	otherSort.Sort = []storage.Sort{sortBy("_id", storage.TypeToken, true)}
	otherType := patQuery(3)
	otherType.Types = []string{"Practitioner"}

	tests := []struct {
		name string
		q    storage.Query
	}{
		{"garbage", withCursor(patQuery(3), "not a cursor!")},
		{"truncated", withCursor(patQuery(3), first.NextCursor[:len(first.NextCursor)/2])},
		{"history cursor", withCursor(patQuery(3), historyPage.NextCursor)},
		{"another filter", withCursor(other, first.NextCursor)},
		{"another sort", withCursor(otherSort, first.NextCursor)},
		{"another type", withCursor(otherType, first.NextCursor)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Search(context.Background(), tc.q)
			checkErrorIs(t, "Search", err, storage.ErrInvalidCursor)
		})
	}

	t.Run("another count is fine", func(t *testing.T) {
		q := withCursor(patQuery(4), first.NextCursor)
		page := search(t, b, q)
		if len(page.Matches) != 4 {
			t.Errorf("page has %d matches, want 4", len(page.Matches))
		}
	})
}

func withCursor(q storage.Query, cursor string) storage.Query {
	q.Cursor = cursor
	return q
}

func testSearchInvalidQuery(t *testing.T, b searchBackend) {
	tests := []struct {
		name string
		q    storage.Query
	}{
		{"zero count", storage.Query{Types: []string{"Patient"}}},
		{"negative count", storage.Query{Types: []string{"Patient"}, Count: -1}},
		{"clause without a condition", storage.Query{Types: []string{"Patient"}, Count: 10,
			Filter: []storage.Clause{{Param: "name", Type: storage.TypeString}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.Search(context.Background(), tc.q); err == nil {
				t.Errorf("Search(%s) succeeded, want an error", describeQuery(tc.q))
			}
		})
	}
}

func testSearchReadMany(t *testing.T, b searchBackend) {
	ctx := context.Background()
	put(t, b,
		res("Patient", "p1"),
		res("Patient", "p2"),
		res("Observation", "p1"),
		res("Patient", "gone"),
	)
	put(t, b, res("Patient", "p2")) // version 2, at tick(1) like version 1
	deleteResource(t, b, "Patient", "gone", tick(10))

	got, err := b.ReadMany(ctx, []storage.Ref{
		{Type: "Patient", ID: "p2"},
		{Type: "Patient", ID: "gone"},
		{Type: "Patient", ID: "never"},
		{Type: "Observation", ID: "p1"},
		{Type: "Patient", ID: "p1"},
	})
	if err != nil {
		t.Fatalf("ReadMany: %v", err)
	}
	slices.SortFunc(got, func(a, b storage.Resource) int {
		return strings.Compare(a.Type+"/"+a.ID, b.Type+"/"+b.ID)
	})
	want := []version{
		{"Observation", "p1", 1, tick(2), storage.OpCreate},
		{"Patient", "p1", 1, tick(0), storage.OpCreate},
		{"Patient", "p2", 2, tick(1), storage.OpUpdate},
	}
	if len(got) != len(want) {
		t.Fatalf("ReadMany returned %q, want %d resources", refs(got), len(want))
	}
	for i, v := range want {
		checkResource(t, "ReadMany "+v.key(), got[i], v.resource())
	}

	none, err := b.ReadMany(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("ReadMany(nil) = %d resources, %v; want none and no error", len(none), err)
	}

	var many []storage.Ref
	for i := range 1000 {
		many = append(many, storage.Ref{Type: "Patient", ID: fmt.Sprintf("x%d", i)})
	}
	many = append(many, storage.Ref{Type: "Patient", ID: "p1"})
	got, err = b.ReadMany(ctx, many)
	if err != nil {
		t.Fatalf("ReadMany of 1001 refs: %v", err)
	}
	if len(got) != 1 || got[0].ID != "p1" {
		t.Errorf("ReadMany of 1001 refs returned %q, want Patient/p1", refs(got))
	}
}
