package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// Size of the synthetic store that BenchmarkSearch loads: one Patient per
// observationsPerPatient Observations, about 50,000 resources in all.
const (
	benchPatients          = 10_000
	observationsPerPatient = 4
	benchBatch             = 500 // writes per loading transaction
	benchCodes             = 20  // distinct Observation codes
)

var benchFamilies = []string{
	"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
	"hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
	"lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson",
	"walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores",
	"green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts",
}

func benchCode(i int) string { return fmt.Sprintf("%d-%d", 8000+i, i%10) }

// benchObservationBody is about the size of a Synthea Observation.
var benchObservationBody = []byte(`{"resourceType":"Observation","text":{"div":"` + strings.Repeat("x", 1500) + `"}}`)

// loadSearchStore writes the synthetic Patients and Observations, with the
// index entries the search package would extract for the benchmarked
// parameters, in transactions of benchBatch writes. Values come from a
// fixed seed, so every run loads the same data.
func loadSearchStore(b *testing.B, s *sqlite.Store) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2023, time.January, 1, 0, 0, 0, 0, time.UTC)
	lastUpdated := time.Date(2024, time.March, 1, 8, 0, 0, 0, time.UTC)

	var writes []storage.Write
	flush := func() {
		err := s.Transaction(ctx, func(tx storage.Tx) error {
			for _, w := range writes {
				if _, err := tx.Write(ctx, w); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("load: %v", err)
		}
		writes = writes[:0]
	}
	add := func(w storage.Write) {
		writes = append(writes, w)
		if len(writes) == benchBatch {
			flush()
		}
	}

	for p := range benchPatients {
		id := fmt.Sprintf("p%05d", p)
		family := benchFamilies[rng.IntN(len(benchFamilies))]
		born := start.AddDate(-20-rng.IntN(60), 0, rng.IntN(365))
		add(storage.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: lastUpdated, Op: storage.OpCreate, JSON: benchBody(id),
			Index: []storage.IndexEntry{
				{Param: "family", Type: storage.TypeString, Text: family, Exact: family},
				{Param: "name", Type: storage.TypeString, Text: family, Exact: family},
				{Param: "name", Type: storage.TypeString, Text: "given" + id, Exact: "Given" + id},
				{Param: "gender", Type: storage.TypeToken, System: "http://hl7.org/fhir/administrative-gender", Code: []string{"male", "female"}[p%2]},
				{Param: "identifier", Type: storage.TypeToken, System: "http://hospital.example/mrn", Code: "mrn" + id},
				{Param: "birthdate", Type: storage.TypeDate, Low: born, High: born.Add(24*time.Hour - time.Nanosecond)},
			}})

		for o := range observationsPerPatient {
			oid := fmt.Sprintf("o%05d-%d", p, o)
			effective := start.Add(time.Duration(rng.IntN(2*365*24)) * time.Hour)
			value := 40 + rng.Float64()*160
			add(storage.Write{Type: "Observation", ID: oid, VersionID: 1, LastUpdated: lastUpdated, Op: storage.OpCreate, JSON: benchObservationBody,
				Index: []storage.IndexEntry{
					{Param: "code", Type: storage.TypeToken, System: "http://loinc.org", Code: benchCode(rng.IntN(benchCodes)), Text: "blood pressure"},
					{Param: "subject", Type: storage.TypeReference, RefType: "Patient", RefID: id, Exact: "Patient/" + id},
					{Param: "patient", Type: storage.TypeReference, RefType: "Patient", RefID: id, Exact: "Patient/" + id},
					{Param: "date", Type: storage.TypeDate, Low: effective, High: effective},
					{Param: "status", Type: storage.TypeToken, System: "http://hl7.org/fhir/observation-status", Code: "final"},
					{Param: "category", Type: storage.TypeToken, System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "vital-signs"},
					{Param: "value-quantity", Type: storage.TypeQuantity, Number: value, NumberLow: value, NumberHigh: value,
						System: "http://unitsofmeasure.org", Code: "mm[Hg]"},
				}})
		}
	}
	if len(writes) > 0 {
		flush()
	}
}

