package search

import (
	"slices"
	"strconv"

	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// appendToken appends token entries, following the token table of the
// specification's search page:
//
//   - Coding: System and Code, Text the folded display.
//   - CodeableConcept: one entry per coding, and one entry with only Text
//     for CodeableConcept.text unless a coding's display folds to the same.
//   - Identifier: System and Code (the value), Text the folded type.text,
//     and TypeSystem and TypeCode from each coding of Identifier.type, one
//     entry per type coding.
//   - ContactPoint: Code is the value. The specification gives it no
//     system, so "|value" matches; the telecom parameters that care about
//     phone or email select on ContactPoint.system in their expression.
//   - boolean: Code "true" or "false".
//   - code, string, id, uri and other primitives: Code is the value as
//     written.
func appendToken(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	switch v := n.Value().(type) {
	case string:
		if v != "" {
			dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeToken, Code: v})
		}
	case bool:
		dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeToken, Code: strconv.FormatBool(v)})
	case int64:
		dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeToken, Code: strconv.FormatInt(v, 10)})
	case *fhirpath.Decimal:
		dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeToken, Code: v.String()})
	case map[string]any:
		switch n.TypeName() {
		case "Coding":
			dst = appendCoding(dst, code, v)
		case "CodeableConcept":
			dst = appendCodeableConcept(dst, code, v)
		case "Identifier":
			dst = appendIdentifier(dst, code, v)
		case "ContactPoint":
			if value := jsonString(v, "value"); value != "" {
				dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeToken, Code: value})
			}
		}
	}
	return dst
}

func appendCoding(dst []storage.IndexEntry, code string, coding map[string]any) []storage.IndexEntry {
	e := storage.IndexEntry{
		Param:  code,
		Type:   storage.TypeToken,
		System: jsonString(coding, "system"),
		Code:   jsonString(coding, "code"),
		Text:   Fold(jsonString(coding, "display")),
	}
	if e.System == "" && e.Code == "" && e.Text == "" {
		return dst
	}
	return append(dst, e)
}

func appendCodeableConcept(dst []storage.IndexEntry, code string, concept map[string]any) []storage.IndexEntry {
	start := len(dst)
	for _, coding := range jsonObjects(concept, "coding") {
		dst = appendCoding(dst, code, coding)
	}
	text := Fold(jsonString(concept, "text"))
	if text == "" {
		return dst
	}
	if slices.ContainsFunc(dst[start:], func(e storage.IndexEntry) bool { return e.Text == text }) {
		return dst
	}
	return append(dst, storage.IndexEntry{Param: code, Type: storage.TypeToken, Text: text})
}

func appendIdentifier(dst []storage.IndexEntry, code string, identifier map[string]any) []storage.IndexEntry {
	e := storage.IndexEntry{
		Param:  code,
		Type:   storage.TypeToken,
		System: jsonString(identifier, "system"),
		Code:   jsonString(identifier, "value"),
	}
	if e.System == "" && e.Code == "" {
		return dst
	}
	idType, _ := identifier["type"].(map[string]any)
	e.Text = Fold(jsonString(idType, "text"))
	codings := jsonObjects(idType, "coding")
	if len(codings) == 0 {
		return append(dst, e)
	}
	for _, c := range codings {
		typed := e
		typed.TypeSystem = jsonString(c, "system")
		typed.TypeCode = jsonString(c, "code")
		dst = append(dst, typed)
	}
	return dst
}
