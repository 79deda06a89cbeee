package fhir

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// FHIR JSON keeps a primitive array and its "_" array of ids and extensions
// aligned with null: "given": ["Jo", null] with "_given": [null, {"id": "x"}].
// jsonformat rejects every such null, so jsonformatInput returns a copy of
// the body for it with each paired null filled in. A null in the "_" array
// becomes an empty object, and a null in the value array a valid value of
// the element's type. Ward's own checks still see the original, and reject
// a null without a partner.
//
// The copy also lacks every "_div" key: jsonformat (google/fhir go v0.7.4)
// fails with an internal error on one, because its Xhtml proto has no
// extension field, and Ward's own checks reject the key.
func jsonformatInput(body []byte, object map[string]any) []byte {
	hasNull := bytes.Contains(body, []byte("null"))
	// A key can be written with escapes, as in "_\u0064iv".
	hasDiv := bytes.Contains(body, []byte(`"_div"`)) || bytes.Contains(body, []byte(`\u`))
	if !hasNull && !hasDiv {
		return body
	}

	filled := deepCopy(object).(map[string]any)
	root, _ := filled["resourceType"].(string)
	changed := false
	if hasNull {
		changed = fillPlaceholders(filled, filled, root)
	}
	if hasDiv {
		changed = deleteKey(filled, "_div") || changed
	}
	if !changed {
		return body
	}
	out, err := Marshal(filled)
	if err != nil {
		return body
	}
	return out
}

// deleteKey removes key from value and every object under it, and reports
// whether it removed any.
func deleteKey(value any, key string) bool {
	deleted := false
	switch v := value.(type) {
	case map[string]any:
		if _, ok := v[key]; ok {
			delete(v, key)
			deleted = true
		}
		for _, item := range v {
			deleted = deleteKey(item, key) || deleted
		}
	case []any:
		for _, item := range v {
			deleted = deleteKey(item, key) || deleted
		}
	}
	return deleted
}

// fillPlaceholders replaces paired nulls in object, whose JSON-key path is
// path, and in everything under it. It reports whether it replaced any.
func fillPlaceholders(root, object map[string]any, path string) bool {
	changed := false
	for key, value := range object {
		childPath := joinJSONPath(path, key)
		switch v := value.(type) {
		case map[string]any:
			if resourceType, ok := v["resourceType"].(string); ok && definitions.IsResourceType(resourceType) {
				childPath += "." + resourceType
			}
			changed = fillPlaceholders(root, v, childPath) || changed
		case []any:
			if !strings.HasPrefix(key, "_") {
				if companion, ok := object["_"+key].([]any); ok {
					changed = fillPair(root, v, companion, childPath) || changed
				}
			}
			for i, item := range v {
				if m, ok := item.(map[string]any); ok {
					itemPath := childPath + "[" + strconv.Itoa(i) + "]"
					if resourceType, ok := m["resourceType"].(string); ok && definitions.IsResourceType(resourceType) {
						itemPath += "." + resourceType
					}
					changed = fillPlaceholders(root, m, itemPath) || changed
				}
			}
		}
	}
	return changed
}

func fillPair(root map[string]any, values, companion []any, path string) bool {
	changed := false
	for i := range min(len(values), len(companion)) {
		switch {
		case values[i] == nil && companion[i] != nil:
			placeholder, ok := placeholderValue(locate(root, path).message)
			if !ok {
				continue
			}
			values[i] = placeholder
			changed = true
		case companion[i] == nil && values[i] != nil:
			companion[i] = map[string]any{}
			changed = true
		}
	}
	return changed
}

// placeholderValue returns a valid JSON value of the primitive type message.
func placeholderValue(message protoreflect.MessageDescriptor) (any, bool) {
	if message == nil {
		return nil, false
	}
	if valueSetURL(message) != "" {
		return firstEnumCode(message)
	}
	switch primitiveTypeName(message) {
	case "boolean":
		return true, true
	case "integer", "unsignedInt", "positiveInt", "decimal":
		return json.Number("1"), true
	case "date", "dateTime":
		return "2000-01-01", true
	case "instant":
		return "2000-01-01T00:00:00Z", true
	case "time":
		return "00:00:00", true
	case "oid":
		return "urn:oid:1.2", true
	case "uuid":
		return "urn:uuid:00000000-0000-0000-0000-000000000000", true
	case "base64Binary":
		return "AA==", true
	case "":
		return nil, false
	default:
		// string, code, id, uri, url, canonical, markdown
		return "x", true
	}
}

// firstEnumCode returns a code that an enum-backed code type accepts.
func firstEnumCode(message protoreflect.MessageDescriptor) (any, bool) {
	field := message.Fields().ByName("value")
	if field == nil || field.Enum() == nil {
		return "x", true
	}
	values := field.Enum().Values()
	for i := 0; i < values.Len(); i++ {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		if original := proto.GetExtension(v.Options(), apb.E_FhirOriginalCode).(string); original != "" {
			return original, true
		}
		return strings.ReplaceAll(strings.ToLower(string(v.Name())), "_", "-"), true
	}
	return nil, false
}