// BenchmarkSearch runs the common search shapes against about 50,000
// resources. One op is one Search call that returns the first page of 20
// with its Total (or the second page, for NextPage). Shapes with more than
// one page of matches store a snapshot of all of them on each call.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir())
	defer s.Close()

	loadStart := time.Now()
	loadSearchStore(b, s)
	b.Logf("loaded %d resources in %s", benchPatients*(1+observationsPerPatient), time.Since(loadStart).Round(time.Millisecond))

	code := storage.Clause{Param: "code", Type: storage.TypeToken,
		Values: []storage.Value{{Prefix: "eq", System: "http://loinc.org", Code: benchCode(3)}}}
	subject := storage.Clause{Param: "subject", Type: storage.TypeReference,
		Values: []storage.Value{{Prefix: "eq", RefType: "Patient", RefID: "p04242"}}}
	category := storage.Clause{Param: "category", Type: storage.TypeToken,
		Values: []storage.Value{{Prefix: "eq", Code: "vital-signs", AnySystem: true}}}
	june := time.Date(2024, time.June, 1, 0, 0, 0, 0, time.UTC)
	dateGE := storage.Clause{Param: "date", Type: storage.TypeDate,
		Values: []storage.Value{{Prefix: "ge", Low: june, High: june.Add(24*time.Hour - time.Nanosecond)}}}
	dateLT := storage.Clause{Param: "date", Type: storage.TypeDate,
		Values: []storage.Value{{Prefix: "lt", Low: june.AddDate(0, 0, 7), High: june.AddDate(0, 0, 8).Add(-time.Nanosecond)}}}
	name := storage.Clause{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: "smi"}}}
	identifier := storage.Clause{Param: "identifier", Type: storage.TypeToken,
		Values: []storage.Value{{Prefix: "eq", System: "http://hospital.example/mrn", Code: "mrnp07777"}}}
	chain := storage.Clause{Param: "subject", Type: storage.TypeReference,
		Chain: &storage.Chain{TargetTypes: []string{"Patient"}, Filter: []storage.Clause{name}}}
	has := storage.Clause{Param: "_has", Has: &storage.Has{Type: "Observation", Param: "subject", Filter: []storage.Clause{code}}}
	byDateDesc := []storage.Sort{{Param: "date", Type: storage.TypeDate, Descending: true}}

	shapes := []struct {
		name string
		q    storage.Query
	}{
		{"TokenIdentifier", storage.Query{Types: []string{"Patient"}, Filter: []storage.Clause{identifier}}},
		{"ReferenceSubject", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{subject}}},
		{"SubjectAndCategory", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{subject, category}}},
		{"TokenCode", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{code}}},
		{"DateWeek", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{dateGE, dateLT}}},
		{"CodeSortedByDate", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{code}, Sort: byDateDesc}},
		{"StringPrefix", storage.Query{Types: []string{"Patient"}, Filter: []storage.Clause{name}}},
		{"ChainSubjectName", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{chain}}},
		{"HasObservationCode", storage.Query{Types: []string{"Patient"}, Filter: []storage.Clause{has}}},
	}
	for _, shape := range shapes {
		// Total costs nothing extra: a one-page search counts its page, a
		// paged one counts the rows of its snapshot.
		shape.q.Count, shape.q.Total = 20, storage.TotalAccurate
		b.Run(shape.name, func(b *testing.B) {
			var matches, total int
			for b.Loop() {
				page, err := s.Search(ctx, shape.q)
				if err != nil {
					b.Fatalf("Search: %v", err)
				}
				matches, total = len(page.Matches), page.Total
			}
			if matches == 0 {
				b.Fatalf("Search returned no matches")
			}
			b.ReportMetric(float64(matches), "matches/page")
			b.ReportMetric(float64(total), "total")
		})
	}

	b.Run("NextPage", func(b *testing.B) {
		q := storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{code}, Count: 20}
		first, err := s.Search(ctx, q)
		if err != nil || first.NextCursor == "" {
			b.Fatalf("first page: %v, NextCursor %q", err, first.NextCursor)
		}
		q.Cursor = first.NextCursor
		for b.Loop() {
			page, err := s.Search(ctx, q)
			if err != nil || len(page.Matches) != 20 {
				b.Fatalf("second page: %d matches, %v", len(page.Matches), err)
			}
		}
	})
}
