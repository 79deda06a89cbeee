package definitions

import (
	"slices"
	"sync"

	"github.com/ward-fhir/ward/fhir/definitions/internal/format"
)

var loadCompartment = sync.OnceValue(func() format.PatientCompartment {
	var file format.PatientCompartment
	mustDecode(format.PatientCompartmentFile, &file)
	return file
})

// PatientCompartment returns the R4 Patient compartment: each resource type
// that can be in a patient's compartment mapped to the codes of the search
// parameters that place it there (Observation: subject, performer). Types
// that the definition lists without parameters are left out. A Patient is
// also in its own compartment by id, which this map does not state. The map
// and its slices are fresh copies.
func PatientCompartment() map[string][]string {
	src := loadCompartment()
	out := make(map[string][]string, len(src))
	for resourceType, codes := range src {
		out[resourceType] = slices.Clone(codes)
	}
	return out
}
