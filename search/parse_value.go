package search

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// splitEscaped splits s at each sep that no backslash escapes. The parts
// keep their escapes, so that a later split on another separator still
// finds them; unescape removes them at the end.
func splitEscaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescape removes the search escapes \\ \, \$ and \|. A backslash before
// any other character stays, since the spec defines no meaning for it.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`\,$|`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// valueError is a malformed search value; the parser adds the parameter.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

func invalidValue(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...)}
}

// parseValue parses one of the comma-separated values of a parameter by
// its type. The modifier has been checked against the type already.
func (p *parser) parseValue(def Param, modifier, targetType, raw string) (storage.Value, error) {
	switch def.Type {
	case storage.TypeString:
		if modifier == "exact" {
			return storage.Value{Prefix: "eq", Text: unescape(raw)}, nil
		}
		return storage.Value{Prefix: "eq", Text: Fold(unescape(raw))}, nil
	case storage.TypeURI:
		return storage.Value{Prefix: "eq", Text: unescape(raw)}, nil
	case storage.TypeToken:
		return parseToken(raw, modifier)
	case storage.TypeReference:
		if modifier == "identifier" {
			return parseToken(raw, "")
		}
		return p.parseReference(raw, targetType, def)
	case storage.TypeDate:
		prefix, low, high, err := ParseDateValue(unescape(raw))
		if err != nil {
			return storage.Value{}, invalidValue("invalid date: %v", err)
		}
		return storage.Value{Prefix: prefix, Low: low, High: high}, nil
	case storage.TypeNumber:
		return parseNumber(unescape(raw))
	case storage.TypeQuantity:
		return parseQuantity(raw)
	case storage.TypeComposite:
		return p.parseComposite(def, raw)
	}
	return storage.Value{}, invalidValue("parameters of type %s are not supported", def.Type)
}

// parseToken reads [system|]code. With :text the whole value is display
// text; with :of-type it is system|code|value, where system and code name
// the identifier type and Text carries the identifier's value.
func parseToken(raw, modifier string) (storage.Value, error) {
	switch modifier {
	case "text":
		return storage.Value{Prefix: "eq", Text: Fold(unescape(raw))}, nil
	case "of-type":
		parts := splitEscaped(raw, '|')
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return storage.Value{}, invalidValue("invalid :of-type value %q; use type-system|type-code|identifier-value", unescape(raw))
		}
		return storage.Value{Prefix: "eq", System: unescape(parts[0]), Code: unescape(parts[1]), Text: unescape(parts[2])}, nil
	}

	parts := splitEscaped(raw, '|')
	switch len(parts) {
	case 1:
		return storage.Value{Prefix: "eq", Code: unescape(parts[0]), AnySystem: true}, nil
	case 2:
		if parts[0] == "" && parts[1] == "" {
			return storage.Value{}, invalidValue("invalid token %q: give a system, a code or both", raw)
		}
		return storage.Value{Prefix: "eq", System: unescape(parts[0]), Code: unescape(parts[1])}, nil
	}
	return storage.Value{}, invalidValue("invalid token %q: use code, system|code, |code or system|, and escape a literal | as \\|", unescape(raw))
}

