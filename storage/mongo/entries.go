package mongo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ward-fhir/ward/storage"
)

// Parameters the backend matches on fields of its own instead of the
// extracted index: _id on the id field and _lastUpdated on the lastUpdated
// field of the current document.
const (
	paramID          = "_id"
	paramLastUpdated = "_lastUpdated"
)

// searchFields is the search index of one version, stored on its current
// document and on its history document until the next version ends it.
// docs/storage-mongo.md shows each field with examples.
type searchFields struct {
	// Keys holds one string per equality-shaped match an entry can take
	// part in (string, token, reference and uri entries), see key.
	Keys []string `bson:"k,omitempty"`

	// Present lists the parameters with at least one entry, for :missing.
	Present []string `bson:"has,omitempty"`

	Dates      []dateElem   `bson:"dt,omitempty"`
	Numbers    []numberElem `bson:"nm,omitempty"`
	Composites []bson.D     `bson:"cp,omitempty"`

	// Sort maps a parameter to the values a resource sorts by: MongoDB
	// sorts an array by its smallest element ascending and its largest
	// descending, which is the order _sort defines.
	Sort bson.D `bson:"srt,omitempty"`
}

// searchFieldNames are the bson names of searchFields, for $unset.
var searchFieldNames = []string{"k", "has", "dt", "nm", "cp", "srt"}

// dateElem is one date entry: the closed range [Low, High] in
// microseconds since the Unix epoch, math.MinInt64 and math.MaxInt64 for
// open ends.
type dateElem struct {
	Param string `bson:"p"`
	Low   int64  `bson:"lo"`
	High  int64  `bson:"hi"`
}

// numberElem is one number or quantity entry. A number has no unit.
// Canonical marks a quantity in canonical UCUM units, and its absence
// the value as written.
type numberElem struct {
	Param     string  `bson:"p"`
	Value     float64 `bson:"n"`
	System    string  `bson:"s,omitempty"`
	Code      string  `bson:"c,omitempty"`
	Canonical bool    `bson:"can,omitempty"`
}

// compositeGroup is one group of a composite parameter: the components
// taken from one element. It is stored as {p, v0: {...}, v1: {...}}, one
// element of cp, so that one $elemMatch compares all its components. A
// component with several entries (two codings, or a quantity as written
// and in canonical units) gives one element per combination.
type compositeGroup struct {
	param      string
	components [][]storage.IndexEntry // components[i] are the entries of component i
}

func (g compositeGroup) docs() []bson.D {
	docs := []bson.D{{{Key: "p", Value: g.param}}}
	for i, entries := range g.components {
		if len(entries) == 0 {
			entries = []storage.IndexEntry{{}}
		}
		next := make([]bson.D, 0, len(docs)*len(entries))
		for _, doc := range docs {
			for _, e := range entries {
				d := append(slices.Clone(doc), bson.E{Key: componentField(i), Value: componentDoc(e)})
				next = append(next, d)
			}
		}
		docs = next
	}
	return docs
}

func componentField(i int) string { return fmt.Sprintf("v%d", i) }

// componentDoc stores one component in the shape of its type: token
// {s, c}, string {x, e}, reference {t, i, v, u}, date {lo, hi}, number and
// quantity {n, s, c}, uri {u}. A component missing from its group is {}.
func componentDoc(e storage.IndexEntry) bson.D {
	switch e.Type {
	case storage.TypeToken:
		return bson.D{{Key: "s", Value: e.System}, {Key: "c", Value: e.Code}}
	case storage.TypeString:
		return bson.D{{Key: "x", Value: e.Text}, {Key: "e", Value: e.Exact}}
	case storage.TypeReference:
		return bson.D{{Key: "t", Value: e.RefType}, {Key: "i", Value: e.RefID}, {Key: "v", Value: e.RefVersion}, {Key: "u", Value: e.Exact}}
	case storage.TypeDate:
		return bson.D{{Key: "lo", Value: lowMicros(e.Low)}, {Key: "hi", Value: highMicros(e.High)}}
	case storage.TypeNumber:
		return bson.D{{Key: "n", Value: e.Number}, {Key: "s", Value: e.System}, {Key: "c", Value: e.Code}}
	case storage.TypeQuantity:
		doc := bson.D{{Key: "n", Value: e.Number}, {Key: "s", Value: e.System}, {Key: "c", Value: e.Code}}
		if e.Canonical {
			doc = append(doc, bson.E{Key: "can", Value: true})
		}
		return doc
	case storage.TypeURI:
		return bson.D{{Key: "u", Value: e.Exact}}
	}
	return bson.D{}
}

