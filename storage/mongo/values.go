package mongo

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ward-fhir/ward/storage"
)

// prefixRegex returns a regular expression that matches the strings
// starting with prefix. Anchored at ^ with a literal prefix and no flags,
// it gives MongoDB tight index bounds: the range from prefix up to the
// next string after all that start with it.
func prefixRegex(prefix string) bson.Regex {
	return bson.Regex{Pattern: "^" + regexp.QuoteMeta(prefix)}
}

// anyField matches one escaped key field, see escapeField.
const anyField = "(?:[^\x1e\x1f]|\x1e[\x1e\x1f])*"

// valueKeys returns what one value of a string, token, reference or uri
// clause matches in the keys array: exact keys as strings and key
// prefixes as regular expressions. An empty list means the value matches
// nothing.
func valueKeys(cl storage.Clause, v storage.Value) (bson.A, error) {
	p := cl.Param
	switch cl.Type {
	case storage.TypeString:
		switch cl.Modifier {
		case "", "not":
			return bson.A{prefixRegex(key(kindString, p, v.Text))}, nil
		case "exact":
			return bson.A{key(kindExact, p, v.Text)}, nil
		case "contains":
			// [\s\S] also crosses line breaks, which . does not.
			pattern := "^" + regexp.QuoteMeta(keyPrefix(kindString, p)) + `[\s\S]*` + regexp.QuoteMeta(escapeField(v.Text))
			return bson.A{bson.Regex{Pattern: pattern}}, nil
		}

	case storage.TypeToken:
		switch cl.Modifier {
		case "", "not":
			return tokenKeys(p, v)
		case "text":
			return bson.A{prefixRegex(key(kindText, p, v.Text))}, nil
		case "of-type":
			return bson.A{key(kindOfType, p, v.System, v.Code, v.Text)}, nil
		}

	case storage.TypeReference:
		switch cl.Modifier {
		case "", "not":
			return referenceKeys(p, cl.TargetType, v)
		case "identifier":
			return identifierKeys(p, cl.TargetType, v)
		}

	case storage.TypeURI:
		switch cl.Modifier {
		case "", "not":
			return bson.A{key(kindURI, p, v.Text)}, nil
		case "below":
			base := strings.TrimSuffix(v.Text, "/")
			return bson.A{key(kindURI, p, base), prefixRegex(key(kindURI, p, base+"/"))}, nil
		case "above":
			var keys bson.A
			for _, parent := range parentPaths(v.Text) {
				keys = append(keys, key(kindURI, p, parent))
			}
			return keys, nil
		}
	}
	return nil, unsupportedModifier(cl)
}

// tokenKeys: code (any system), system|code, |code (no system), system|
// (any code).
func tokenKeys(p string, v storage.Value) (bson.A, error) {
	switch {
	case v.AnySystem:
		return bson.A{prefixRegex(keyPrefix(kindToken, p, v.Code))}, nil
	case v.Code == "":
		if v.System == "" {
			return nil, fmt.Errorf("mongo: token value of %s has neither system nor code", p)
		}
		return bson.A{key(kindSystem, p, v.System)}, nil
	}
	return bson.A{key(kindToken, p, v.Code, v.System)}, nil
}

// referenceKeys: a reference by id, type and version, or an absolute URL
// or canonical by its text and version. targetType, when set, is the type
// the reference must have.
func referenceKeys(p, targetType string, v storage.Value) (bson.A, error) {
	refType := v.RefType
	if targetType != "" {
		if refType != "" && refType != targetType {
			return nil, nil
		}
		refType = targetType
	}

	switch {
	case v.Text != "":
		url, version := splitCanonical(v)
		switch {
		case refType == "" && version == "":
			return bson.A{prefixRegex(keyPrefix(kindURL, p, url))}, nil
		case refType == "":
			return bson.A{prefixRegex(keyPrefix(kindURL, p, url, version))}, nil
		case version == "":
			pattern := "^" + regexp.QuoteMeta(keyPrefix(kindURL, p, url)) + anyField + regexp.QuoteMeta(string(keySep)+escapeField(refType)) + "$"
			return bson.A{bson.Regex{Pattern: pattern}}, nil
		}
		return bson.A{key(kindURL, p, url, version, refType)}, nil

	case v.RefID != "":
		switch {
		case v.RefVersion != "" && refType != "":
			return bson.A{key(kindRefVersion, p, v.RefID, v.RefVersion, refType)}, nil
		case v.RefVersion != "":
			return bson.A{prefixRegex(keyPrefix(kindRefVersion, p, v.RefID, v.RefVersion))}, nil
		case refType != "":
			return bson.A{key(kindRef, p, v.RefID, refType)}, nil
		}
		return bson.A{prefixRegex(keyPrefix(kindRef, p, v.RefID))}, nil
	}
	return nil, fmt.Errorf("mongo: reference value of %s has neither an id nor a URL", p)
}

