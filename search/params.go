package search

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

// Param is one search parameter as Ward applies it to one resource type:
// the R4 definition, with the expression fixes of this file applied.
type Param struct {
	Code string
	// URL is the canonical URL of the SearchParameter definition.
	URL  string
	Type storage.ParamType
	// Expression is the FHIRPath expression that selects the values, cut to
	// the branches of the definition's union that apply to the resource
	// type: for Patient, "Patient.birthDate | Person.birthDate" becomes
	// "Patient.birthDate". A component's expression is relative to each
	// value of its composite's expression.
	Expression string
	// Targets are the resource types a reference parameter may point to.
	Targets []string
	// Components are the parts of a composite parameter, in order.
	Components []Component
	// Base are the resource types the definition is declared on.
	Base []string
}

// Component is one part of a composite parameter.
type Component struct {
	// Param is the component's own definition (code, URL, type, targets)
	// with the composite's component expression as its Expression.
	Param Param
}

// expressionFix replaces one expression of the R4 definitions. From must
// equal the published expression, so a fix never applies to an expression
// it was not written for; the tests check every From.
type expressionFix struct {
	From, To string
	// Reason names the defect in the published expression.
	Reason string
}

// expressionFixes maps a SearchParameter URL to the fix of its expression.
// A composite's component is keyed by the composite's URL, "#" and the
// component's zero-based position. The fixes live here, beside the code
// that depends on them, rather than in the generated definitions. So
// package fhir/definitions stays equal to the published R4 text, which its
// tests compare with the HL7 files.
var expressionFixes = map[string]expressionFix{
	"http://hl7.org/fhir/SearchParameter/Observation-code-value-date#1": {
		From: "value.ofType(DateTime) | value.ofType(Period)",
		To:   "value.ofType(dateTime) | value.ofType(Period)",
		Reason: "DateTime names the FHIRPath System type, which no element of a resource has; " +
			"Observation.valueDateTime is of the FHIR type dateTime, so the published component never matched",
	},
	"http://hl7.org/fhir/SearchParameter/DocumentReference-relationship#0": {
		From:   "code",
		To:     "target",
		Reason: "the relatesto component is a reference parameter, but the published expression reads relatesTo.code, a token",
	},
	"http://hl7.org/fhir/SearchParameter/DocumentReference-relationship#1": {
		From:   "target",
		To:     "code",
		Reason: "the relation component is a token parameter, but the published expression reads relatesTo.target, a Reference",
	},
	"http://hl7.org/fhir/SearchParameter/Bundle-composition": {
		From: "Bundle.entry[0].resource",
		To:   "Bundle.entry[0].resource.ofType(Composition)",
		Reason: "the parameter targets Composition (the first entry of a document), but the published expression " +
			"selects the first entry of any Bundle, such as the Patient that opens a transaction",
	},
	"http://hl7.org/fhir/SearchParameter/Bundle-message": {
		From: "Bundle.entry[0].resource",
		To:   "Bundle.entry[0].resource.ofType(MessageHeader)",
		Reason: "the parameter targets MessageHeader (the first entry of a message), but the published expression " +
			"selects the first entry of any Bundle",
	},
}

// skippedReasons gives, by code, why an R4 parameter produces no index
// entries. LookupParam does not return such parameters.
var skippedReasons = map[string]string{
	"_text":    "R4 gives _text no expression: it searches the narrative, which Ward does not index",
	"_content": "R4 gives _content no expression: it searches the whole resource text, which Ward does not index",
	"_query":   "R4 gives _query no expression: it names a custom query, and Ward defines none",
	"near":     "near is a special parameter on Location.position (latitude and longitude with a distance), which the index entry types cannot hold",
}

// paramTable holds the parameters of every resource type, built once.
type paramTable struct {
	byType  map[string]map[string]Param
	skipped map[string]map[string]string
}

var loadParams = sync.OnceValue(buildParams)

func buildParams() *paramTable {
	t := &paramTable{byType: map[string]map[string]Param{}, skipped: map[string]map[string]string{}}
	for _, resourceType := range definitions.ResourceTypes() {
		params := map[string]Param{}
		skipped := map[string]string{}
		for code, def := range definitions.SearchParametersFor(resourceType) {
			p, reason := resolveParam(resourceType, def)
			if reason != "" {
				skipped[code] = reason
				continue
			}
			params[code] = p
		}
		t.byType[resourceType] = params
		t.skipped[resourceType] = skipped
	}
	return t
}

