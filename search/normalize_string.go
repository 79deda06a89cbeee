package search

import (
	"maps"
	"slices"

	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// appendString appends string entries. A string-like primitive is one
// entry. A HumanName gives one entry per part (family, each given, prefix
// and suffix, text), and an Address one per part (each line, city,
// district, state, postalCode, country, text), the parts that the search
// page of the specification lists. Any other complex value gives one
// entry per string it holds, extensions excluded.
func appendString(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	add := func(s string) {
		if s != "" {
			dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeString, Text: Fold(s), Exact: s})
		}
	}

	switch v := n.Value().(type) {
	case string:
		add(v)
	case map[string]any:
		switch n.TypeName() {
		case "HumanName":
			add(jsonString(v, "family"))
			for _, s := range jsonStrings(v, "given") {
				add(s)
			}
			for _, s := range jsonStrings(v, "prefix") {
				add(s)
			}
			for _, s := range jsonStrings(v, "suffix") {
				add(s)
			}
			add(jsonString(v, "text"))
		case "Address":
			for _, s := range jsonStrings(v, "line") {
				add(s)
			}
			for _, name := range []string{"city", "district", "state", "postalCode", "country", "text"} {
				add(jsonString(v, name))
			}
		default:
			walkStrings(v, add)
		}
	}
	return dst
}

// walkStrings calls add with every string in a complex value, in member
// order, skipping extensions, ids and the resource type of contained
// resources.
func walkStrings(v any, add func(string)) {
	switch v := v.(type) {
	case string:
		add(v)
	case []any:
		for _, item := range v {
			walkStrings(item, add)
		}
	case map[string]any:
		for _, key := range sortedJSONKeys(v) {
			if key == "extension" || key == "modifierExtension" || key == "id" || key == "resourceType" || key[0] == '_' {
				continue
			}
			walkStrings(v[key], add)
		}
	}
}

func sortedJSONKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
