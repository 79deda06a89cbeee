package search

import (
	"slices"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// lookupCommon finds a parameter that every resource type has: one defined
// on Resource. A system search without _type may use only these.
func lookupCommon(code string) (Param, bool) {
	p, ok := LookupParam(definitions.ResourceTypes()[0], code)
	if !ok || !slices.Contains(p.Base, "Resource") {
		return Param{}, false
	}
	return p, true
}

// skippedReason says why code is not searchable on any of types, or
// returns "" when it is simply unknown there.
func skippedReason(types []string, code string) string {
	for _, t := range append(slices.Clone(types), definitions.ResourceTypes()[0]) {
		if reason, ok := Skipped(t, code); ok {
			return reason
		}
	}
	return ""
}
