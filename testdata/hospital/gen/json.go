package main

import (
	"bytes"
	"crypto/sha1" // #nosec G505 -- version 5 UUIDs are defined on SHA-1, and uuidFor uses them for stable sample ids, not for security
	"encoding/json"
	"fmt"
)

// obj is a JSON object that keeps its keys in the order written, so the
// generated files read like hand-written FHIR: resourceType and id first.
type obj []field

type field struct {
	key   string
	value any
}

// MarshalJSON writes the fields in order and skips nil values, so that
// optional elements can be left out with a nil.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, f := range o {
		if isEmpty(f.value) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		key, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		value, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.key, err)
		}
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []obj:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case obj:
		return x == nil
	}
	return false
}

// list builds a JSON array from objects.
func list(items ...obj) []obj { return items }

// uuidFor derives a stable name-based UUID (version 5 layout) from a
// resource's type and id, so regenerating the files keeps every fullUrl.
func uuidFor(typeAndID string) string {
	sum := sha1.Sum([]byte("ward-hospital-sample/" + typeAndID)) // #nosec G401 -- stable fake fullUrls for sample data, not security
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// bundle is a transaction Bundle under construction. Every entry is a PUT
// to a fixed id, so loading the file twice leaves the same resources, and
// has a urn:uuid fullUrl that other entries of the same Bundle refer to.
type bundle struct {
	id      string
	local   map[string]bool // referred to as entries of this Bundle
	added   map[string]bool
	entries []obj
}

func newBundle(id string) *bundle {
	return &bundle{id: id, local: map[string]bool{}, added: map[string]bool{}}
}

// localRef returns a urn:uuid Reference to a resource that is, or will
// be, an entry of this Bundle; json checks that it was added.
func (b *bundle) localRef(typeAndID, display string) obj {
	b.local[typeAndID] = true
	return b.ref(typeAndID, display)
}

// ref returns a Reference to a resource: by urn:uuid inside this Bundle,
// by Type/id to a resource of another Bundle.
func (b *bundle) ref(typeAndID, display string) obj {
	target := typeAndID
	if b.local[typeAndID] {
		target = "urn:uuid:" + uuidFor(typeAndID)
	}
	return obj{{"reference", target}, {"display", display}}
}

func (b *bundle) add(resourceType, id string, fields ...field) {
	typeAndID := resourceType + "/" + id
	if b.added[typeAndID] {
		panic("duplicate entry " + typeAndID)
	}
	b.local[typeAndID] = true
	b.added[typeAndID] = true
	resource := append(obj{{"resourceType", resourceType}, {"id", id}}, fields...)
	b.entries = append(b.entries, obj{
		{"fullUrl", "urn:uuid:" + uuidFor(typeAndID)},
		{"resource", resource},
		{"request", obj{{"method", "PUT"}, {"url", typeAndID}}},
	})
}

func (b *bundle) json() ([]byte, error) {
	for typeAndID := range b.local {
		if !b.added[typeAndID] {
			return nil, fmt.Errorf("bundle %s refers to %s, which it does not contain", b.id, typeAndID)
		}
	}
	doc := obj{
		{"resourceType", "Bundle"},
		{"id", b.id},
		{"type", "transaction"},
		{"entry", b.entries},
	}
	compact, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
