package storagetest

import (
	"testing"

	"github.com/ward-fhir/ward/storage"
)

// linkFixture holds Organizations, Patients that belong to them, and
// Observations about the Patients or a Group.
func linkFixture() []resourceFixture {
	return []resourceFixture{
		res("Organization", "org1", str("name", "general hospital", "General Hospital")),
		res("Organization", "org2", str("name", "city clinic", "City Clinic")),
		res("Patient", "p1", str("name", "peter", "Peter"), tok("gender", genderCS, "male"), ref("organization", "Organization", "org1")),
		res("Patient", "p2", str("name", "petra", "Petra"), tok("gender", genderCS, "female"), ref("organization", "Organization", "org2")),
		res("Patient", "p3", str("name", "anna", "Anna"), tok("gender", genderCS, "female"), ref("organization", "Organization", "org1")),
		res("Group", "g1", str("name", "peter's group", "Peter's group")),
		res("Observation", "o1", ref("subject", "Patient", "p1"), tok("code", loinc, "8480-6")),
		res("Observation", "o2", ref("subject", "Patient", "p2"), tok("code", loinc, "8480-6")),
		res("Observation", "o3", ref("subject", "Patient", "p3"), tok("code", loinc, "8462-4")),
		res("Observation", "o4", ref("subject", "Group", "g1"), tok("code", loinc, "8480-6")),
		res("Observation", "o5", ref("subject", "Patient", "ghost"), tok("code", loinc, "8480-6")),
		res("Observation", "o6", ref("subject", "Patient", "p1"), ref("performer", "Organization", "org2")),
	}
}

// chain builds param:Target.filter.
func chain(param string, targets []string, filter ...storage.Clause) storage.Clause {
	return storage.Clause{Param: param, Type: storage.TypeReference, Chain: &storage.Chain{TargetTypes: targets, Filter: filter}}
}

// has builds _has:resourceType:param:filter.
func has(resourceType, param string, filter ...storage.Clause) storage.Clause {
	return storage.Clause{Param: "_has", Type: storage.TypeReference, Has: &storage.Has{Type: resourceType, Param: param, Filter: filter}}
}

