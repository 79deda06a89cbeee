package sqlite

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// prefixEnd is appended to a prefix to form the exclusive upper bound of
// the strings that start with it. Under SQLite's BINARY collation strings
// compare as bytes, and no UTF-8 text contains the byte 0xFF, so
// p <= x < p+"\xff" holds exactly for the x that start with p. The range
// form lets SQLite seek the index, where LIKE or GLOB with escapes would
// not.
const prefixEnd = "\xff"

// valueCond returns the condition that entry row e, of type t, matches v
// under cl's modifier.
func (c *compiler) valueCond(e string, t storage.ParamType, cl storage.Clause, v storage.Value) (string, error) {
	switch t {
	case storage.TypeString:
		return c.stringCond(e, cl, v)
	case storage.TypeToken:
		return c.tokenCond(e, cl, v)
	case storage.TypeReference:
		return c.referenceCond(e, cl, v)
	case storage.TypeDate:
		return c.dateCond(e+".lo", e+".hi", v)
	case storage.TypeNumber:
		return c.numberCond(e+".num", v)
	case storage.TypeQuantity:
		return c.quantityCond(e, v)
	case storage.TypeURI:
		return c.uriCond(e, cl, v)
	}
	return "", fmt.Errorf("sqlite: search parameter %s has type %q, which this backend cannot search", cl.Param, t)
}

func (c *compiler) prefixRange(column, prefix string) string {
	return column + " >= " + c.bind(prefix) + " AND " + column + " < " + c.bind(prefix+prefixEnd)
}

// stringCond: the default is starts-with on the folded text, :exact
// compares the text as written, :contains is a substring of the folded
// text.
func (c *compiler) stringCond(e string, cl storage.Clause, v storage.Value) (string, error) {
	switch cl.Modifier {
	case "":
		return c.prefixRange(e+".text", v.Text), nil
	case "exact":
		return e + ".exact = " + c.bind(v.Text), nil
	case "contains":
		return "instr(" + e + ".text, " + c.bind(v.Text) + ") > 0", nil
	}
	return "", unsupportedModifier(cl)
}

// tokenCond: code (any system), system|code, |code (no system), system|
// (any code); :text on the folded display; :of-type on an identifier's
// type and value. :not uses the plain match, negated by the caller.
func (c *compiler) tokenCond(e string, cl storage.Clause, v storage.Value) (string, error) {
	switch cl.Modifier {
	case "", "not":
		return c.codeCond(e, v)
	case "text":
		return c.prefixRange(e+".text", v.Text), nil
	case "of-type":
		return e + ".type_system = " + c.bind(v.System) + " AND " + e + ".type_code = " + c.bind(v.Code) +
			" AND " + e + ".code = " + c.bind(v.Text), nil
	}
	return "", unsupportedModifier(cl)
}

// codeCond matches the system and code columns of e against a token value.
func (c *compiler) codeCond(e string, v storage.Value) (string, error) {
	switch {
	case v.AnySystem:
		return e + ".code = " + c.bind(v.Code), nil
	case v.Code == "":
		if v.System == "" {
			return "", fmt.Errorf("sqlite: token value has neither system nor code")
		}
		return e + ".system = " + c.bind(v.System), nil
	}
	return e + ".code = " + c.bind(v.Code) + " AND " + e + ".system = " + c.bind(v.System), nil
}