// resolveParam turns a definition into the Param that resourceType uses.
// It returns a reason instead when Ward does not index the parameter.
func resolveParam(resourceType string, def definitions.SearchParameter) (Param, string) {
	expression := fixedExpression(def.URL, def.Expression)
	if reason, ok := skippedReasons[def.Code]; ok && (expression == "" || storage.ParamType(def.Type) == storage.TypeSpecial) {
		return Param{}, reason
	}
	if expression == "" {
		return Param{}, fmt.Sprintf("%s has no expression in R4", def.URL)
	}
	if storage.ParamType(def.Type) == storage.TypeSpecial {
		return Param{}, fmt.Sprintf("%s is a special parameter with no index form", def.URL)
	}

	p := Param{
		Code:       def.Code,
		URL:        def.URL,
		Type:       storage.ParamType(def.Type),
		Expression: restrictExpression(expression, resourceType),
		Targets:    def.Target,
		Base:       def.Base,
	}
	for i, c := range def.Components {
		cdef, ok := definitions.LookupSearchParameter(c.Definition)
		if !ok {
			return Param{}, fmt.Sprintf("component %s of %s is not an R4 search parameter", c.Definition, def.URL)
		}
		p.Components = append(p.Components, Component{Param: Param{
			Code:       cdef.Code,
			URL:        cdef.URL,
			Type:       storage.ParamType(cdef.Type),
			Expression: fixedExpression(fmt.Sprintf("%s#%d", def.URL, i), c.Expression),
			Targets:    cdef.Target,
			Base:       cdef.Base,
		}})
	}
	return p, ""
}

// fixedExpression returns the expression Ward uses for the definition (or
// component) key: the fixed one when the published text matches a fix.
func fixedExpression(key, published string) string {
	if fix, ok := expressionFixes[key]; ok && fix.From == published {
		return fix.To
	}
	return published
}

// LookupParam returns the search parameter with the given code on a
// resource type, including those defined on Resource and DomainResource
// (_id, _lastUpdated, _tag, _profile, _security, _source). Parameters that
// Ward does not index (see Skipped) are not found.
func LookupParam(resourceType, code string) (Param, bool) {
	p, ok := loadParams().byType[resourceType][code]
	return p, ok
}

// ParamsFor returns the indexed search parameters of a resource type by
// code. The map is a fresh copy; the Params share slices with the table
// and must not be modified.
func ParamsFor(resourceType string) map[string]Param {
	return maps.Clone(loadParams().byType[resourceType])
}

// Skipped reports whether an R4 search parameter of the resource type
// exists but is not indexed, and why: _text, _content and _query have no
// expression, and near is a special parameter.
func Skipped(resourceType, code string) (reason string, ok bool) {
	reason, ok = loadParams().skipped[resourceType][code]
	return reason, ok
}

// restrictExpression keeps the branches of a top-level union that can
// apply to resourceType, so that evaluating "Patient.birthDate |
// Person.birthDate | RelatedPerson.birthDate" on a Patient does not walk
// the other two paths. A branch applies unless it starts with the name of
// another resource type. When the expression is not a plain union, it is
// returned unchanged.
func restrictExpression(expression, resourceType string) string {
	branches, ok := splitUnion(expression)
	if !ok || len(branches) < 2 {
		return expression
	}
	var kept []string
	for _, b := range branches {
		if branchApplies(b, resourceType) {
			kept = append(kept, b)
		}
	}
	if len(kept) == 0 {
		return expression
	}
	return strings.Join(kept, " | ")
}

// splitUnion splits an expression at its top-level "|" operators. It
// returns false when the top level also has an operator of lower
// precedence than union (comparison, equality, membership, boolean),
// because splitting would then change the meaning.
func splitUnion(expression string) ([]string, bool) {
	var branches []string
	depth := 0
	start := 0
	for i := 0; i < len(expression); i++ {
		c := expression[i]
		switch c {
		case '\'', '`':
			end := exprClosingQuote(expression, i)
			if end < 0 {
				return nil, false
			}
			i = end
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '|':
			if depth == 0 {
				branches = append(branches, strings.TrimSpace(expression[start:i]))
				start = i + 1
			}
		case '=', '<', '>', '~', '!':
			if depth == 0 {
				return nil, false
			}
		default:
			if depth == 0 && exprIsLetter(c) && (i == 0 || !exprIsIdentChar(expression[i-1])) {
				word := exprIdentifierAt(expression, i)
				if slices.Contains([]string{"and", "or", "xor", "implies", "in", "contains"}, word) {
					return nil, false
				}
				i += len(word) - 1
			}
		}
	}
	branches = append(branches, strings.TrimSpace(expression[start:]))
	return branches, true
}

// exprClosingQuote returns the index of the quote that closes the one at
// start, skipping backslash escapes, or -1.
func exprClosingQuote(s string, start int) int {
	quote := s[start]
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case quote:
			return i
		}
	}
	return -1
}

// branchApplies reports whether a union branch can select values of a
// resource of type resourceType.
func branchApplies(branch, resourceType string) bool {
	head := strings.TrimLeft(branch, "( ")
	name := exprIdentifierAt(head, 0)
	if name == "" || !(definitions.IsResourceType(name) || definitions.IsAbstractResourceType(name)) {
		return true
	}
	for t := resourceType; t != ""; t = definitions.BaseType(t) {
		if t == name {
			return true
		}
	}
	return false
}

func exprIdentifierAt(s string, i int) string {
	j := i
	for j < len(s) && exprIsIdentChar(s[j]) {
		j++
	}
	if j == i || !exprIsLetter(s[i]) {
		return ""
	}
	return s[i:j]
}

func exprIsLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func exprIsIdentChar(c byte) bool {
	return exprIsLetter(c) || c >= '0' && c <= '9'
}