// parseReference reads a reference search value: an id, Type/id,
// Type/id/_history/version, an absolute URL on this server (read as the
// relative form), or any other URL or canonical (url|version), kept as
// text.
func (p *parser) parseReference(raw, targetType string, def Param) (storage.Value, error) {
	value := unescape(raw)
	if value == "" {
		return storage.Value{}, invalidValue("empty reference")
	}
	local := value
	if p.base != "" && strings.HasPrefix(value, p.base+"/") {
		local = strings.TrimPrefix(value, p.base+"/")
	}

	v := storage.Value{Prefix: "eq"}
	segments := strings.Split(local, "/")
	switch {
	case len(segments) == 1 && !strings.Contains(local, ":"):
		v.RefType, v.RefID = targetType, local
		if targetType == "" && len(def.Targets) == 1 {
			v.RefType = def.Targets[0]
		}
	case (len(segments) == 2 || len(segments) == 4 && segments[2] == "_history") && definitions.IsResourceType(segments[0]):
		v.RefType, v.RefID = segments[0], segments[1]
		if len(segments) == 4 {
			v.RefVersion = segments[3]
		}
		if targetType != "" && targetType != v.RefType {
			return storage.Value{}, invalidValue("the reference %q is not of the type %s that the modifier names", value, targetType)
		}
	default:
		url, version, _ := strings.Cut(value, "|")
		v.Text, v.RefVersion = url, version
	}
	if v.RefID != "" && !validID(v.RefID) {
		return storage.Value{}, invalidValue("invalid reference %q: %q is not a FHIR id", value, v.RefID)
	}
	return v, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func validID(id string) bool { return idPattern.MatchString(id) }

// decimalPattern is the FHIR decimal, with the exponent that search values
// may carry (1e2).
var decimalPattern = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$`)

// parseDecimal checks the lexical form and reads the decimal with the
// precision it was written with.
func parseDecimal(s string) (*fhirpath.Decimal, error) {
	if !decimalPattern.MatchString(s) {
		return nil, invalidValue("%q is not a decimal number", s)
	}
	d, err := fhirpath.ParseDecimal(s)
	if err != nil {
		return nil, invalidValue("%q is not a usable number: %v", s, err)
	}
	return d, nil
}

// parseNumber reads [prefix]number. The range is the one the index gives
// stored numbers: 100 covers [99.5, 100.5].
func parseNumber(raw string) (storage.Value, error) {
	prefix, rest, err := splitPrefix(raw)
	if err != nil {
		return storage.Value{}, invalidValue("%v", err)
	}
	d, err := parseDecimal(rest)
	if err != nil {
		return storage.Value{}, err
	}
	number, low, high := NumberValue(d)
	return storage.Value{Prefix: prefix, Number: number, NumberLow: low, NumberHigh: high}, nil
}

// parseQuantity reads [prefix]number[|system|code]. An empty system
// (5.4||mg) matches any system. No unit matches any unit and compares the
// values as written, as the spec requires: 5.4 finds 5.4 mg but not 5400 ug.
// A convertible UCUM unit is converted to the canonical unit and compares
// with the canonical index entries, so 0.25||g finds 250 mg.
func parseQuantity(raw string) (storage.Value, error) {
	parts := splitEscaped(raw, '|')
	if len(parts) != 1 && len(parts) != 3 {
		return storage.Value{}, invalidValue("%q is not a quantity: use [prefix]number, [prefix]number|system|code or [prefix]number||code", unescape(raw))
	}
	prefix, rest, err := splitPrefix(unescape(parts[0]))
	if err != nil {
		return storage.Value{}, invalidValue("%v", err)
	}
	d, err := parseDecimal(rest)
	if err != nil {
		return storage.Value{}, err
	}

	v := storage.Value{Prefix: prefix, AnySystem: true}
	if len(parts) == 1 || parts[2] == "" {
		v.Number, v.NumberLow, v.NumberHigh = NumberValue(d)
		if len(parts) == 3 {
			v.System, v.AnySystem = unescape(parts[1]), parts[1] == ""
		}
		return v, nil
	}
	v.System, v.Code = unescape(parts[1]), unescape(parts[2])
	v.AnySystem = v.System == ""
	v.Number, v.NumberLow, v.NumberHigh, v.Code, v.Canonical = QuantityValue(d, v.System, v.Code)
	return v, nil
}

// parseComposite reads component values separated by $, each parsed by
// its component's type.
func (p *parser) parseComposite(def Param, raw string) (storage.Value, error) {
	parts := splitEscaped(raw, '$')
	if len(parts) != len(def.Components) {
		return storage.Value{}, invalidValue("the composite value %q has %d parts; %s needs %d separated by $", unescape(raw), len(parts), def.Code, len(def.Components))
	}
	v := storage.Value{Prefix: "eq"}
	for i, part := range parts {
		component := def.Components[i].Param
		if component.Type == storage.TypeComposite {
			return storage.Value{}, invalidValue("component %d of %s is itself composite", i+1, def.Code)
		}
		cv, err := p.parseValue(component, "", "", part)
		if err != nil {
			return storage.Value{}, invalidValue("component %d: %v", i+1, err)
		}
		cv.Type = component.Type
		v.Components = append(v.Components, cv)
	}
	return v, nil
}
