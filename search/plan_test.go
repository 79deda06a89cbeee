package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ward-fhir/ward/storage"
)

// recordingStore is a storage.Searcher that returns prepared matches for
// the first search and records every query it receives.
type recordingStore struct {
	first   []storage.Resource
	queries []storage.Query
	// refersTo answers searches after the first: the ids whose reference
	// parameter the query names match.
	refersTo map[string][]string
}

func (s *recordingStore) Search(_ context.Context, q storage.Query) (storage.SearchPage, error) {
	s.queries = append(s.queries, q)
	if len(s.queries) == 1 && s.first != nil {
		return storage.SearchPage{Matches: s.first, Total: -1}, nil
	}
	var matches []storage.Resource
	for _, id := range s.refersTo[q.Filter[0].Param] {
		matches = append(matches, storage.Resource{Type: q.Types[0], ID: id, JSON: []byte(`{"resourceType":"` + q.Types[0] + `","id":"` + id + `"}`)})
	}
	return storage.SearchPage{Matches: matches[:min(len(matches), q.Count)], Total: -1}, nil
}

func (s *recordingStore) ReadMany(context.Context, []storage.Ref) ([]storage.Resource, error) {
	return nil, nil
}

func patients(n int) []storage.Resource {
	out := make([]storage.Resource, n)
	for i := range out {
		id := fmt.Sprintf("p%d", i)
		out[i] = storage.Resource{Type: "Patient", ID: id, JSON: []byte(`{"resourceType":"Patient","id":"` + id + `"}`)}
	}
	return out
}

func TestRunnerRevIncludeBatches(t *testing.T) {
	store := &recordingStore{first: patients(1200)}
	runner := &Runner{Store: store}
	plan := mustParse(t, []string{"Patient"}, "_revinclude=Observation:subject", testOptions)

	if _, err := runner.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, q := range store.queries[1:] {
		sizes = append(sizes, len(q.Filter[0].Values))
	}
	if !slices.Equal(sizes, []int{500, 500, 200}) {
		t.Errorf("revinclude searches named %v page resources, want batches of 500, 500 and 200", sizes)
	}
}

func TestRunnerCompartmentOneParameter(t *testing.T) {
	store := &recordingStore{refersTo: map[string][]string{"subject": {"o1"}}}
	runner := &Runner{Store: store}
	plan := mustParse(t, []string{"Observation"}, "code=1234", testOptions)
	plan.Compartment = &Compartment{Type: "Patient", ID: "123"}

	if _, err := runner.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	last := store.queries[len(store.queries)-1]
	if len(last.Filter) != 2 || last.Filter[0].Param != "subject" || last.Filter[0].Values[0].RefID != "123" {
		t.Errorf("final query filter = %+v, want subject=Patient/123 and then code", last.Filter)
	}
}

func TestRunnerCompartmentSeveralParameters(t *testing.T) {
	store := &recordingStore{refersTo: map[string][]string{"subject": {"o1", "o2"}, "performer": {"o2", "o3"}}}
	runner := &Runner{Store: store}
	plan := mustParse(t, []string{"Observation"}, "", testOptions)
	plan.Compartment = &Compartment{Type: "Patient", ID: "123"}

	if _, err := runner.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	last := store.queries[len(store.queries)-1]
	var ids []string
	for _, v := range last.Filter[0].Values {
		ids = append(ids, v.Code)
	}
	if last.Filter[0].Param != "_id" || !slices.Equal(ids, []string{"o1", "o2", "o3"}) {
		t.Errorf("final query filter = %+v, want _id=o1,o2,o3", last.Filter)
	}

	runner.MaxCompartment = 2
	if _, err := runner.Run(context.Background(), plan); !errors.Is(err, storage.ErrTooCostly) {
		t.Errorf("a compartment over MaxCompartment members: error %v, want ErrTooCostly", err)
	}
}