func testSearchChain(t *testing.T, b searchBackend) {
	put(t, b, linkFixture()...)
	patient := []string{"Patient"}
	namePet := clause("name", storage.TypeString, textValue("pet"))

	runSearchCases(t, b, []searchCase{
		{name: "one link", q: query("Observation", chain("subject", patient, namePet)),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o6"}},
		{name: "several target types", q: query("Observation", chain("subject", []string{"Patient", "Group"}, namePet)),
			want: []string{"Observation/o1", "Observation/o2", "Observation/o4", "Observation/o6"}},
		{name: "target type of the clause narrows", q: query("Observation", storage.Clause{Param: "subject", Type: storage.TypeReference,
			TargetType: "Group", Chain: &storage.Chain{TargetTypes: []string{"Patient", "Group"}, Filter: []storage.Clause{namePet}}}),
			want: []string{"Observation/o4"}},
		{name: "two links", q: query("Observation", chain("subject", patient,
			chain("organization", []string{"Organization"}, clause("name", storage.TypeString, textValue("general"))))),
			want: []string{"Observation/o1", "Observation/o3", "Observation/o6"}},
		{name: "chain with another clause", q: query("Observation",
			chain("subject", patient, namePet),
			clause("code", storage.TypeToken, anyCode("8480-6"))),
			want: []string{"Observation/o1", "Observation/o2"}},
		{name: "two clauses in the chained filter", q: query("Observation", chain("subject", patient,
			namePet, clause("gender", storage.TypeToken, anyCode("female")))),
			want: []string{"Observation/o2"}},
		{name: "not inside a chain", q: query("Observation", chain("subject", patient,
			modified(clause("gender", storage.TypeToken, anyCode("female")), "not"))),
			want: []string{"Observation/o1", "Observation/o6"}},
		{name: "missing target does not match", q: query("Observation", chain("subject", patient,
			missing("name", storage.TypeString, true)))},
		{name: "other reference parameter", q: query("Observation", chain("performer", []string{"Organization"},
			clause("name", storage.TypeString, textValue("city")))),
			want: []string{"Observation/o6"}},
	})

	deleteResource(t, b, "Patient", "p2", tick(100))
	runSearchCases(t, b, []searchCase{
		{name: "deleted target does not match", q: query("Observation", chain("subject", patient, namePet)),
			want: []string{"Observation/o1", "Observation/o6"}},
	})
}

func testSearchHas(t *testing.T, b searchBackend) {
	put(t, b, linkFixture()...)
	code := func(c string) storage.Clause { return clause("code", storage.TypeToken, anyCode(c)) }

	runSearchCases(t, b, []searchCase{
		{name: "referred to by a match", q: query("Patient", has("Observation", "subject", code("8480-6"))),
			want: []string{"Patient/p1", "Patient/p2"}},
		{name: "other type referred to", q: query("Group", has("Observation", "subject", code("8480-6"))),
			want: []string{"Group/g1"}},
		{name: "no filter", q: query("Organization", has("Observation", "performer")),
			want: []string{"Organization/org2"}},
		{name: "with another clause", q: query("Patient",
			clause("name", storage.TypeString, textValue("pet")),
			has("Observation", "subject", code("8462-4")))},
		{name: "with another clause that matches", q: query("Patient",
			clause("gender", storage.TypeToken, anyCode("female")),
			has("Observation", "subject", code("8462-4"))),
			want: []string{"Patient/p3"}},
		{name: "nested", q: query("Organization", has("Patient", "organization", has("Observation", "subject", code("8462-4")))),
			want: []string{"Organization/org1"}},
		{name: "nested through two patients", q: query("Organization", has("Patient", "organization", has("Observation", "subject", code("8480-6")))),
			want: []string{"Organization/org1", "Organization/org2"}},
		{name: "has inside a chain", q: query("Observation", chain("subject", []string{"Patient"},
			has("Observation", "subject", code("8462-4")))),
			want: []string{"Observation/o3"}},
	})

	deleteResource(t, b, "Observation", "o2", tick(100))
	runSearchCases(t, b, []searchCase{
		{name: "deleted referrer does not count", q: query("Patient", has("Observation", "subject", code("8480-6"))),
			want: []string{"Patient/p1"}},
	})
}

func testSearchIndexReplacedOnUpdate(t *testing.T, b searchBackend) {
	put(t, b, res("Patient", "p1", str("name", "peter", "Peter"), tok("gender", genderCS, "male")))
	put(t, b, res("Patient", "p1", str("name", "paul", "Paul")))
	runSearchCases(t, b, []searchCase{
		{name: "old value gone", q: query("Patient", clause("name", storage.TypeString, textValue("pet")))},
		{name: "new value found", q: query("Patient", clause("name", storage.TypeString, textValue("pau"))), want: []string{"Patient/p1"}},
		{name: "parameter dropped", q: query("Patient", clause("gender", storage.TypeToken, anyCode("male")))},
		{name: "parameter now missing", q: query("Patient", missing("gender", storage.TypeToken, true)), want: []string{"Patient/p1"}},
	})

	put(t, b, res("Patient", "p1"))
	runSearchCases(t, b, []searchCase{
		{name: "all entries gone", q: query("Patient", clause("name", storage.TypeString, textValue("pau")))},
		{name: "still found by type", q: query("Patient"), want: []string{"Patient/p1"}},
	})
}

func testSearchDeletedNotFound(t *testing.T, b searchBackend) {
	put(t, b,
		res("Patient", "p1", str("name", "peter", "Peter")),
		res("Patient", "p2", str("name", "petra", "Petra")),
		res("Patient", "p3"),
	)
	deleteResource(t, b, "Patient", "p1", tick(10))
	deleteResource(t, b, "Patient", "p3", tick(11))

	runSearchCases(t, b, []searchCase{
		{name: "by value", q: query("Patient", clause("name", storage.TypeString, textValue("pet"))), want: []string{"Patient/p2"}},
		{name: "by type", q: query("Patient"), want: []string{"Patient/p2"}},
		{name: "by missing", q: query("Patient", missing("name", storage.TypeString, true))},
		{name: "by id", q: query("Patient", clause("_id", storage.TypeToken, anyCode("p1")))},
	})

	put(t, b, res("Patient", "p1", str("name", "pia", "Pia")))
	runSearchCases(t, b, []searchCase{
		{name: "recreated with new entries", q: query("Patient", clause("name", storage.TypeString, textValue("pi"))), want: []string{"Patient/p1"}},
		{name: "recreated without old entries", q: query("Patient", clause("name", storage.TypeString, textValue("pet"))), want: []string{"Patient/p2"}},
	})
}
