package mongo

import (
	"context"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ward-fhir/ward/storage"
)

// The filters below are what the backend sends to MongoDB for the entry
// types that FerretDB v1.24.2 cannot run ($elemMatch on arrays of
// documents), so these tests pin their exact shape.

// extJSON renders a filter in relaxed extended JSON for comparison.
func extJSON(t *testing.T, doc any) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(doc, false, false)
	if err != nil {
		t.Fatalf("marshal %v: %v", doc, err)
	}
	return string(b)
}

func checkFilter(t *testing.T, label string, got any, want string) {
	t.Helper()
	if g := extJSON(t, got); g != want {
		t.Errorf("%s:\n got  %s\n want %s", label, g, want)
	}
}

func day(y int, m time.Month, d int) (time.Time, time.Time) {
	start := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 0, 1).Add(-time.Nanosecond)
}

func TestDateFilters(t *testing.T) {
	low, high := day(1974, time.December, 25)
	lo, hi := low.UnixMicro(), high.UnixMicro()
	c := &compiler{now: time.Date(2024, time.March, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		prefix string
		want   string
	}{
		{"eq", `{"dt":{"$elemMatch":{"p":"birthdate","lo":{"$gte":` + itoa(lo) + `,"$lte":` + itoa(hi) + `},"hi":{"$lte":` + itoa(hi) + `}}}}`},
		{"ne", `{"dt":{"$elemMatch":{"p":"birthdate","$or":[{"lo":{"$lt":` + itoa(lo) + `}},{"lo":{"$gt":` + itoa(hi) + `}},{"hi":{"$gt":` + itoa(hi) + `}}]}}}`},
		{"gt", `{"dt":{"$elemMatch":{"p":"birthdate","hi":{"$gt":` + itoa(hi) + `}}}}`},
		{"lt", `{"dt":{"$elemMatch":{"p":"birthdate","lo":{"$lt":` + itoa(lo) + `}}}}`},
		{"ge", `{"dt":{"$elemMatch":{"p":"birthdate","hi":{"$gte":` + itoa(lo) + `},"$or":[{"hi":{"$gt":` + itoa(hi) + `}},{"lo":{"$gte":` + itoa(lo) + `,"$lte":` + itoa(hi) + `},"hi":{"$lte":` + itoa(hi) + `}}]}}}`},
		{"sa", `{"dt":{"$elemMatch":{"p":"birthdate","lo":{"$gt":` + itoa(hi) + `}}}}`},
		{"eb", `{"dt":{"$elemMatch":{"p":"birthdate","hi":{"$lt":` + itoa(lo) + `}}}}`},
	}
	for _, tc := range tests {
		cl := storage.Clause{Param: "birthdate", Type: storage.TypeDate, Values: []storage.Value{{Prefix: tc.prefix, Low: low, High: high}}}
		got, err := c.clause(context.Background(), []string{"Patient"}, cl)
		if err != nil {
			t.Fatalf("%s: %v", tc.prefix, err)
		}
		checkFilter(t, "birthdate "+tc.prefix, got, tc.want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestOpenEndedDateStored(t *testing.T) {
	jan1 := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	f := buildSearchFields([]storage.IndexEntry{{Param: "date", Type: storage.TypeDate, Low: jan1}})
	if len(f.Dates) != 1 || f.Dates[0].Low != jan1.UnixMicro() || f.Dates[0].High != math.MaxInt64 {
		t.Errorf("dates = %+v, want [%d, MaxInt64] for a period without an end", f.Dates, jan1.UnixMicro())
	}
	sortValues := f.Sort[0].Value.([]any)
	if len(sortValues) != 2 || sortValues[0] != jan1.UnixMicro() || sortValues[1] != int64(math.MaxInt64) {
		t.Errorf("sort values = %v, want both ends of the range", sortValues)
	}
}

func TestLastUpdatedFilterRoundsToMillis(t *testing.T) {
	// A second as a search range: [08:00:01, 08:00:01.999999999].
	low := time.Date(2024, time.March, 1, 8, 0, 1, 0, time.UTC)
	high := low.Add(time.Second - time.Nanosecond)
	c := &compiler{}
	cl := storage.Clause{Param: "_lastUpdated", Type: storage.TypeDate, Values: []storage.Value{{Prefix: "eq", Low: low, High: high}}}
	got, err := c.clause(context.Background(), nil, cl)
	if err != nil {
		t.Fatal(err)
	}
	checkFilter(t, "_lastUpdated eq",
		got, `{"lastUpdated":{"$gte":{"$date":"2024-03-01T08:00:01Z"},"$lte":{"$date":"2024-03-01T08:00:01.999Z"}}}`)

	cl.Values[0].Prefix = "gt"
	got, err = c.clause(context.Background(), nil, cl)
	if err != nil {
		t.Fatal(err)
	}
	checkFilter(t, "_lastUpdated gt", got, `{"lastUpdated":{"$gt":{"$date":"2024-03-01T08:00:01.999Z"}}}`)
}

func TestNumberAndQuantityFilters(t *testing.T) {
	c := &compiler{}
	tests := []struct {
		name string
		cl   storage.Clause
		want string
	}{
		{"eq uses the precision range",
			storage.Clause{Param: "probability", Type: storage.TypeNumber, Values: []storage.Value{{Prefix: "eq", Number: 100, NumberLow: 99.5, NumberHigh: 100.5}}},
			`{"nm":{"$elemMatch":{"p":"probability","n":{"$gte":99.5,"$lt":100.5}}}}`},
		{"gt is exact",
			storage.Clause{Param: "probability", Type: storage.TypeNumber, Values: []storage.Value{{Prefix: "gt", Number: 100, NumberLow: 99.5, NumberHigh: 100.5}}},
			`{"nm":{"$elemMatch":{"p":"probability","n":{"$gt":100.0}}}}`},
		{"ne outside the range",
			storage.Clause{Param: "probability", Type: storage.TypeNumber, Values: []storage.Value{{Prefix: "ne", Number: 100, NumberLow: 99.5, NumberHigh: 100.5}}},
			`{"nm":{"$elemMatch":{"p":"probability","$or":[{"n":{"$lt":99.5}},{"n":{"$gte":100.5}}]}}}`},
		{"quantity with system and code",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "le", Number: 5.4, NumberLow: 5.35, NumberHigh: 5.45, System: "http://unitsofmeasure.org", Code: "mg"}}},
			`{"nm":{"$elemMatch":{"p":"value-quantity","n":{"$lte":5.4},"can":{"$ne":true},"s":"http://unitsofmeasure.org","c":"mg"}}}`},
		{"quantity code in any system",
			storage.Clause{Param: "value-quantity", Type: storage.TypeQuantity, Values: []storage.Value{{Prefix: "eq", Number: 7, Code: "mg", AnySystem: true}}},
			`{"nm":{"$elemMatch":{"p":"value-quantity","n":{"$eq":7.0},"can":{"$ne":true},"c":"mg"}}}`},
		{"values are OR-ed",
			storage.Clause{Param: "probability", Type: storage.TypeNumber, Values: []storage.Value{{Prefix: "lt", Number: 1}, {Prefix: "gt", Number: 9}}},
			`{"$or":[{"nm":{"$elemMatch":{"p":"probability","n":{"$lt":1.0}}}},{"nm":{"$elemMatch":{"p":"probability","n":{"$gt":9.0}}}}]}`},
		{"not wraps the match",
			storage.Clause{Param: "probability", Type: storage.TypeNumber, Modifier: "not", Values: []storage.Value{{Prefix: "lt", Number: 1}}},
			`{"$nor":[{"nm":{"$elemMatch":{"p":"probability","n":{"$lt":1.0}}}}]}`},
	}
	for _, tc := range tests {
		got, err := c.clause(context.Background(), nil, tc.cl)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkFilter(t, tc.name, got, tc.want)
	}
}

func TestCompositeStoredAndMatchedByGroup(t *testing.T) {
	const param = "component-code-value-quantity"
	entries := []storage.IndexEntry{
		{Param: param, Type: storage.TypeToken, Group: 1, Component: 0, System: "http://loinc.org", Code: "8480-6"},
		{Param: param, Type: storage.TypeQuantity, Group: 1, Component: 1, Number: 120, System: "http://unitsofmeasure.org", Code: "mm[Hg]"},
		{Param: param, Type: storage.TypeToken, Group: 2, Component: 0, System: "http://loinc.org", Code: "8462-4"},
		{Param: param, Type: storage.TypeQuantity, Group: 2, Component: 1, Number: 80, System: "http://unitsofmeasure.org", Code: "mm[Hg]"},
	}
	f := buildSearchFields(entries)
	checkFilter(t, "stored groups", bson.D{{Key: "cp", Value: f.Composites}},
		`{"cp":[{"p":"component-code-value-quantity","v0":{"s":"http://loinc.org","c":"8480-6"},"v1":{"n":120.0,"s":"http://unitsofmeasure.org","c":"mm[Hg]"}},`+
			`{"p":"component-code-value-quantity","v0":{"s":"http://loinc.org","c":"8462-4"},"v1":{"n":80.0,"s":"http://unitsofmeasure.org","c":"mm[Hg]"}}]}`)
	if !slices.Equal(f.Present, []string{param}) {
		t.Errorf("present = %q, want %q", f.Present, param)
	}

	cl := storage.Clause{Param: param, Type: storage.TypeComposite, Values: []storage.Value{{Prefix: "eq", Components: []storage.Value{
		{Type: storage.TypeToken, Prefix: "eq", System: "http://loinc.org", Code: "8480-6"},
		{Type: storage.TypeQuantity, Prefix: "gt", Number: 100, System: "http://unitsofmeasure.org", Code: "mm[Hg]"},
	}}}}
	got, err := (&compiler{}).clause(context.Background(), []string{"Observation"}, cl)
	if err != nil {
		t.Fatal(err)
	}
	checkFilter(t, "composite match", got,
		`{"cp":{"$elemMatch":{"p":"component-code-value-quantity","$and":[{"v0.c":"8480-6","v0.s":"http://loinc.org"},`+
			`{"v1.n":{"$gt":100.0},"v1.can":{"$ne":true},"v1.s":"http://unitsofmeasure.org","v1.c":"mm[Hg]"}]}}}`)
}

func TestKeysOfEntries(t *testing.T) {
	entries := []storage.IndexEntry{
		{Param: "name", Type: storage.TypeString, Text: "muller", Exact: "Müller"},
		{Param: "identifier", Type: storage.TypeToken, System: "urn:mrn", Code: "12", TypeSystem: "urn:v2", TypeCode: "MR", Text: "mrn"},
		{Param: "general-practitioner", Type: storage.TypeReference, RefType: "Practitioner", RefID: "dr1", RefVersion: "2", Exact: "Practitioner/dr1/_history/2"},
		{Param: "_id", Type: storage.TypeToken, Code: "ignored"},
		{Param: "near", Type: storage.TypeSpecial},
	}
	f := buildSearchFields(entries)
	want := []string{
		"exa\x1fname\x1fMüller",
		"oft\x1fidentifier\x1furn:v2\x1fMR\x1f12",
		"ref\x1fgeneral-practitioner\x1fdr1\x1fPractitioner",
		"rev\x1fgeneral-practitioner\x1fdr1\x1f2\x1fPractitioner",
		"str\x1fname\x1fmuller",
		"sys\x1fidentifier\x1furn:mrn",
		"tok\x1fidentifier\x1f12\x1furn:mrn",
		"txt\x1fidentifier\x1fmrn",
		"url\x1fgeneral-practitioner\x1fPractitioner/dr1/_history/2\x1f2\x1fPractitioner",
	}
	if !slices.Equal(f.Keys, want) {
		t.Errorf("keys:\n got  %q\n want %q", f.Keys, want)
	}
	if want := []string{"general-practitioner", "identifier", "name"}; !slices.Equal(f.Present, want) {
		t.Errorf("present = %q, want %q without _id and special parameters", f.Present, want)
	}
}

func TestEscapedFieldsStayApart(t *testing.T) {
	for _, s := range []string{"", "plain", "a\x1fb", "a\x1eb", "\x1e", "\x1f\x1e\x1f", "x\x1e\x1f"} {
		k := key(kindToken, "p", s, "sys")
		fields := splitFields(k)
		if len(fields) != 4 || fields[2] != s || fields[3] != "sys" {
			t.Errorf("split(key(%q)) = %q, want [tok p %q sys]", s, fields, s)
		}
	}

	// A code holding the separator must not match a search for its first
	// part by prefix.
	stored := key(kindToken, "code", "A\x1fB", "sys")
	prefix := keyPrefix(kindToken, "code", "A")
	if len(stored) >= len(prefix) && stored[:len(prefix)] == prefix {
		t.Errorf("key %q starts with the prefix %q of code A", stored, prefix)
	}
}

func TestSortKeysPutMissingLast(t *testing.T) {
	flags, order, err := sortKeys([]storage.Sort{
		{Param: "family", Type: storage.TypeString},
		{Param: "birthdate", Type: storage.TypeDate, Descending: true},
		{Param: "_id", Type: storage.TypeToken, Descending: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkFilter(t, "flags", flags, `{"_missing0":{"$type":"$srt.family"},"_missing1":{"$type":"$srt.birthdate"}}`)
	checkFilter(t, "order", order, `{"_missing0":1,"srt.family":1,"_missing1":1,"srt.birthdate":-1,"id":-1,"type":1}`)

	if _, _, err := sortKeys([]storage.Sort{{Param: "combo", Type: storage.TypeComposite}}); err == nil {
		t.Error("sort by a composite succeeded, want an error")
	}
}