// identifierKeys match Reference.identifier (:identifier) as a token.
func identifierKeys(p, targetType string, v storage.Value) (bson.A, error) {
	var fields []string
	kind := kindIDCode
	switch {
	case v.AnySystem:
		fields = []string{v.Code}
	case v.Code == "":
		if v.System == "" {
			return nil, fmt.Errorf("mongo: identifier value of %s has neither system nor code", p)
		}
		kind, fields = kindIDSystem, []string{v.System}
	default:
		fields = []string{v.Code, v.System}
	}

	if targetType == "" {
		return bson.A{prefixRegex(keyPrefix(kind, p, fields...))}, nil
	}
	if v.AnySystem {
		pattern := "^" + regexp.QuoteMeta(keyPrefix(kind, p, fields...)) + anyField + regexp.QuoteMeta(string(keySep)+escapeField(targetType)) + "$"
		return bson.A{bson.Regex{Pattern: pattern}}, nil
	}
	return bson.A{key(kind, p, append(fields, targetType)...)}, nil
}

// splitCanonical returns the URL and version of a URL value: the value's
// RefVersion, or the part after the last '|' of a canonical given as one
// string.
func splitCanonical(v storage.Value) (url, version string) {
	url, version = v.Text, v.RefVersion
	if version == "" {
		if i := strings.LastIndexByte(url, '|'); i >= 0 {
			url, version = url[:i], url[i+1:]
		}
	}
	return url, version
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

// comparison is one field compared with a value: field op value.
type comparison struct {
	field string
	op    string // $gt, $gte, $lt, $lte, $eq
	value any
}

// conjunction returns a filter in which every comparison holds. Two
// comparisons of one field share that field's operator document, since a
// filter may not repeat a field name.
func conjunction(cmps ...comparison) bson.D {
	var doc bson.D
	index := map[string]int{}
	for _, c := range cmps {
		i, ok := index[c.field]
		if !ok {
			index[c.field] = len(doc)
			doc = append(doc, bson.E{Key: c.field, Value: bson.D{{Key: c.op, Value: c.value}}})
			continue
		}
		ops := doc[i].Value.(bson.D)
		if j := opIndex(ops, c.op); j >= 0 {
			// Only the formulas below can repeat an operator on a field,
			// and only with bounds that keep the stricter one.
			ops[j].Value = stricter(c.op, ops[j].Value, c.value)
		} else {
			ops = append(ops, bson.E{Key: c.op, Value: c.value})
		}
		doc[i].Value = ops
	}
	return doc
}

func opIndex(ops bson.D, op string) int {
	for i, e := range ops {
		if e.Key == op {
			return i
		}
	}
	return -1
}

// stricter returns the bound of the two that admits less.
func stricter(op string, a, b any) any {
	less := compareBounds(a, b) < 0
	switch op {
	case "$gt", "$gte":
		if less {
			return b
		}
		return a
	case "$lt", "$lte":
		if less {
			return a
		}
		return b
	}
	return a
}

func compareBounds(a, b any) int {
	switch a := a.(type) {
	case int64:
		return cmpInt(a, b.(int64))
	case bson.DateTime:
		return cmpInt(int64(a), int64(b.(bson.DateTime)))
	case float64:
		switch bf := b.(float64); {
		case a < bf:
			return -1
		case a > bf:
			return 1
		}
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dateValue turns a comparison of a date field with a bound in
// microseconds into the comparison that the stored form needs.
type dateValue func(op string, micros int64) comparison

// microsValue compares date entries, which store microseconds.
func microsValue(op string, micros int64) comparison {
	return comparison{op: op, value: micros}
}

// millisDate compares lastUpdated, a BSON date of whole milliseconds, with
// a bound in microseconds: t >= a holds for a millisecond t exactly when
// t >= ceil(a/1000), and t > a when t > floor(a/1000).
func millisDate(op string, micros int64) comparison {
	var millis int64
	switch op {
	case "$gte", "$lt":
		millis = ceilDiv(micros, 1000)
	default:
		millis = floorDiv(micros, 1000)
	}
	return comparison{op: op, value: bson.DateTime(millis)}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// dateCond compares a stored range [lo, hi], the target, with the range
// [sLo, sHi] of the search value, as the prefix table of
// http://hl7.org/fhir/R4/search.html#prefix defines and the SQLite backend
// compiles it:
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
// Bounds implied by the rule (lo <= sHi under eq) are added so that the
// index scan has both ends.
func dateCond(lo, hi string, v storage.Value, now time.Time, value dateValue) (bson.D, error) {
	sLo, sHi := lowMicros(v.Low), highMicros(v.High)
	at := func(field, op string, micros int64) comparison {
		c := value(op, micros)
		c.field = field
		return c
	}
	contained := []comparison{at(lo, "$gte", sLo), at(lo, "$lte", sHi), at(hi, "$lte", sHi)}

	switch v.Prefix {
	case "", "eq":
		return conjunction(contained...), nil
	case "ne":
		return bson.D{{Key: "$or", Value: bson.A{
			conjunction(at(lo, "$lt", sLo)),
			conjunction(at(lo, "$gt", sHi)),
			conjunction(at(hi, "$gt", sHi)),
		}}}, nil
	case "gt":
		return conjunction(at(hi, "$gt", sHi)), nil
	case "lt":
		return conjunction(at(lo, "$lt", sLo)), nil
	case "ge":
		return append(conjunction(at(hi, "$gte", sLo)), bson.E{Key: "$or", Value: bson.A{
			conjunction(at(hi, "$gt", sHi)),
			conjunction(contained...),
		}}), nil
	case "le":
		return append(conjunction(at(lo, "$lte", sHi)), bson.E{Key: "$or", Value: bson.A{
			conjunction(at(lo, "$lt", sLo)),
			conjunction(contained...),
		}}), nil
	case "sa":
		return conjunction(at(lo, "$gt", sHi)), nil
	case "eb":
		return conjunction(at(hi, "$lt", sLo)), nil
	case "ap":
		margin := approximateMargin(v, now)
		return conjunction(at(lo, "$lte", saturatingAdd(sHi, margin)), at(hi, "$gte", saturatingAdd(sLo, -margin))), nil
	}
	return nil, fmt.Errorf("date prefix %q is not one of eq, ne, gt, lt, ge, le, sa, eb, ap", v.Prefix)
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

// numberCond compares the stored value n with a search number, as the
// SQLite backend does. eq, ne and the range prefixes use the half-open
// range [NumberLow, NumberHigh) that the search value's precision implies,
// so 100 means [99.5, 100.5). gt, lt, ge and le compare with the value
// exactly, as the spec's examples do ("lt100: values that are less than
// exactly 100"). ap widens the range to 10% of the value on each side. The
// target is compared as a point: its own precision range is not used.
func numberCond(n string, v storage.Value) (bson.D, error) {
	low, high := v.NumberLow, v.NumberHigh
	exact := low == 0 && high == 0
	if exact {
		low, high = v.Number, v.Number
	}
	at := func(op string, value float64) comparison { return comparison{field: n, op: op, value: value} }

	switch v.Prefix {
	case "", "eq":
		if exact {
			return conjunction(at("$eq", v.Number)), nil
		}
		return conjunction(at("$gte", low), at("$lt", high)), nil
	case "ne":
		if exact {
			return bson.D{{Key: n, Value: bson.D{{Key: "$ne", Value: v.Number}}}}, nil
		}
		return bson.D{{Key: "$or", Value: bson.A{conjunction(at("$lt", low)), conjunction(at("$gte", high))}}}, nil
	case "gt":
		return conjunction(at("$gt", v.Number)), nil
	case "lt":
		return conjunction(at("$lt", v.Number)), nil
	case "ge":
		return conjunction(at("$gte", v.Number)), nil
	case "le":
		return conjunction(at("$lte", v.Number)), nil
	case "sa":
		return conjunction(at("$gte", high)), nil
	case "eb":
		return conjunction(at("$lt", low)), nil
	case "ap":
		margin := math.Abs(v.Number) / 10
		return conjunction(at("$gte", math.Min(low, v.Number-margin)), at("$lte", math.Max(high, v.Number+margin))), nil
	}
	return nil, fmt.Errorf("number prefix %q is not one of eq, ne, gt, lt, ge, le, sa, eb, ap", v.Prefix)
}

// quantityCond is numberCond on the value under prefix, with the unit's
// system and code when the search value gives them, on the entries in
// canonical units when the value is canonical and on the entries as
// written otherwise. An entry as written has no can field.
func quantityCond(prefix string, v storage.Value) (bson.D, error) {
	cond, err := numberCond(prefix+"n", v)
	if err != nil {
		return nil, err
	}
	if v.Canonical {
		cond = append(cond, bson.E{Key: prefix + "can", Value: true})
	} else {
		cond = append(cond, bson.E{Key: prefix + "can", Value: bson.D{{Key: "$ne", Value: true}}})
	}
	if v.System != "" && !v.AnySystem {
		cond = append(cond, bson.E{Key: prefix + "s", Value: v.System})
	}
	if v.Code != "" {
		cond = append(cond, bson.E{Key: prefix + "c", Value: v.Code})
	}
	return cond, nil
}
