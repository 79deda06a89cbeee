package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// RunSearch runs the search contract suite: index entries written with
// each version, and storage.Searcher over them. open must return a new,
// empty backend on every call, and the backend must implement
// storage.Searcher; RunSearch closes it when the subtest ends. The entries
// are built by hand, so the suite checks the backend's matching rules
// without the search package's extraction.
func RunSearch(t *testing.T, open func(t *testing.T) storage.Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, b searchBackend)
	}{
		{"Token", testSearchToken},
		{"String", testSearchString},
		{"Reference", testSearchReference},
		{"Date", testSearchDate},
		{"Number", testSearchNumber},
		{"Quantity", testSearchQuantity},
		{"QuantityAsWrittenAndCanonical", testSearchQuantityAsWrittenAndCanonical},
		{"URI", testSearchURI},
		{"Composite", testSearchComposite},
		{"Missing", testSearchMissing},
		{"IDAndLastUpdated", testSearchIDAndLastUpdated},
		{"TypesAndSystemSearch", testSearchTypes},
		{"Chain", testSearchChain},
		{"Has", testSearchHas},
		{"IndexReplacedOnUpdate", testSearchIndexReplacedOnUpdate},
		{"DeletedNotFound", testSearchDeletedNotFound},
		{"Sort", testSearchSort},
		{"SortMissingLast", testSearchSortMissingLast},
		{"PagingCoversAll", testSearchPagingCoversAll},
		{"PagingBackward", testSearchPagingBackward},
		{"PagingStableUnderWrites", testSearchPagingStableUnderWrites},
		{"Total", testSearchTotal},
		{"InvalidCursor", testSearchInvalidCursor},
		{"InvalidQuery", testSearchInvalidQuery},
		{"ReadMany", testSearchReadMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			sb, ok := b.(searchBackend)
			if !ok {
				t.Fatalf("backend %T does not implement storage.Searcher", b)
			}
			tc.run(t, sb)
		})
	}
}

// searchBackend is a Backend that can search.
type searchBackend interface {
	storage.Backend
	storage.Searcher
}

// resourceFixture is one resource of a search fixture with its entries.
type resourceFixture struct {
	Type, ID string
	Index    []storage.IndexEntry
}

func res(resourceType, id string, entries ...storage.IndexEntry) resourceFixture {
	return resourceFixture{Type: resourceType, ID: id, Index: entries}
}

// put writes each fixture as the next version of its resource, one second
// apart from tick(0) in order, and stops the test on an error.
func put(t *testing.T, b storage.Backend, fixtures ...resourceFixture) {
	t.Helper()
	ctx := context.Background()
	for i, f := range fixtures {
		if _, err := writeNextVersion(ctx, b, f, tick(i)); err != nil {
			t.Fatalf("Write %s/%s: %v", f.Type, f.ID, err)
		}
	}
}

// writeNextVersion writes f as the version after the current one, at
// lastUpdated or, when that precedes the current version, at the current
// version's time.
func writeNextVersion(ctx context.Context, b storage.Backend, f resourceFixture, lastUpdated time.Time) (storage.Resource, error) {
	// A missing resource reads as the zero Resource, a deleted one as its
	// deletion.
	r, err := b.Read(ctx, f.Type, f.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrGone) {
		return storage.Resource{}, err
	}
	current := r.VersionID
	if lastUpdated.Before(r.LastUpdated) {
		lastUpdated = r.LastUpdated
	}
	op := storage.OpUpdate
	if current == 0 {
		op = storage.OpCreate
	}
	return b.Write(ctx, storage.Write{
		Type: f.Type, ID: f.ID, VersionID: current + 1, ExpectVersion: current,
		LastUpdated: lastUpdated, Op: op, JSON: body(f.Type, f.ID, current+1, lastUpdated), Index: f.Index,
	})
}

// deleteResource writes a deletion of Type/id after its current version.
func deleteResource(t *testing.T, b storage.Backend, resourceType, id string, lastUpdated time.Time) {
	t.Helper()
	ctx := context.Background()
	r, err := b.Read(ctx, resourceType, id)
	if err != nil {
		t.Fatalf("Read %s/%s before deleting: %v", resourceType, id, err)
	}
	_, err = b.Write(ctx, storage.Write{Type: resourceType, ID: id, VersionID: r.VersionID + 1, ExpectVersion: r.VersionID,
		LastUpdated: lastUpdated, Op: storage.OpDelete})
	if err != nil {
		t.Fatalf("Delete %s/%s: %v", resourceType, id, err)
	}
}

// Entry builders. Text arguments of str and tokText are given already
// folded, as the search package would fold them.

func str(param, folded, exact string) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeString, Text: folded, Exact: exact}
}

func tok(param, system, code string) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeToken, System: system, Code: code}
}

func tokText(param, system, code, folded string) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeToken, System: system, Code: code, Text: folded}
}

