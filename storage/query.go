package storage

import (
	"context"
	"time"
)

// Query is a search plan that a backend runs against the index entries of
// current, not deleted, resource versions. The search package builds it
// from the URL; every backend compiles the same plan to its own queries.
type Query struct {
	// Types are the resource types searched: one for a type search, several
	// for a system search with _type, none for a system search over all.
	Types []string

	// Filter clauses must all match (AND).
	Filter []Clause

	// Sort orders the matches; the backend breaks ties by type and id, so
	// the order is total. A resource without a value for a sort parameter
	// comes last, in either direction.
	Sort []Sort

	// Count is the page size, positive. Cursor is a NextCursor or
	// PrevCursor of an earlier page of the same query, empty for the first
	// page.
	Count  int
	Cursor string

	// Total asks for SearchPage.Total to be counted.
	Total TotalMode
}

// TotalMode is the _total parameter.
type TotalMode string

// Values of _total. TotalNone is the default.
const (
	TotalNone     TotalMode = "none"
	TotalEstimate TotalMode = "estimate"
	TotalAccurate TotalMode = "accurate"
)

// Sort is one key of _sort.
type Sort struct {
	Param      string
	Type       ParamType
	Descending bool
}

// Clause is one search parameter with its OR-ed values. Exactly one of
// Values, Missing, Chain and Has carries the condition.
type Clause struct {
	Param string
	Type  ParamType

	// Modifier is the modifier without its colon: "", "exact", "contains",
	// "text", "not", "above", "below", "identifier", "of-type". A reference
	// restricted to a target type (subject:Patient) sets TargetType instead.
	Modifier   string
	TargetType string

	// Values match if any one matches (OR). With Modifier "not", the clause
	// matches resources that have no value equal to any of them.
	Values []Value

	// Missing is set for :missing: true matches resources with no value of
	// the parameter, false those with at least one.
	Missing *bool

	// Chain matches a reference parameter whose target matches the chained
	// filter (subject:Patient.name=peter).
	Chain *Chain

	// Has matches resources that other resources refer to (_has).
	Has *Has
}

// Value is one search value, parsed by the parameter's type. Only the
// fields of that type are set.
type Value struct {
	// Prefix is one of eq, ne, gt, lt, ge, le, sa, eb, ap for ordered
	// types; eq when the client gave none.
	Prefix string

	// string and uri: the folded (string) or exact (uri, :exact) text.
	Text string

	// token: AnySystem is true for "code" (any system); "|code" sets
	// System "" with AnySystem false; "system|" sets Code "". With :text,
	// Text is the folded display text. With :of-type, System and Code are
	// the identifier type's system and code and Text the identifier value.
	System    string
	Code      string
	AnySystem bool

	// reference: a relative or local reference as type, id and optional
	// version, or an absolute URL / canonical in Text, a canonical's
	// |version in RefVersion. With :identifier, System and Code as for a
	// token.
	RefType    string
	RefID      string
	RefVersion string

	// date: the closed UTC range the search value covers at its precision.
	Low, High time.Time

	// number and quantity: the value and the range its precision implies;
	// quantity also has System and Code. Canonical is set when the unit is
	// UCUM and convertible: the numbers and Code are then in canonical
	// units and match only index entries with Canonical set. Any other
	// quantity value matches only the entries as written.
	Number     float64
	NumberLow  float64
	NumberHigh float64
	Canonical  bool

	// composite: one value per component, in the composite's order.
	Components []Value

	// Type is set on the values in Components: the component's parameter
	// type, from which a backend picks the index entries to compare with.
	Type ParamType
}

// Chain is the part of a chained parameter after the reference.
type Chain struct {
	// TargetTypes are the resource types the reference may point to.
	TargetTypes []string

	// Filter applies to the referenced resources.
	Filter []Clause
}

// Has is a reverse chain: _has:Observation:patient:code=1234 keeps
// resources that some Observation refers to through its patient parameter,
// where that Observation matches code=1234.
type Has struct {
	Type   string
	Param  string
	Filter []Clause
}

// SearchPage is one page of matches.
type SearchPage struct {
	Matches []Resource

	// Total is the number of matches over all pages, or -1 when it was not
	// asked for or could not be estimated.
	Total int

	// NextCursor is empty on the last page, PrevCursor on the first. The
	// first page fixes the set and order of matches that later pages show,
	// so a page never repeats or skips a resource while others write.
	NextCursor string
	PrevCursor string
}

// Ref names one resource.
type Ref struct {
	Type string
	ID   string
}

// Searcher is implemented by backends that can search. Index entries
// arrive with each Write in Write.Index.
type Searcher interface {
	// Search runs a query. It returns an error wrapping ErrInvalidCursor
	// for a cursor it cannot use and ErrTooCostly when the query exceeds
	// the backend's cost limits.
	Search(ctx context.Context, q Query) (SearchPage, error)

	// ReadMany returns the current versions of the named resources that
	// exist and are not deleted, in no particular order.
	ReadMany(ctx context.Context, refs []Ref) ([]Resource, error)
}