// Key kinds. A key is the kind, the parameter and the kind's fields, each
// escaped and followed by keySep except the last:
//
//	str  folded text                   string default (prefix) and :contains
//	exa  text as written               string :exact
//	tok  code, system                  token code, system|code, |code
//	sys  system                        token system|
//	txt  folded display text           token :text (prefix)
//	oft  type system, type code, value token :of-type
//	ref  id, type                      reference by id or type and id
//	rev  id, version, type             reference with a version
//	url  URL, version, type            absolute or canonical reference
//	idc  code, system, type            reference :identifier
//	ids  system, type                  reference :identifier system|
//	uri  URI                           uri, :above and :below
//
// Fields go from the most to the least often given in a search, so a
// search that leaves out the later ones is a prefix of the key.
const (
	kindString     = "str"
	kindExact      = "exa"
	kindToken      = "tok"
	kindSystem     = "sys"
	kindText       = "txt"
	kindOfType     = "oft"
	kindRef        = "ref"
	kindRefVersion = "rev"
	kindURL        = "url"
	kindIDCode     = "idc"
	kindIDSystem   = "ids"
	kindURI        = "uri"
)

// keySep separates the fields of a key, and keyEscape escapes keySep and
// itself inside a field. FHIR strings may not hold either control
// character, but escaping keeps a key unambiguous whatever the value.
const (
	keySep    = '\x1f'
	keyEscape = '\x1e'
)