// referenceCond: a reference by type, id and version, an absolute URL or
// canonical by its text (and |version), or :identifier on
// Reference.identifier. TargetType narrows the target's type.
func (c *compiler) referenceCond(e string, cl storage.Clause, v storage.Value) (string, error) {
	var conds []string
	switch cl.Modifier {
	case "identifier":
		cond, err := c.codeCond(e, v)
		if err != nil {
			return "", err
		}
		conds = append(conds, cond)
	case "":
		switch {
		case v.Text != "":
			url, version := v.Text, v.RefVersion
			if version == "" {
				// A canonical given as one string: url|version.
				if i := strings.LastIndexByte(url, '|'); i >= 0 {
					url, version = url[:i], url[i+1:]
				}
			}
			conds = append(conds, e+".url = "+c.bind(url))
			if version != "" {
				conds = append(conds, e+".ref_version = "+c.bind(version))
			}
		case v.RefID != "":
			conds = append(conds, e+".ref_id = "+c.bind(v.RefID))
			if v.RefType != "" {
				conds = append(conds, e+".ref_type = "+c.bind(v.RefType))
			}
			if v.RefVersion != "" {
				conds = append(conds, e+".ref_version = "+c.bind(v.RefVersion))
			}
		default:
			return "", fmt.Errorf("sqlite: reference value of %s has neither an id nor a URL", cl.Param)
		}
	default:
		return "", unsupportedModifier(cl)
	}
	if cl.TargetType != "" {
		conds = append(conds, e+".ref_type = "+c.bind(cl.TargetType))
	}
	return strings.Join(conds, " AND "), nil
}

// uriCond: exact by default; :below matches the URI and every URI under
// it; :above matches the URI and every parent path of it.
func (c *compiler) uriCond(e string, cl storage.Clause, v storage.Value) (string, error) {
	switch cl.Modifier {
	case "":
		return e + ".uri = " + c.bind(v.Text), nil
	case "below":
		base := strings.TrimSuffix(v.Text, "/")
		return "(" + e + ".uri = " + c.bind(base) + " OR (" + c.prefixRange(e+".uri", base+"/") + "))", nil
	case "above":
		return e + ".uri IN " + c.bindList(parentPaths(v.Text)), nil
	}
	return "", unsupportedModifier(cl)
}

// parentPaths returns uri and each shorter form of it that ends before a
// "/" of its path: http://a.org/fhir/ValueSet/1 gives itself,
// http://a.org/fhir/ValueSet, http://a.org/fhir and http://a.org.
func parentPaths(uri string) []string {
	paths := []string{uri}
	start := 0
	if i := strings.Index(uri, "://"); i >= 0 {
		start = i + len("://")
	}
	trimmed := strings.TrimSuffix(uri, "/")
	if trimmed != uri {
		paths = append(paths, trimmed)
	}
	for i := len(trimmed) - 1; i > start; i-- {
		if trimmed[i] == '/' {
			paths = append(paths, trimmed[:i])
		}
	}
	return paths
}

func unsupportedModifier(cl storage.Clause) error {
	return fmt.Errorf("sqlite: modifier :%s on %s parameter %s is not supported", cl.Modifier, cl.Type, cl.Param)
}

// dateCond compares the stored range [lo, hi] of an entry, the target,
// with the range [sLo, sHi] of the search value, as the prefix table of
// http://hl7.org/fhir/R4/search.html#prefix defines:
//
//	eq  the search range contains the target:      lo >= sLo AND hi <= sHi
//	ne  the search range does not contain it:      NOT eq
//	gt  the target reaches above the search range: hi > sHi
//	lt  the target reaches below the search range: lo < sLo
//	ge  gt OR eq
//	le  lt OR eq
//	sa  the target starts after the search range:  lo > sHi
//	eb  the target ends before the search range:   hi < sLo
//	ap  the target overlaps the search range widened on both sides by 10%
//	    of the time between now and the search value's midpoint.
//
// Conditions that are implied by the rule (lo <= sHi under eq) are added
// so that SQLite can bound its index range scan.
func (c *compiler) dateCond(lo, hi string, v storage.Value) (string, error) {
	sLo, sHi := lowMicros(v.Low), highMicros(v.High)
	contained := func() string {
		return lo + " >= " + c.bind(sLo) + " AND " + lo + " <= " + c.bind(sHi) + " AND " + hi + " <= " + c.bind(sHi)
	}

	switch v.Prefix {
	case "", "eq":
		return contained(), nil
	case "ne":
		return "NOT (" + contained() + ")", nil
	case "gt":
		return hi + " > " + c.bind(sHi), nil
	case "lt":
		return lo + " < " + c.bind(sLo), nil
	case "ge":
		return hi + " >= " + c.bind(sLo) + " AND (" + hi + " > " + c.bind(sHi) + " OR (" + contained() + "))", nil
	case "le":
		return lo + " <= " + c.bind(sHi) + " AND (" + lo + " < " + c.bind(sLo) + " OR (" + contained() + "))", nil
	case "sa":
		return lo + " > " + c.bind(sHi), nil
	case "eb":
		return hi + " < " + c.bind(sLo), nil
	case "ap":
		margin := approximateMargin(v, c.now)
		return lo + " <= " + c.bind(saturatingAdd(sHi, margin)) + " AND " + hi + " >= " + c.bind(saturatingAdd(sLo, -margin)), nil
	}
	return "", fmt.Errorf("sqlite: date prefix %q is not one of eq, ne, gt, lt, ge, le, sa, eb, ap", v.Prefix)
}

