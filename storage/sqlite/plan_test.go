package sqlite

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// explainFirstPage returns the EXPLAIN QUERY PLAN lines of the first-page
// query of q, each prefixed by its depth in the plan tree.
func explainFirstPage(t *testing.T, s *Store, q storage.Query) []string {
	t.Helper()
	c := &compiler{now: time.Now()}
	from, where, order, err := s.compileMatches(c, q)
	if err != nil {
		t.Fatalf("compile %+v: %v", q, err)
	}
	query := "SELECT " + resultColumns + " FROM " + withBody(from) + " WHERE " + where + " ORDER BY " + order + " LIMIT " + c.bind(q.Count+1)
	rows, err := s.reader.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, c.args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()

	depth := map[int]int{}
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		depth[id] = depth[parent] + 1
		lines = append(lines, strings.Repeat("  ", depth[id]-1)+detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	return lines
}

// scanOfSubquery matches plan lines that scan a subquery of the compiler
// (m1, ts2, hs3), which is how a driver's matches are read. A SCAN of any
// table is a full scan.
var scanOfSubquery = regexp.MustCompile(`^SCAN (m|ts|hs)[0-9]+$`)

// TestCommonShapesUseIndexes checks with EXPLAIN QUERY PLAN that the
// common search shapes read index ranges and probe resources by rowid,
// with no full scan of resources or of an index table.
func TestCommonShapesUseIndexes(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	start := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	code := storage.Clause{Param: "code", Type: storage.TypeToken,
		Values: []storage.Value{{Prefix: "eq", System: "http://loinc.org", Code: "8480-6"}}}
	subject := storage.Clause{Param: "subject", Type: storage.TypeReference,
		Values: []storage.Value{{Prefix: "eq", RefType: "Patient", RefID: "p1"}}}
	dateRange := storage.Clause{Param: "date", Type: storage.TypeDate,
		Values: []storage.Value{{Prefix: "ge", Low: start, High: start.AddDate(0, 1, 0).Add(-time.Nanosecond)}}}
	dateBetween := storage.Clause{Param: "date", Type: storage.TypeDate,
		Values: []storage.Value{{Prefix: "eq", Low: start, High: start.AddDate(1, 0, 0).Add(-time.Nanosecond)}}}
	name := storage.Clause{Param: "name", Type: storage.TypeString, Values: []storage.Value{{Prefix: "eq", Text: "pet"}}}
	chain := storage.Clause{Param: "subject", Type: storage.TypeReference,
		Chain: &storage.Chain{TargetTypes: []string{"Patient"}, Filter: []storage.Clause{name}}}
	has := storage.Clause{Param: "_has", Has: &storage.Has{Type: "Observation", Param: "subject", Filter: []storage.Clause{code}}}

	tests := []struct {
		name      string
		q         storage.Query
		wantIndex []string // indexes the plan must use
	}{
		{"token on Observation code", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{code}},
			[]string{"idx_token_code (pid=? AND code=? AND system=?)"}},
		{"reference subject", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{subject}},
			[]string{"idx_reference_target (pid=? AND ref_id=? AND ref_type=?)"}},
		{"date range", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{dateRange}},
			[]string{"idx_date_hi (pid=? AND hi>?)"}},
		{"date within a year", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{dateBetween}},
			[]string{"idx_date_lo (pid=? AND lo>? AND lo<?)"}},
		{"string prefix on name", storage.Query{Types: []string{"Patient"}, Filter: []storage.Clause{name}},
			[]string{"idx_string_text (pid=? AND text>? AND text<?)"}},
		{"chained subject:Patient.name", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{chain}},
			[]string{"idx_string_text (pid=? AND text>? AND text<?)", "idx_reference_target (pid=? AND ref_id=? AND ref_type=?)"}},
		{"token with subject and date, sorted", storage.Query{Types: []string{"Observation"}, Filter: []storage.Clause{subject, code, dateRange},
			Sort: []storage.Sort{{Param: "date", Type: storage.TypeDate, Descending: true}}},
			[]string{"idx_reference_target (pid=? AND ref_id=? AND ref_type=?)", "USING PRIMARY KEY (rid=? AND pid=?)"}},
		{"_has", storage.Query{Types: []string{"Patient"}, Filter: []storage.Clause{has}},
			[]string{"idx_token_code (pid=? AND code=? AND system=?)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Count = 20
			lines := explainFirstPage(t, s, tc.q)
			plan := strings.Join(lines, "\n")
			for _, line := range lines {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "SCAN ") && !scanOfSubquery.MatchString(line) {
					t.Errorf("plan has a full scan %q:\n%s", line, plan)
				}
			}
			for _, index := range tc.wantIndex {
				if !strings.Contains(plan, index) {
					t.Errorf("plan does not use %s:\n%s", index, plan)
				}
			}
		})
	}
}
