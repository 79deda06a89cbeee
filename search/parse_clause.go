package search

import (
	"errors"
	"slices"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

// modifiers lists, per parameter type, the modifiers R4 defines for it. A
// false entry is defined but not implemented by Ward. A reference
// parameter also takes a resource type as its modifier.
var modifiers = map[storage.ParamType]map[string]bool{
	storage.TypeString:    {"missing": true, "exact": true, "contains": true},
	storage.TypeToken:     {"missing": true, "text": true, "not": true, "of-type": true, "above": false, "below": false, "in": false, "not-in": false},
	storage.TypeReference: {"missing": true, "identifier": true, "above": false, "below": false},
	storage.TypeURI:       {"missing": true, "above": true, "below": true},
	storage.TypeDate:      {"missing": true},
	storage.TypeNumber:    {"missing": true},
	storage.TypeQuantity:  {"missing": true},
	storage.TypeComposite: {"missing": true},
}

// knownModifiers are all modifiers R4 defines, to tell an unknown modifier
// from one that does not suit the parameter's type.
var knownModifiers = map[string]bool{
	"missing": true, "exact": true, "contains": true, "text": true, "not": true,
	"above": true, "below": true, "in": true, "not-in": true, "of-type": true,
	"identifier": true, "type": true,
}

// lookup finds a parameter that all of types define with the same type;
// with no types, one that every resource has. The returned definition's
// Targets are the union over the types.
func (p *parser) lookup(types []string, code, name string) (Param, error) {
	if len(types) == 0 {
		def, ok := lookupCommon(code)
		if !ok {
			return Param{}, p.unknown(types, code, name, "unknown parameter %q: a search across all resource types takes only parameters that every type has, such as _id and _lastUpdated; use _type to search named types", code)
		}
		return def, nil
	}

	var found Param
	for i, resourceType := range types {
		def, ok := LookupParam(resourceType, code)
		if !ok {
			return Param{}, p.unknown(types, code, name, "unknown parameter %q for %s", code, resourceType)
		}
		if i == 0 {
			found = def
			continue
		}
		if def.Type != found.Type {
			return Param{}, invalidParam(name, "the parameter %q is a %s on %s but a %s on %s, so its value has no single meaning", code, found.Type, types[0], def.Type, resourceType)
		}
		for _, target := range def.Targets {
			if !slices.Contains(found.Targets, target) {
				found.Targets = append(found.Targets, target)
			}
		}
	}
	return found, nil
}

// unknown reports a parameter that is not searchable, with the reason
// when R4 defines it but Ward does not index it.
func (p *parser) unknown(types []string, code, name, format string, args ...any) *ParamError {
	if reason := skippedReason(types, code); reason != "" {
		return unknownParam(name, "the parameter %q is not supported: %s", code, reason)
	}
	return unknownParam(name, format, args...)
}

// clause parses one parameter name and value into a clause over types.
// depth counts the chain and _has links already followed.
func (p *parser) clause(types []string, name, value string, depth int) (storage.Clause, error) {
	if rest, ok := strings.CutPrefix(name, "_has:"); ok {
		return p.hasClause(types, name, rest, value, depth)
	}

	head, chained, isChain := strings.Cut(name, ".")
	code, modifier, _ := strings.Cut(head, ":")
	def, err := p.lookup(types, code, name)
	if err != nil {
		return storage.Clause{}, err
	}
	if isChain {
		return p.chainClause(def, name, modifier, chained, value, depth)
	}

	clause := storage.Clause{Param: code, Type: def.Type}
	allowed, defined := modifiers[def.Type][modifier]
	switch {
	case modifier == "":
	case def.Type == storage.TypeReference && definitions.IsResourceType(modifier):
		if len(def.Targets) > 0 && !slices.Contains(def.Targets, modifier) {
			return storage.Clause{}, invalidParam(name, "%s cannot refer to a %s; its targets are %s", code, modifier, strings.Join(def.Targets, ", "))
		}
		clause.TargetType = modifier
	case !knownModifiers[modifier]:
		return storage.Clause{}, invalidParam(name, "unknown modifier :%s on %s", modifier, code)
	case !defined:
		return storage.Clause{}, invalidParam(name, "the modifier :%s does not apply to %s, a %s parameter", modifier, code, def.Type)
	case !allowed:
		return storage.Clause{}, unsupportedParam(name, "the modifier :%s is not supported on %s parameters", modifier, def.Type)
	case modifier == "of-type" && !strings.Contains(def.Expression, "identifier"):
		return storage.Clause{}, invalidParam(name, "the modifier :of-type applies to identifiers, and %s is not one", code)
	default:
		clause.Modifier = modifier
	}

	if modifier == "missing" {
		switch value {
		case "true", "false":
			missing := value == "true"
			clause.Modifier, clause.Missing = "", &missing
			return clause, nil
		}
		return storage.Clause{}, invalidParam(name, "invalid %s value %q: use true or false", name, value)
	}

	for _, raw := range splitEscaped(value, ',') {
		if raw == "" {
			return storage.Clause{}, invalidParam(name, "invalid %s value %q: a comma-separated list has an empty item", name, value)
		}
		v, err := p.parseValue(def, clause.Modifier, clause.TargetType, raw)
		if err != nil {
			var ve *valueError
			if errors.As(err, &ve) {
				return storage.Clause{}, invalidParam(name, "invalid %s value %q: %s", name, unescape(raw), ve.msg)
			}
			return storage.Clause{}, err
		}
		clause.Values = append(clause.Values, v)
	}
	return clause, nil
}

// chainClause parses subject.name and subject:Patient.name: a reference
// parameter whose targets must match the rest of the name.
func (p *parser) chainClause(def Param, name, modifier, chained, value string, depth int) (storage.Clause, error) {
	if def.Type != storage.TypeReference {
		return storage.Clause{}, invalidParam(name, "%s is a %s parameter and cannot be chained; only reference parameters can", def.Code, def.Type)
	}
	if depth+1 > p.maxDepth {
		return storage.Clause{}, invalidParam(name, "%s chains more than %d links, the limit of this server", name, p.maxDepth)
	}

	targets := def.Targets
	if modifier != "" {
		if !definitions.IsResourceType(modifier) || (len(def.Targets) > 0 && !slices.Contains(def.Targets, modifier)) {
			return storage.Clause{}, invalidParam(name, "invalid chain %s: :%s is not a resource type that %s can refer to", name, modifier, def.Code)
		}
		targets = []string{modifier}
	}

	nextCode := chained
	if i := strings.IndexAny(nextCode, ":."); i >= 0 {
		nextCode = nextCode[:i]
	}
	if nextCode == "_has" {
		return storage.Clause{}, unsupportedParam(name, "a _has inside a chain is not supported")
	}

	// The chain follows the targets that define the next parameter. Where
	// several do with different types, a value cannot mean one thing.
	var candidates []string
	var candidateType storage.ParamType
	for _, target := range targets {
		next, ok := LookupParam(target, nextCode)
		if !ok {
			continue
		}
		if candidateType != "" && next.Type != candidateType {
			return storage.Clause{}, invalidParam(name, "the chain %s is ambiguous: %s is a %s on %s but a %s on %s; name the target type, as in %s:%s.%s",
				name, nextCode, candidateType, candidates[0], next.Type, target, def.Code, target, chained)
		}
		candidateType = next.Type
		candidates = append(candidates, target)
	}
	if len(candidates) == 0 {
		return storage.Clause{}, unknownParam(name, "unknown chain %s: no type that %s can refer to (%s) has the parameter %q", name, def.Code, strings.Join(targets, ", "), nextCode)
	}

	inner, err := p.clause(candidates, chained, value, depth+1)
	if err != nil {
		if pe, ok := err.(*ParamError); ok {
			pe.Param = name
		}
		return storage.Clause{}, err
	}
	clause := storage.Clause{
		Param: def.Code,
		Type:  storage.TypeReference,
		Chain: &storage.Chain{TargetTypes: candidates, Filter: []storage.Clause{inner}},
	}
	if modifier != "" {
		clause.TargetType = modifier
	}
	return clause, nil
}

// hasClause parses _has:Type:param:rest, where rest is a parameter of
// Type, possibly another _has.
func (p *parser) hasClause(types []string, name, rest, value string, depth int) (storage.Clause, error) {
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return storage.Clause{}, invalidParam(name, "invalid %s: use _has:Type:reference-parameter:parameter", name)
	}
	if depth+1 > p.maxDepth {
		return storage.Clause{}, invalidParam(name, "%s nests more than %d links, the limit of this server", name, p.maxDepth)
	}
	sourceType, refParam, inner := parts[0], parts[1], parts[2]
	if !definitions.IsResourceType(sourceType) {
		return storage.Clause{}, invalidParam(name, "invalid %s: %q is not a FHIR R4 resource type", name, sourceType)
	}
	def, ok := LookupParam(sourceType, refParam)
	if !ok || def.Type != storage.TypeReference {
		return storage.Clause{}, invalidParam(name, "invalid %s: %s has no reference parameter %q", name, sourceType, refParam)
	}
	if len(types) > 0 && len(def.Targets) > 0 && !slices.ContainsFunc(types, func(t string) bool { return slices.Contains(def.Targets, t) }) {
		return storage.Clause{}, invalidParam(name, "invalid %s: %s.%s never refers to %s", name, sourceType, refParam, strings.Join(types, " or "))
	}

	filter, err := p.clause([]string{sourceType}, inner, value, depth+1)
	if err != nil {
		if pe, ok := err.(*ParamError); ok {
			pe.Param = name
		}
		return storage.Clause{}, err
	}
	return storage.Clause{
		Param: "_has",
		Type:  storage.TypeSpecial,
		Has:   &storage.Has{Type: sourceType, Param: refParam, Filter: []storage.Clause{filter}},
	}, nil
}