// approximateMargin returns 10% of the time between now and the middle of
// the search value's range, in microseconds, the spec's suggestion for ap
// on dates.
func approximateMargin(v storage.Value, now time.Time) int64 {
	if v.Low.IsZero() || v.High.IsZero() {
		return 0
	}
	mid := v.Low.Add(v.High.Sub(v.Low) / 2)
	gap := now.Sub(mid)
	if gap < 0 {
		gap = -gap
	}
	return (gap / 10).Microseconds()
}

func saturatingAdd(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// numberCond compares the stored value n with a search number. eq, ne, sa
// and eb use the half-open range [NumberLow, NumberHigh) that the search
// value's precision implies: 100 means [99.5, 100.5). gt, lt, ge and le
// compare with the value exactly, as the spec's examples do ("lt100:
// values that are less than exactly 100"). ap widens the range to 10% of
// the value on each side. The target is compared as a point, so its own
// precision range is not used.
func (c *compiler) numberCond(n string, v storage.Value) (string, error) {
	low, high := v.NumberLow, v.NumberHigh
	inRange := func() string {
		if low == 0 && high == 0 {
			// No precision range given: compare the value itself.
			return n + " = " + c.bind(v.Number)
		}
		return n + " >= " + c.bind(low) + " AND " + n + " < " + c.bind(high)
	}
	if low == 0 && high == 0 {
		low, high = v.Number, v.Number
	}

	switch v.Prefix {
	case "", "eq":
		return inRange(), nil
	case "ne":
		return "NOT (" + inRange() + ")", nil
	case "gt":
		return n + " > " + c.bind(v.Number), nil
	case "lt":
		return n + " < " + c.bind(v.Number), nil
	case "ge":
		return n + " >= " + c.bind(v.Number), nil
	case "le":
		return n + " <= " + c.bind(v.Number), nil
	case "sa":
		return n + " >= " + c.bind(high), nil
	case "eb":
		return n + " < " + c.bind(low), nil
	case "ap":
		margin := math.Abs(v.Number) / 10
		return n + " >= " + c.bind(math.Min(low, v.Number-margin)) + " AND " + n + " <= " + c.bind(math.Max(high, v.Number+margin)), nil
	}
	return "", fmt.Errorf("sqlite: number prefix %q is not one of eq, ne, gt, lt, ge, le, sa, eb, ap", v.Prefix)
}

// quantityCond is numberCond on the value, with the unit's system and code
// when the search value gives them, on the rows in canonical units when
// the value is canonical and on the rows as written otherwise.
func (c *compiler) quantityCond(e string, v storage.Value) (string, error) {
	cond, err := c.numberCond(e+".num", v)
	if err != nil {
		return "", err
	}
	if v.Canonical {
		cond += " AND " + e + ".canonical = 1"
	} else {
		cond += " AND " + e + ".canonical = 0"
	}
	if v.System != "" && !v.AnySystem {
		cond += " AND " + e + ".system = " + c.bind(v.System)
	}
	if v.Code != "" {
		cond += " AND " + e + ".code = " + c.bind(v.Code)
	}
	return cond, nil
}