// escapeField returns s with keyEscape and keySep each preceded by
// keyEscape. Reading left to right, a keySep not consumed by an escape
// ends the field, so esc(a)+sep is a prefix of esc(b)+sep+... only when a
// equals b.
func escapeField(s string) string {
	if !strings.ContainsAny(s, "\x1e\x1f") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == keySep || s[i] == keyEscape {
			b.WriteByte(keyEscape)
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// key joins a kind, a parameter and fields into one key.
func key(kind, param string, fields ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteByte(keySep)
	b.WriteString(escapeField(param))
	for _, f := range fields {
		b.WriteByte(keySep)
		b.WriteString(escapeField(f))
	}
	return b.String()
}

// keyPrefix is key followed by a separator: the start of every key whose
// leading fields are fields.
func keyPrefix(kind, param string, fields ...string) string {
	return key(kind, param, fields...) + string(keySep)
}

// buildSearchFields turns the index entries of a version into the fields
// of its document. Entries of special parameters, and entries for _id and
// _lastUpdated, which the backend matches on its own fields, are
// dropped.
func buildSearchFields(entries []storage.IndexEntry) searchFields {
	var f searchFields
	present := map[string]bool{}
	sortValues := map[string][]any{}
	var sortOrder []string
	groups := map[compositeKey]*compositeGroup{}
	var groupOrder []compositeKey

	for _, e := range entries {
		if e.Type == storage.TypeSpecial || e.Param == paramID || e.Param == paramLastUpdated {
			continue
		}
		present[e.Param] = true

		if e.Group != 0 {
			k := compositeKey{e.Param, e.Group}
			g, ok := groups[k]
			if !ok {
				g = &compositeGroup{param: e.Param}
				groups[k] = g
				groupOrder = append(groupOrder, k)
			}
			for len(g.components) <= e.Component {
				g.components = append(g.components, nil)
			}
			g.components[e.Component] = append(g.components[e.Component], e)
			continue
		}

		f.Keys = append(f.Keys, entryKeys(e)...)
		switch e.Type {
		case storage.TypeDate:
			f.Dates = append(f.Dates, dateElem{Param: e.Param, Low: lowMicros(e.Low), High: highMicros(e.High)})
		case storage.TypeNumber:
			f.Numbers = append(f.Numbers, numberElem{Param: e.Param, Value: e.Number})
		case storage.TypeQuantity:
			f.Numbers = append(f.Numbers, numberElem{Param: e.Param, Value: e.Number, System: e.System, Code: e.Code, Canonical: e.Canonical})
		}

		if values := sortValuesOf(e); len(values) > 0 {
			if _, ok := sortValues[e.Param]; !ok {
				sortOrder = append(sortOrder, e.Param)
			}
			sortValues[e.Param] = append(sortValues[e.Param], values...)
		}
	}

	for _, k := range groupOrder {
		f.Composites = append(f.Composites, groups[k].docs()...)
	}
	for p := range present {
		f.Present = append(f.Present, p)
	}
	slices.Sort(f.Present)
	f.Keys = compactKeys(f.Keys)
	for _, p := range sortOrder {
		f.Sort = append(f.Sort, bson.E{Key: p, Value: sortValues[p]})
	}
	return f
}

type compositeKey struct {
	param string
	group int
}

// compactKeys sorts keys and drops repeats: two entries often give the
// same key, and a multikey index stores each distinct key once anyway.
func compactKeys(keys []string) []string {
	slices.Sort(keys)
	return slices.Compact(keys)
}

// entryKeys returns the keys of one entry that is not part of a composite.
func entryKeys(e storage.IndexEntry) []string {
	p := e.Param
	switch e.Type {
	case storage.TypeString:
		return []string{key(kindString, p, e.Text), key(kindExact, p, e.Exact)}

	case storage.TypeToken:
		keys := []string{key(kindToken, p, e.Code, e.System), key(kindSystem, p, e.System)}
		if e.Text != "" {
			keys = append(keys, key(kindText, p, e.Text))
		}
		if e.TypeSystem != "" || e.TypeCode != "" {
			keys = append(keys, key(kindOfType, p, e.TypeSystem, e.TypeCode, e.Code))
		}
		return keys

	case storage.TypeReference:
		var keys []string
		if e.RefID != "" {
			keys = append(keys, key(kindRef, p, e.RefID, e.RefType))
			if e.RefVersion != "" {
				keys = append(keys, key(kindRefVersion, p, e.RefID, e.RefVersion, e.RefType))
			}
		}
		if e.Exact != "" {
			keys = append(keys, key(kindURL, p, e.Exact, e.RefVersion, e.RefType))
		}
		if e.Code != "" || e.System != "" {
			keys = append(keys, key(kindIDCode, p, e.Code, e.System, e.RefType), key(kindIDSystem, p, e.System, e.RefType))
		}
		return keys

	case storage.TypeURI:
		return []string{key(kindURI, p, e.Exact)}
	}
	return nil
}

// sortValuesOf returns the values an entry adds to its parameter's sort
// array, the same values the SQLite backend sorts by. A date adds both
// ends, so the smallest element is the lowest start and the largest the
// highest end.
func sortValuesOf(e storage.IndexEntry) []any {
	switch e.Type {
	case storage.TypeString:
		return []any{e.Text}
	case storage.TypeToken:
		return []any{e.Code}
	case storage.TypeReference:
		if e.RefID != "" {
			return []any{e.RefType + "/" + e.RefID}
		}
		return []any{e.Exact}
	case storage.TypeDate:
		return []any{lowMicros(e.Low), highMicros(e.High)}
	case storage.TypeNumber:
		return []any{e.Number}
	case storage.TypeQuantity:
		// Quantities sort by the value as written, which every quantity
		// has, and not by the canonical copy.
		if e.Canonical {
			return nil
		}
		return []any{e.Number}
	case storage.TypeURI:
		return []any{e.Exact}
	}
	return nil
}

// lowMicros and highMicros turn the ends of a closed date range into
// microseconds since the Unix epoch, with the zero time as an open end,
// as the SQLite backend stores them. Microseconds reach far beyond the
// years FHIR can write, and rounding down keeps order: ranges that meet at
// a whole microsecond, as precision-derived ranges do, stay apart.
func lowMicros(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMicro()
}

func highMicros(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return t.UnixMicro()
}

// validateIndex rejects entries that the document cannot hold.
func validateIndex(w storage.Write) error {
	name := w.Type + "/" + w.ID
	if w.Op == storage.OpDelete && len(w.Index) > 0 {
		return fmt.Errorf("mongo: write %s version %d: delete carries %d index entries, want none", name, w.VersionID, len(w.Index))
	}
	counts := map[compositeComponent]int{}
	for i, e := range w.Index {
		if err := validateParam(e.Param); err != nil {
			return fmt.Errorf("mongo: write %s: index entry %d: %w", name, i, err)
		}
		switch e.Type {
		case storage.TypeSpecial:
			continue
		case storage.TypeString, storage.TypeToken, storage.TypeReference, storage.TypeDate,
			storage.TypeNumber, storage.TypeQuantity, storage.TypeURI:
		default:
			return fmt.Errorf("mongo: write %s: index entry %d (%s) has type %q, want a value type (a composite stores one entry per component with the component's type)",
				name, i, e.Param, e.Type)
		}
		if e.Group == 0 {
			continue
		}
		if e.Component < 0 || e.Component >= maxComponents {
			return fmt.Errorf("mongo: write %s: index entry %d (%s) is component %d, want 0 to %d", name, i, e.Param, e.Component, maxComponents-1)
		}
		counts[compositeComponent{e.Param, e.Group, e.Component}]++
	}

	// A group is stored as one cp element per combination of its
	// components' entries, so their product must stay small.
	combinations := map[compositeKey]int{}
	for c, n := range counts {
		k := compositeKey{c.param, c.group}
		if combinations[k] == 0 {
			combinations[k] = 1
		}
		combinations[k] *= n
		if combinations[k] > maxGroupElements {
			return fmt.Errorf("mongo: write %s: group %d of %s has more than %d combinations of component values; reduce the codings or values of one element", name, c.group, c.param, maxGroupElements)
		}
	}
	return nil
}

// maxComponents bounds the components of one composite group. R4's
// composites have two or three.
const maxComponents = 8

// maxGroupElements bounds the cp elements of one composite group: a code
// with a few codings times a quantity as written and canonical stays far
// below it.
const maxGroupElements = 256

type compositeComponent struct {
	param            string
	group, component int
}

// validateParam rejects parameter codes that cannot be a field name under
// srt: MongoDB reads a '.' as a path step and a leading '$' as an
// operator.
func validateParam(param string) error {
	switch {
	case param == "":
		return fmt.Errorf("parameter code is empty")
	case strings.Contains(param, "."), strings.HasPrefix(param, "$"):
		return fmt.Errorf("parameter code %q contains '.' or starts with '$'", param)
	}
	return nil
}
