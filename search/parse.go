package search

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

// DefaultMaxChainDepth is the number of chained or _has links one
// parameter may have when Options.MaxChainDepth is zero:
// subject:Patient.organization.name has two.
const DefaultMaxChainDepth = 3

// Options configure Parse.
type Options struct {
	// BaseURL is the server's public base. Reference values that start with
	// it are read as relative references.
	BaseURL string

	// MaxChainDepth bounds the chained and _has links in one parameter name;
	// zero means DefaultMaxChainDepth.
	MaxChainDepth int

	// DefaultCount is the page size when _count is absent; MaxCount caps
	// _count. Both must be positive.
	DefaultCount int
	MaxCount     int

	// Strict rejects unknown and unsupported parameters, as Prefer:
	// handling=strict requests; otherwise they are ignored and reported in
	// Plan.Warnings.
	Strict bool
}

// Plan is a parsed search: the storage query and what happens around it.
type Plan struct {
	// Query is the storage query the backend runs. Query.Count is at least 1 even when
	// CountOnly is set, because a backend pages by at least one.
	Query storage.Query

	// CountOnly is set by _summary=count and _count=0: the client wants the
	// total and no resources.
	CountOnly bool

	// Include and RevInclude are the _include and _revinclude parameters,
	// in the order given.
	Include    []Include
	RevInclude []Include

	// Summary is the _summary mode (true, text, data or false), empty when
	// absent; Elements are the _elements names.
	Summary  string
	Elements []string

	// Compartment restricts the search to one compartment; the caller sets
	// it from the URL path ([base]/Patient/123/Observation).
	Compartment *Compartment

	// Applied holds the parameters that took effect, as the client wrote
	// them, and the page size in force. Encoded, they form the self link.
	Applied url.Values

	// Warnings list the parameters that were ignored, in lenient handling.
	Warnings []*ParamError
}

// Include is one _include or _revinclude value: SourceType:Param, or
// SourceType:Param:TargetType.
type Include struct {
	// SourceType is the type that holds the reference; "*" in _include=*.
	SourceType string

	// Param is the code of a reference parameter of SourceType, or "*" for
	// all of them.
	Param string

	// TargetType keeps only references to this type; empty keeps all.
	TargetType string

	// Iterate is set by the :iterate (or R3's :recurse) modifier: the
	// include applies to included resources too, not only to matches.
	Iterate bool
}

// Compartment names one compartment instance, such as Patient/123.
type Compartment struct {
	Type string
	ID   string
}

// ParamError is a search parameter that Ward cannot use. As an error it
// means 400 Bad Request; in Plan.Warnings it names a parameter that was
// ignored.
type ParamError struct {
	// Param is the parameter name as the client wrote it, with modifiers.
	Param string

	// Code is the OperationOutcome issue type: invalid for a malformed
	// name or value, not-supported for what Ward does not implement.
	Code string

	Message string

	// ignorable marks problems that lenient handling may skip: unknown and
	// unsupported parameters. Malformed values are never ignored.
	ignorable bool
}

func (e *ParamError) Error() string { return e.Message }

