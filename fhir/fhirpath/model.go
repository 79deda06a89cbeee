package fhirpath

import (
	"strings"
	"sync"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// elementInfo is one child element of a type or backbone element, with
// everything navigation needs worked out once: the FHIRPath name, the
// JSON keys it can appear under and the type each key carries.
type elementInfo struct {
	name   string // FHIRPath name: "value" for Observation.value[x]
	extKey string // "_name", the key of a primitive's extensions
	path   string // definition path without [x]; for a contentReference the referenced path
	typ    string // the one type of a non-choice element
	// choices lists, for a choice element, the JSON key of each allowed
	// type ("valueQuantity") with that type; choiceByKey indexes them.
	choices     []choiceKey
	choiceByKey map[string]*choiceKey
	// primitive is set when values may have a "_name" sibling.
	primitive bool
}

type choiceKey struct {
	key, extKey, typ string
	primitive        bool
}

// typeInfo lists the children of a type or backbone element in
// definition order, which is the order children() returns them in.
type typeInfo struct {
	elements []*elementInfo
	byName   map[string]*elementInfo
}

var typeInfoCache sync.Map // base path -> *typeInfo

// lookupTypeInfo returns the children of base, which is a type name such
// as "HumanName" or "Patient", or the path of a backbone element such as
// "Patient.contact". It returns nil when the definitions have no children
// for base, as for primitive types.
func lookupTypeInfo(base string) *typeInfo {
	if v, ok := typeInfoCache.Load(base); ok {
		return v.(*typeInfo)
	}
	elements := definitions.Children(base)
	var ti *typeInfo
	if len(elements) > 0 {
		ti = &typeInfo{byName: make(map[string]*elementInfo, len(elements))}
		for _, el := range elements {
			info := newElementInfo(el)
			ti.elements = append(ti.elements, info)
			ti.byName[info.name] = info
		}
	}
	v, _ := typeInfoCache.LoadOrStore(base, ti)
	return v.(*typeInfo)
}

func newElementInfo(el definitions.Element) *elementInfo {
	path := el.Path
	name := path[strings.LastIndexByte(path, '.')+1:]
	info := &elementInfo{name: name, path: path}
	switch {
	case el.ContentReference != "":
		info.typ = "BackboneElement"
		info.path = strings.TrimPrefix(el.ContentReference, "#")
	case strings.HasSuffix(name, "[x]"):
		info.name = strings.TrimSuffix(name, "[x]")
		info.path = strings.TrimSuffix(path, "[x]")
		for _, t := range el.Types {
			key := info.name + upperFirst(t.Code)
			info.choices = append(info.choices, choiceKey{key: key, extKey: "_" + key, typ: t.Code, primitive: isPrimitiveFHIRType(t.Code)})
		}
		info.choiceByKey = make(map[string]*choiceKey, 2*len(info.choices))
		for i := range info.choices {
			c := &info.choices[i]
			info.choiceByKey[c.key] = c
			info.choiceByKey[c.extKey] = c
		}
	case len(el.Types) > 0:
		info.typ = el.Types[0].Code
	}
	info.extKey = "_" + info.name
	info.primitive = isPrimitiveFHIRType(info.typ)
	return info
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// childBase returns where the children of a node of type typ found at
// path are defined: the path itself for backbone elements, else the type.
func childBase(typ, path string) string {
	if (typ == "BackboneElement" || typ == "Element") && path != "" && strings.IndexByte(path, '.') > 0 {
		return path
	}
	return typ
}

// isSubtypeOf reports whether typ is ancestor or derives from it, by the
// definitions' base types (code derives from string, Age from Quantity,
// Patient from DomainResource and Resource).
func isSubtypeOf(typ, ancestor string) bool {
	if typ == ancestor {
		return true
	}
	for _, t := range ancestorsOf(typ) {
		if t == ancestor {
			return true
		}
	}
	return false
}

var ancestorCache sync.Map // type name -> []string, nearest base first

func ancestorsOf(typ string) []string {
	if v, ok := ancestorCache.Load(typ); ok {
		return v.([]string)
	}
	var list []string
	// R4 type hierarchies are a few levels deep; the bound only guards
	// against a cycle.
	for t := definitions.BaseType(typ); t != "" && len(list) < 8; t = definitions.BaseType(t) {
		list = append(list, t)
	}
	ancestorCache.Store(typ, list)
	return list
}

func isPrimitiveFHIRType(typ string) bool {
	if typ == "" {
		return false
	}
	c := typ[0]
	return c >= 'a' && c <= 'z'
}

// isKnownFHIRType reports whether name is an R4 resource, data or
// primitive type.
func isKnownFHIRType(name string) bool {
	return definitions.IsResourceType(name) || definitions.IsAbstractResourceType(name) ||
		definitions.IsComplexType(name) || definitions.IsPrimitiveType(name)
}

// primitiveKind groups the FHIR primitive types by the FHIRPath system
// type their values convert to.
type primitiveKind uint8

const (
	kindNone primitiveKind = iota
	kindString
	kindBoolean
	kindInteger
	kindDecimal
	kindDate
	kindDateTime
	kindTime
	kindQuantity
)

var fhirPrimitiveKinds = map[string]primitiveKind{
	"boolean": kindBoolean,
	"string":  kindString, "code": kindString, "id": kindString, "markdown": kindString,
	"uri": kindString, "url": kindString, "canonical": kindString, "oid": kindString, "uuid": kindString,
	"base64Binary": kindString, "xhtml": kindString,
	"integer": kindInteger, "positiveInt": kindInteger, "unsignedInt": kindInteger, "integer64": kindInteger,
	"decimal":  kindDecimal,
	"date":     kindDate,
	"dateTime": kindDateTime, "instant": kindDateTime,
	"time": kindTime,
}

var systemKinds = map[string]primitiveKind{
	"System.String": kindString, "System.Boolean": kindBoolean, "System.Integer": kindInteger,
	"System.Decimal": kindDecimal, "System.Date": kindDate, "System.DateTime": kindDateTime,
	"System.Time": kindTime, "System.Quantity": kindQuantity,
}

// quantityTypes are the FHIR types whose values are quantities.
var quantityTypes = map[string]bool{
	"Quantity": true, "Age": true, "Duration": true, "Distance": true, "Count": true,
	"SimpleQuantity": true, "MoneyQuantity": true,
}
