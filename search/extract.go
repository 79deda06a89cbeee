package search

import (
	"fmt"

	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// extraction collects the entries of one resource version.
type extraction struct {
	ix       *Indexer
	resource map[string]any
	entries  []storage.IndexEntry
	// groups counts the composite groups handed out so far; the first
	// group is 1, so Group 0 marks entries of non-composite parameters.
	groups int
}

// param appends the entries of one search parameter.
func (x *extraction) param(p *compiledParam) error {
	nodes, err := p.expr.Evaluate(x.resource)
	if err != nil {
		return fmt.Errorf("search parameter %s (%s): %w", p.Code, p.Expression, err)
	}
	if len(nodes) == 0 {
		return nil
	}
	if p.Type == storage.TypeComposite {
		return x.composite(p, nodes)
	}

	start := len(x.entries)
	for _, n := range nodes {
		x.entries = x.ix.appendValue(x.entries, p.Code, p.Type, n)
	}
	x.entries = dedupeEntries(x.entries, start)
	return nil
}

// composite appends one group per value of the composite's expression:
// each component is evaluated on that value alone, so a code and a value
// pair up only when they come from the same element (one Observation, or
// one Observation.component). A value where some component is empty
// cannot match a composite search and adds no group.
func (x *extraction) composite(p *compiledParam, nodes fhirpath.Collection) error {
	for _, n := range nodes {
		var group []storage.IndexEntry
		complete := true
		for i, expr := range p.components {
			values, err := expr.EvaluateNodes(x.resource, fhirpath.Collection{n})
			if err != nil {
				return fmt.Errorf("component %d (%s) of search parameter %s: %w", i, p.Components[i].Param.Expression, p.Code, err)
			}
			start := len(group)
			for _, v := range values {
				group = x.ix.appendValue(group, p.Code, p.Components[i].Param.Type, v)
			}
			group = dedupeEntries(group, start)
			if len(group) == start {
				complete = false
				break
			}
			for j := start; j < len(group); j++ {
				group[j].Component = i
			}
		}
		if !complete {
			continue
		}

		x.groups++
		for j := range group {
			group[j].Group = x.groups
		}
		x.entries = append(x.entries, group...)
	}
	return nil
}

// appendValue appends the entries that one value of a parameter of type
// typ produces. Values of a type that the parameter type cannot use add
// nothing.
func (ix *Indexer) appendValue(dst []storage.IndexEntry, code string, typ storage.ParamType, n fhirpath.Node) []storage.IndexEntry {
	switch typ {
	case storage.TypeString:
		return appendString(dst, code, n)
	case storage.TypeToken:
		return appendToken(dst, code, n)
	case storage.TypeReference:
		return ix.appendReference(dst, code, n)
	case storage.TypeDate:
		return appendDate(dst, code, n)
	case storage.TypeNumber:
		return appendNumber(dst, code, n)
	case storage.TypeQuantity:
		return appendQuantity(dst, code, n)
	case storage.TypeURI:
		return appendURI(dst, code, n)
	}
	return dst
}

// dedupeEntries removes the entries from start on that equal an earlier entry
// from start on, keeping the first of each.
func dedupeEntries(entries []storage.IndexEntry, start int) []storage.IndexEntry {
	if len(entries)-start < 2 {
		return entries
	}
	out := entries[:start]
	for i := start; i < len(entries); i++ {
		dup := false
		for j := start; j < len(out); j++ {
			if out[j] == entries[i] {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, entries[i])
		}
	}
	return out
}

// jsonString returns a string member of a JSON object, "" when absent.
func jsonString(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// jsonStrings returns the string items of an array member of a JSON object.
func jsonStrings(m map[string]any, name string) []string {
	list, _ := m[name].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// jsonObjects returns the object items of an array member of a JSON object.
func jsonObjects(m map[string]any, name string) []map[string]any {
	list, _ := m[name].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, v := range list {
		if o, ok := v.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}
