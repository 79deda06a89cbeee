package search

import (
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// appendReference appends reference entries:
//
//   - Reference: a relative reference ("Patient/1"), a versioned one
//     ("Patient/1/_history/2") or an absolute URL under the server's base
//     sets RefType, RefID and RefVersion; Exact is the reference as
//     written. Another absolute URL or a URN sets only Exact. A reference
//     to a contained resource ("#x") names no stored resource and adds no
//     target. Reference.identifier sets System and Code, in the same entry.
//   - canonical, uri and url values: Exact is the URL without its
//     "|version" and RefVersion the version. A canonical under the
//     server's base also sets RefType and RefID, so it chains.
//   - a resource (Bundle.entry.resource for the composition and message
//     parameters of Bundle): RefType and RefID are its type and id.
func (ix *Indexer) appendReference(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	switch v := n.Value().(type) {
	case string:
		return ix.appendCanonical(dst, code, v)
	case map[string]any:
		if resourceType := jsonString(v, "resourceType"); resourceType != "" {
			id := jsonString(v, "id")
			if id == "" {
				return dst
			}
			return append(dst, storage.IndexEntry{Param: code, Type: storage.TypeReference, RefType: resourceType, RefID: id})
		}
		return ix.appendReferenceElement(dst, code, v)
	}
	return dst
}

func (ix *Indexer) appendReferenceElement(dst []storage.IndexEntry, code string, ref map[string]any) []storage.IndexEntry {
	e := storage.IndexEntry{Param: code, Type: storage.TypeReference}
	if s := jsonString(ref, "reference"); s != "" && !strings.HasPrefix(s, "#") {
		e.Exact = s
		e.RefType, e.RefID, e.RefVersion, _ = ix.localReference(s)
	}
	if identifier, ok := ref["identifier"].(map[string]any); ok {
		e.System = jsonString(identifier, "system")
		e.Code = jsonString(identifier, "value")
	}
	if e.Exact == "" && e.System == "" && e.Code == "" {
		return dst
	}
	return append(dst, e)
}

func (ix *Indexer) appendCanonical(dst []storage.IndexEntry, code string, s string) []storage.IndexEntry {
	if s == "" || strings.HasPrefix(s, "#") {
		return dst
	}
	url, version, _ := strings.Cut(s, "|")
	e := storage.IndexEntry{Param: code, Type: storage.TypeReference, Exact: url, RefVersion: version}
	if resourceType, id, _, ok := ix.localReference(url); ok {
		e.RefType, e.RefID = resourceType, id
	}
	return append(dst, e)
}

// localReference splits a reference to a resource on this server into
// type, id and version: "Patient/1", "Patient/1/_history/2", or either of
// them as an absolute URL under the base URL. ok is false for anything
// else, such as a URL on another server, a URN or a search URL.
func (ix *Indexer) localReference(ref string) (resourceType, id, version string, ok bool) {
	if strings.Contains(ref, ":") {
		if ix.base == "" || !strings.HasPrefix(ref, ix.base+"/") {
			return "", "", "", false
		}
		ref = ref[len(ix.base)+1:]
	}

	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 2:
	case len(parts) == 4 && parts[2] == "_history" && validReferenceID(parts[3]):
		version = parts[3]
	default:
		return "", "", "", false
	}
	if !definitions.IsResourceType(parts[0]) || !validReferenceID(parts[1]) {
		return "", "", "", false
	}
	return parts[0], parts[1], version, true
}

// validReferenceID reports whether s has the form of a FHIR id: 1 to 64
// letters, digits, '-' and '.'.
func validReferenceID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// appendURI appends a uri entry whose Exact is the URI as written.
func appendURI(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	if s, ok := n.Value().(string); ok && s != "" {
		dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeURI, Exact: s})
	}
	return dst
}