func invalidParam(name, format string, args ...any) *ParamError {
	return &ParamError{Param: name, Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

func unsupportedParam(name, format string, args ...any) *ParamError {
	return &ParamError{Param: name, Code: "not-supported", Message: fmt.Sprintf(format, args...)}
}

func unknownParam(name, format string, args ...any) *ParamError {
	return &ParamError{Param: name, Code: "not-supported", Message: fmt.Sprintf(format, args...), ignorable: true}
}

type parser struct {
	opts     Options
	base     string
	maxDepth int
	plan     *Plan
}

// Parse turns search parameters into a plan for a search over types: one
// type for a type or compartment search, none for a system search, which
// then takes its types from _type. Errors are *ParamError.
func Parse(types []string, params url.Values, opts Options) (*Plan, error) {
	if opts.DefaultCount <= 0 || opts.MaxCount <= 0 {
		return nil, fmt.Errorf("search options: DefaultCount %d and MaxCount %d must be positive", opts.DefaultCount, opts.MaxCount)
	}
	p := &parser{
		opts:     opts,
		base:     strings.TrimRight(opts.BaseURL, "/"),
		maxDepth: opts.MaxChainDepth,
		plan:     &Plan{Applied: url.Values{}},
	}
	if p.maxDepth <= 0 {
		p.maxDepth = DefaultMaxChainDepth
	}
	plan := p.plan
	plan.Query.Types = slices.Clone(types)
	plan.Query.Total = storage.TotalNone

	if values, ok := params["_type"]; ok {
		if err := p.parseTypes(values, len(types) > 0); err != nil {
			return nil, err
		}
	}

	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := p.parseParam(name, params[name]); err != nil {
			return nil, err
		}
	}

	if err := p.parseCount(params["_count"]); err != nil {
		return nil, err
	}
	return plan, nil
}

// ignore records a problem that lenient handling skips, or returns it
// under strict handling.
func (p *parser) ignore(err *ParamError) error {
	if p.opts.Strict {
		return err
	}
	p.plan.Warnings = append(p.plan.Warnings, err)
	return nil
}

// check passes malformed-value errors through and lets ignore decide on
// unknown or unsupported parameters.
func (p *parser) check(err error) error {
	if pe, ok := err.(*ParamError); ok && pe.ignorable {
		return p.ignore(pe)
	}
	return err
}

func (p *parser) parseParam(name string, values []string) error {
	plan := p.plan
	base, modifier, _ := strings.Cut(name, ":")
	switch base {
	case "_format", "_pretty", "_type", "_count":
		return nil
	case "_page":
		plan.Query.Cursor = values[0]
		return nil
	case "_sort":
		return p.parseSort(name, values)
	case "_total":
		return p.parseTotal(name, values)
	case "_summary":
		return p.parseSummary(name, values)
	case "_elements":
		return p.parseElements(name, values)
	case "_include", "_revinclude":
		return p.parseIncludes(name, base, modifier, values)
	case "_contained":
		for _, v := range values {
			if v != "false" {
				return p.ignore(unsupportedParam(name, "_contained=%s is not supported; contained resources are not searched", v))
			}
		}
		return nil
	case "_containedType", "_text", "_content", "_list", "_query", "_filter":
		return p.ignore(unsupportedParam(name, "the parameter %s is not supported", name))
	}

	for _, value := range values {
		if value == "" {
			if err := p.ignore(unknownParam(name, "the parameter %s has an empty value", name)); err != nil {
				return err
			}
			continue
		}
		clause, err := p.clause(plan.Query.Types, name, value, 0)
		if err != nil {
			if err := p.check(err); err != nil {
				return err
			}
			continue
		}
		plan.Query.Filter = append(plan.Query.Filter, clause)
		plan.Applied.Add(name, value)
	}
	return nil
}

// parseTypes reads _type, a comma-separated list of resource types, for a
// system search. A type search ignores it.
func (p *parser) parseTypes(values []string, typeSearch bool) error {
	if typeSearch {
		return p.ignore(unsupportedParam("_type", "_type applies to system searches only; the type in the URL already chooses the type"))
	}
	var types []string
	for _, value := range values {
		for _, t := range strings.Split(value, ",") {
			t = strings.TrimSpace(t)
			if !definitions.IsResourceType(t) {
				return invalidParam("_type", "invalid _type: %q is not a FHIR R4 resource type", t)
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	p.plan.Query.Types = types
	p.plan.Applied.Set("_type", strings.Join(types, ","))
	return nil
}

func (p *parser) parseCount(values []string) error {
	count := p.opts.DefaultCount
	if len(values) > 0 && values[0] != "" {
		n, err := strconv.Atoi(values[0])
		if err != nil || n < 0 {
			return invalidParam("_count", "invalid _count %q: it must be a non-negative integer", values[0])
		}
		count = min(n, p.opts.MaxCount)
	}
	if count == 0 {
		p.plan.CountOnly = true
	}
	if p.plan.CountOnly {
		count = 0
		p.plan.Query.Total = storage.TotalAccurate
	}
	p.plan.Applied.Set("_count", strconv.Itoa(count))
	p.plan.Query.Count = max(count, 1)
	return nil
}

func (p *parser) parseTotal(name string, values []string) error {
	switch mode := storage.TotalMode(values[0]); mode {
	case storage.TotalNone, storage.TotalEstimate, storage.TotalAccurate:
		p.plan.Query.Total = mode
		p.plan.Applied.Set(name, values[0])
		return nil
	}
	return invalidParam(name, "invalid _total %q: use none, estimate or accurate", values[0])
}

func (p *parser) parseSummary(name string, values []string) error {
	switch values[0] {
	case "count":
		p.plan.CountOnly = true
		p.plan.Query.Total = storage.TotalAccurate
	case "true", "text", "data", "false":
		p.plan.Summary = values[0]
	default:
		return invalidParam(name, "invalid _summary %q: use true, text, data, count or false", values[0])
	}
	p.plan.Applied.Set(name, values[0])
	return nil
}

func (p *parser) parseElements(name string, values []string) error {
	for _, value := range values {
		for _, element := range strings.Split(value, ",") {
			if element = strings.TrimSpace(element); element != "" {
				p.plan.Elements = append(p.plan.Elements, element)
			}
		}
	}
	if len(p.plan.Elements) > 0 {
		p.plan.Applied.Set(name, strings.Join(p.plan.Elements, ","))
	}
	return nil
}

// parseSort reads _sort: comma-separated parameter codes, each descending
// when it starts with '-'.
func (p *parser) parseSort(name string, values []string) error {
	var keys []string
	for _, value := range values {
		for _, key := range strings.Split(value, ",") {
			key = strings.TrimSpace(key)
			if key == "" {
				continue
			}
			code, descending := strings.CutPrefix(key, "-")
			def, err := p.lookup(p.plan.Query.Types, code, name)
			if err != nil {
				return invalidParam(name, "invalid _sort: %v", err)
			}
			switch def.Type {
			case storage.TypeComposite, storage.TypeSpecial:
				return invalidParam(name, "invalid _sort: %s is a %s parameter, which has no order", code, def.Type)
			}
			p.plan.Query.Sort = append(p.plan.Query.Sort, storage.Sort{Param: code, Type: def.Type, Descending: descending})
			keys = append(keys, key)
		}
	}
	if len(keys) > 0 {
		p.plan.Applied.Set(name, strings.Join(keys, ","))
	}
	return nil
}

// parseIncludes reads _include and _revinclude values:
// SourceType:param[:TargetType], and * for _include.
func (p *parser) parseIncludes(name, base, modifier string, values []string) error {
	iterate := false
	switch modifier {
	case "":
	case "iterate", "recurse":
		iterate = true
	default:
		return invalidParam(name, "invalid modifier :%s on %s; only :iterate is defined", modifier, base)
	}

	for _, value := range values {
		include, err := p.parseInclude(name, base, value)
		if err != nil {
			return err
		}
		include.Iterate = iterate
		if base == "_include" {
			p.plan.Include = append(p.plan.Include, include)
		} else {
			p.plan.RevInclude = append(p.plan.RevInclude, include)
		}
		p.plan.Applied.Add(name, value)
	}
	return nil
}

func (p *parser) parseInclude(name, base, value string) (Include, error) {
	if value == "*" {
		if base == "_revinclude" {
			return Include{}, unsupportedParam(name, "_revinclude=* is not supported; name the source type and parameter")
		}
		return Include{SourceType: "*", Param: "*"}, nil
	}
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Include{}, invalidParam(name, "invalid %s %q: use SourceType:parameter or SourceType:parameter:TargetType", base, value)
	}
	include := Include{SourceType: parts[0], Param: parts[1]}
	if !definitions.IsResourceType(include.SourceType) {
		return Include{}, invalidParam(name, "invalid %s %q: %q is not a FHIR R4 resource type", base, value, include.SourceType)
	}
	if include.Param == "*" {
		if base == "_revinclude" {
			return Include{}, unsupportedParam(name, "a wildcard parameter in _revinclude is not supported")
		}
		return include, nil
	}
	def, ok := LookupParam(include.SourceType, include.Param)
	if !ok || def.Type != storage.TypeReference {
		return Include{}, invalidParam(name, "invalid %s %q: %s has no reference parameter %q", base, value, include.SourceType, include.Param)
	}
	if len(parts) == 3 {
		include.TargetType = parts[2]
		if !definitions.IsResourceType(include.TargetType) || (len(def.Targets) > 0 && !slices.Contains(def.Targets, include.TargetType)) {
			return Include{}, invalidParam(name, "invalid %s %q: %s:%s cannot refer to %q", base, value, include.SourceType, include.Param, include.TargetType)
		}
	}
	return include, nil
}
