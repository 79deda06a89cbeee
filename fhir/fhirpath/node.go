package fhirpath

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Node is one item of a FHIRPath collection: either an element of the
// resource being evaluated, with its FHIR type and the definition path it
// was reached by, or a value that the expression computed (a System type).
type Node struct {
	// value is the decoded JSON (map[string]any, string, json.Number,
	// bool, or nil for a primitive that has only extensions) for resource
	// elements, and string, bool, int64, *Decimal, Date, DateTime, Time or
	// Quantity for computed values.
	value any
	// ext is the primitive's "_name" sibling from FHIR JSON, holding its
	// id and extensions.
	ext map[string]any
	// typ is the FHIR type ("HumanName", "date") or, for computed values,
	// the qualified System type ("System.Integer"). It is empty when the
	// type is unknown.
	typ string
	// path is the element's definition path ("Patient.name.given",
	// "Observation.value"); for backbone elements it is where their
	// children are defined.
	path string
}

// Collection is the ordered result of a FHIRPath expression.
type Collection []Node

// Value returns the node's value as Go data: string, bool, int64,
// *Decimal, Date, DateTime, Time, Quantity for primitives and computed
// values, and map[string]any for complex elements and resources. A
// primitive that has only extensions returns nil.
func (n Node) Value() any {
	if m, ok := n.value.(map[string]any); ok {
		return m
	}
	v, ok := n.systemValue()
	if !ok {
		return n.value
	}
	return v
}

// TypeName returns the FHIR type name (such as "HumanName", "date" or
// "Patient") of a resource element, or the qualified System type name
// (such as "System.Integer") of a computed value.
func (n Node) TypeName() string { return n.typ }

// Path returns the definition path of a resource element, such as
// "Patient.name.given" or "Observation.value"; it is empty for computed
// values.
func (n Node) Path() string { return n.path }

// Extensions returns the extensions of a primitive element, taken from
// its "_name" sibling in the JSON, or of a complex element.
func (n Node) Extensions() []any {
	if m, ok := n.value.(map[string]any); ok {
		list, _ := m["extension"].([]any)
		return list
	}
	list, _ := n.ext["extension"].([]any)
	return list
}

// Quantity returns the node as a Quantity when it is a FHIRPath Quantity
// or a FHIR Quantity (or Age, Duration and the other profiles) with a
// value.
func (n Node) Quantity() (Quantity, bool) {
	v, ok := n.systemValue()
	if !ok {
		return Quantity{}, false
	}
	q, ok := v.(Quantity)
	return q, ok
}

// String returns a FHIRPath-like rendering for tests and debugging.
func (n Node) String() string {
	v := n.Value()
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case *Decimal:
		return v.String()
	case Date:
		return "@" + v.String()
	case DateTime:
		return "@" + v.String()
	case Time:
		return "@T" + v.String()
	case Quantity:
		return v.String()
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

func (n Node) kind() primitiveKind {
	if k, ok := fhirPrimitiveKinds[n.typ]; ok {
		return k
	}
	if k, ok := systemKinds[n.typ]; ok {
		return k
	}
	if quantityTypes[n.typ] {
		return kindQuantity
	}
	if n.typ == "" {
		switch v := n.value.(type) {
		case string:
			return kindString
		case bool:
			return kindBoolean
		case json.Number:
			if strings.ContainsAny(string(v), ".eE") {
				return kindDecimal
			}
			return kindInteger
		}
	}
	return kindNone
}

// systemValue converts the node to the FHIRPath System value it stands
// for. ok is false for complex elements (other than quantities), for
// primitives without a value, and for values that do not parse.
func (n Node) systemValue() (any, bool) {
	switch v := n.value.(type) {
	case nil:
		return nil, false
	case string:
		switch n.kind() {
		case kindString:
			return v, true
		case kindDate:
			d, err := ParseDate(v)
			return d, err == nil
		case kindDateTime:
			dt, err := ParseDateTime(v)
			return dt, err == nil
		case kindTime:
			t, err := ParseTime(v)
			return t, err == nil
		case kindDecimal:
			d, err := ParseDecimal(v)
			return d, err == nil
		case kindInteger:
			i, err := strconv.ParseInt(v, 10, 64)
			return i, err == nil
		}
		return v, true
	case json.Number:
		if n.kind() == kindDecimal {
			d, err := ParseDecimal(string(v))
			return d, err == nil
		}
		i, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			d, err := ParseDecimal(string(v))
			return d, err == nil
		}
		return i, true
	case map[string]any:
		if n.kind() != kindQuantity {
			return nil, false
		}
		return quantityFromMap(v)
	case float64:
		d, ok := decimalFromFloat(v)
		return d, ok
	case int:
		return int64(v), true
	}
	return n.value, true
}

func quantityFromMap(m map[string]any) (Quantity, bool) {
	var q Quantity
	switch v := m["value"].(type) {
	case json.Number:
		d, err := ParseDecimal(string(v))
		if err != nil {
			return q, false
		}
		q.Value = d
	case float64:
		d, ok := decimalFromFloat(v)
		if !ok {
			return q, false
		}
		q.Value = d
	default:
		return q, false
	}
	q.Unit, _ = m["unit"].(string)
	q.System, _ = m["system"].(string)
	q.Code, _ = m["code"].(string)
	return q, true
}