func ref(param, resourceType, id string) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeReference, RefType: resourceType, RefID: id, Exact: resourceType + "/" + id}
}

func dateRange(param string, low, high time.Time) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeDate, Low: low, High: high}
}

func num(param string, value float64) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeNumber, Number: value, NumberLow: value, NumberHigh: value}
}

func qty(param string, value float64, system, code string) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeQuantity, Number: value, NumberLow: value, NumberHigh: value, System: system, Code: code}
}

func uri(param, value string) storage.IndexEntry {
	return storage.IndexEntry{Param: param, Type: storage.TypeURI, Exact: value}
}

// canonicalQty is a quantity entry in canonical UCUM units, the second
// entry that the search package writes beside one as written.
func canonicalQty(param string, value float64, system, code string) storage.IndexEntry {
	e := qty(param, value, system, code)
	e.Canonical = true
	return e
}

// component marks e as component i of group g of a composite parameter.
func component(param string, group, i int, e storage.IndexEntry) storage.IndexEntry {
	e.Param, e.Group, e.Component = param, group, i
	return e
}

// Date helpers: the closed UTC range a value covers at its precision.

func year(y int) (time.Time, time.Time) {
	start := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(1, 0, 0).Add(-time.Nanosecond)
}

func month(y int, m time.Month) (time.Time, time.Time) {
	start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0).Add(-time.Nanosecond)
}

func day(y int, m time.Month, d int) (time.Time, time.Time) {
	start := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 0, 1).Add(-time.Nanosecond)
}

func second(y int, m time.Month, d, hh, mm, ss int) (time.Time, time.Time) {
	start := time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
	return start, start.Add(time.Second - time.Nanosecond)
}

// Clause builders.

func clause(param string, t storage.ParamType, values ...storage.Value) storage.Clause {
	return storage.Clause{Param: param, Type: t, Values: values}
}

func modified(c storage.Clause, modifier string) storage.Clause {
	c.Modifier = modifier
	return c
}

func codeValue(system, code string) storage.Value {
	return storage.Value{Prefix: "eq", System: system, Code: code}
}

func anyCode(code string) storage.Value {
	return storage.Value{Prefix: "eq", Code: code, AnySystem: true}
}

func textValue(text string) storage.Value {
	return storage.Value{Prefix: "eq", Text: text}
}

func refValue(resourceType, id string) storage.Value {
	return storage.Value{Prefix: "eq", RefType: resourceType, RefID: id}
}

func dateValue(prefix string, low, high time.Time) storage.Value {
	return storage.Value{Prefix: prefix, Low: low, High: high}
}

// numberValue gives a search number with the half-width its precision
// implies: numberValue("eq", 100, 0.5) is "100".
func numberValue(prefix string, value, half float64) storage.Value {
	return storage.Value{Prefix: prefix, Number: value, NumberLow: value - half, NumberHigh: value + half}
}

func missing(param string, t storage.ParamType, isMissing bool) storage.Clause {
	return storage.Clause{Param: param, Type: t, Missing: &isMissing}
}

// searchCase is one query with the exact matches it must return.
type searchCase struct {
	name string
	q    storage.Query
	want []string // "Type/id"; in order when ordered is set
	// ordered compares want in order; otherwise as a set.
	ordered bool
}

// runSearchCases runs each case and compares all its matches, over every
// page, with want.
func runSearchCases(t *testing.T, b searchBackend, cases []searchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := searchAll(t, b, tc.q)
			want := slices.Clone(tc.want)
			if !tc.ordered {
				slices.Sort(got)
				slices.Sort(want)
			}
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("matches:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// maxPages bounds searchAll, so a backend whose cursors loop fails the
// test instead of hanging it.
const maxPages = 1000

// searchAll follows NextCursor from the first page to the last and returns
// every match as "Type/id", in page order. A query without a Count gets 100.
func searchAll(t *testing.T, b searchBackend, q storage.Query) []string {
	t.Helper()
	if q.Count == 0 {
		q.Count = 100
	}
	got := []string{}
	for range maxPages {
		page := search(t, b, q)
		got = append(got, refs(page.Matches)...)
		if page.NextCursor == "" {
			return got
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("search %+v: still more pages after %d", q, maxPages)
	return nil
}

// search runs one Search call and stops the test on an error.
func search(t *testing.T, b searchBackend, q storage.Query) storage.SearchPage {
	t.Helper()
	page, err := b.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%s): %v", describeQuery(q), err)
	}
	return page
}

// refs returns "Type/id" of each resource.
func refs(rs []storage.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Type+"/"+r.ID)
	}
	return out
}

func describeQuery(q storage.Query) string {
	return fmt.Sprintf("types=%v filter=%+v sort=%+v count=%d cursor=%q", q.Types, q.Filter, q.Sort, q.Count, q.Cursor)
}

// query builds a type search over one type.
func query(resourceType string, filter ...storage.Clause) storage.Query {
	return storage.Query{Types: []string{resourceType}, Filter: filter}
}
