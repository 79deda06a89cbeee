package storage

import "time"

// ParamType is the type of a FHIR search parameter
// (http://hl7.org/fhir/R4/search.html#ptypes).
type ParamType string

// Search parameter types.
const (
	TypeString    ParamType = "string"
	TypeToken     ParamType = "token"
	TypeReference ParamType = "reference"
	TypeDate      ParamType = "date"
	TypeNumber    ParamType = "number"
	TypeQuantity  ParamType = "quantity"
	TypeURI       ParamType = "uri"
	TypeComposite ParamType = "composite"
	TypeSpecial   ParamType = "special"
)

// IndexEntry is one normalised value of one search parameter of one
// resource version. The search package computes the entries once, when the
// version is written; the backend stores them with the version and matches
// queries against them. Which fields are set depends on Type:
//
//   - string: Text is the accent- and case-folded value (for the default
//     starts-with match and :contains), Exact the value as written (:exact).
//   - token: System and Code; Text is the folded display text (Coding.display,
//     CodeableConcept.text, Identifier.type.text) for :text. Identifiers also
//     set TypeSystem and TypeCode from Identifier.type for :of-type. A
//     boolean is the token "true" or "false" with no system.
//   - reference: RefType, RefID and RefVersion for a reference to a resource
//     (relative, or absolute on this server); Exact is the reference as
//     written (absolute URL, canonical URL); for a canonical, Exact holds the
//     URL without its |version and RefVersion the version. System and Code
//     hold Reference.identifier for :identifier.
//   - date: Low and High, the closed UTC range the value covers at its
//     precision (a birthDate of 1970 covers the whole year), of a Period, or
//     of a Timing's events. An open end is the zero time.
//   - number: Number is the value, and NumberLow and NumberHigh the range
//     its implied precision covers (100 covers [99.5, 100.5)).
//   - quantity: as number, with System and Code of the unit, in the units
//     as written. When the unit is UCUM and convertible, a second entry
//     has Canonical set, its value and range in canonical units and Code
//     the canonical unit. A search without a unit compares only the
//     entries as written, and a search with a convertible UCUM unit only
//     the canonical ones.
//   - uri: Exact is the URI.
//
// A composite parameter stores one entry per component: Param is the
// composite's code, Type the component's own type, Component the
// component's position, and Group a number, unique within the version,
// shared by the components taken from one element. Entries of other types
// have Group 0.
type IndexEntry struct {
	Param     string
	Type      ParamType
	Group     int
	Component int

	Text  string
	Exact string

	System     string
	Code       string
	TypeSystem string
	TypeCode   string

	RefType    string
	RefID      string
	RefVersion string

	Low  time.Time
	High time.Time

	Number     float64
	NumberLow  float64
	NumberHigh float64

	// Canonical marks the quantity entry in canonical UCUM units that
	// accompanies the entry as written.
	Canonical bool
}