// newSystem wraps a computed value in a node of the matching System type.
func newSystem(v any) Node {
	switch v.(type) {
	case string:
		return Node{value: v, typ: "System.String"}
	case bool:
		return Node{value: v, typ: "System.Boolean"}
	case int64:
		return Node{value: v, typ: "System.Integer"}
	case *Decimal:
		return Node{value: v, typ: "System.Decimal"}
	case Date:
		return Node{value: v, typ: "System.Date"}
	case DateTime:
		return Node{value: v, typ: "System.DateTime"}
	case Time:
		return Node{value: v, typ: "System.Time"}
	case Quantity:
		return Node{value: v, typ: "System.Quantity"}
	}
	return Node{value: v}
}

// NewNode wraps decoded JSON (as from encoding/json with UseNumber) as a
// node of the given FHIR type. A resource is typed by its resourceType
// when typ is empty.
func NewNode(value any, typ string) Node {
	n := Node{value: value, typ: typ, path: typ}
	if m, ok := value.(map[string]any); ok && typ == "" {
		if rt, ok := m["resourceType"].(string); ok {
			n.typ, n.path = rt, rt
		}
	}
	return n
}

// resourceNode types a decoded resource by its resourceType.
func resourceNode(m map[string]any) Node {
	return NewNode(m, "")
}

// appendJSON appends the items of one JSON property to out: arrays are
// flattened, primitives are paired with the entry of their "_name"
// sibling at the same index, and nulls without an extension entry are
// skipped, as FHIR JSON pads arrays that way.
func appendJSON(out Collection, value any, ext any, typ, path string) Collection {
	if list, ok := value.([]any); ok {
		extList, _ := ext.([]any)
		for i, item := range list {
			var e any
			if i < len(extList) {
				e = extList[i]
			}
			out = appendJSONItem(out, item, e, typ, path)
		}
		// The _name array may be longer when trailing values are absent.
		for i := len(list); i < len(extList); i++ {
			out = appendJSONItem(out, nil, extList[i], typ, path)
		}
		return out
	}
	if value == nil {
		if extList, ok := ext.([]any); ok {
			for _, e := range extList {
				out = appendJSONItem(out, nil, e, typ, path)
			}
			return out
		}
	}
	return appendJSONItem(out, value, ext, typ, path)
}

func appendJSONItem(out Collection, value any, ext any, typ, path string) Collection {
	extMap, _ := ext.(map[string]any)
	if value == nil && extMap == nil {
		return out
	}
	if m, ok := value.(map[string]any); ok && (typ == "Resource" || typ == "DomainResource" || typ == "") {
		if rt, ok := m["resourceType"].(string); ok {
			typ, path = rt, rt
		}
	}
	return append(out, Node{value: value, ext: extMap, typ: typ, path: path})
}

// children returns the child elements of n in definition order (or, for
// untyped data, in key order). Primitive nodes yield their id and
// extensions.
func (n Node) children(out Collection) Collection {
	m, ok := n.value.(map[string]any)
	if !ok {
		if n.ext != nil {
			out = appendJSON(out, n.ext["id"], nil, "string", "Element.id")
			out = appendJSON(out, n.ext["extension"], nil, "Extension", "Extension")
		}
		return out
	}
	if ti := lookupTypeInfo(childBase(n.typ, n.path)); ti != nil {
		for _, el := range ti.elements {
			out = el.appendFrom(out, m)
		}
		return out
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "resourceType" && !strings.HasPrefix(k, "_") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = appendJSON(out, m[k], m["_"+k], "", "")
	}
	return out
}

// appendFrom appends the values of the element found in the JSON object m.
func (el *elementInfo) appendFrom(out Collection, m map[string]any) Collection {
	if el.choices == nil {
		v, ok := m[el.name]
		var ext any
		if el.primitive {
			var hasExt bool
			ext, hasExt = m[el.extKey]
			ok = ok || hasExt
		}
		if !ok {
			return out
		}
		return appendJSON(out, v, ext, el.typ, el.path)
	}

	// Extension.value[x] allows 50 types, so scanning the object's few
	// keys beats looking each choice up.
	if len(el.choices) > len(m) {
		for k := range m {
			if c := el.choiceByKey[k]; c != nil && k == c.key {
				return appendJSON(out, m[c.key], m[c.extKey], c.typ, el.path)
			}
		}
		for k := range m {
			if c := el.choiceByKey[k]; c != nil {
				return appendJSON(out, nil, m[c.extKey], c.typ, el.path)
			}
		}
		return out
	}
	for i := range el.choices {
		c := &el.choices[i]
		v, ok := m[c.key]
		var ext any
		if c.primitive {
			var hasExt bool
			ext, hasExt = m[c.extKey]
			ok = ok || hasExt
		}
		if ok {
			out = appendJSON(out, v, ext, c.typ, el.path)
		}
	}
	return out
}
