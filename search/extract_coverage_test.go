package search

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir/fhirpath"
)

// TestParamsYieldOnR4Examples checks every indexed search parameter
// against the R4 examples. A parameter that yields no entry on any example
// is listed with the reason, found by evaluating its probe (the expression
// without its filters) on the same examples. The test fails for a
// parameter whose unfiltered expression finds values that the normaliser
// can index, yet the parameter yields nothing: that is an extraction bug.
func TestParamsYieldOnR4Examples(t *testing.T) {
	examples := readR4Examples(t)
	ix := newTestIndexer(t)

	byType := map[string][]map[string]any{}
	for _, ex := range examples {
		rt := ex.resource["resourceType"].(string)
		byType[rt] = append(byType[rt], ex.resource)
	}

	// hit records the definitions (by URL) that yielded an entry on some
	// example of some type.
	hit := map[string]bool{}
	for rt, resources := range byType {
		for _, r := range resources {
			entries, err := ix.Extract(rt, r)
			if err != nil {
				t.Fatalf("%s/%v: %v", rt, r["id"], err)
			}
			for _, e := range entries {
				p, _ := LookupParam(rt, e.Param)
				hit[p.URL] = true
			}
		}
	}

	reasons := map[string]string{}
	var unexplained []string
	for _, rt := range slices.Sorted(mapsKeysOf(ix.byType)) {
		for i := range ix.byType[rt] {
			p := &ix.byType[rt][i]
			if hit[p.URL] {
				continue
			}
			reason, bug := neverReason(ix, p, byType[rt])
			if prev, ok := reasons[p.URL]; ok && !strings.HasPrefix(prev, "no R4 example") {
				continue
			}
			reasons[p.URL] = reason
			if bug {
				unexplained = append(unexplained, fmt.Sprintf("%s on %s: %s", p.URL, rt, reason))
			}
		}
	}

	var report strings.Builder
	for _, url := range slices.Sorted(mapsKeysOf(reasons)) {
		fmt.Fprintf(&report, "%s: %s\n", strings.TrimPrefix(url, "http://hl7.org/fhir/SearchParameter/"), reasons[url])
	}
	t.Logf("%d search parameters yield entries on the R4 examples; %d never do:\n%s", len(hit), len(reasons), report.String())
	for _, u := range unexplained {
		t.Errorf("parameter yields nothing although its elements hold indexable values: %s", u)
	}
}

// neverReason explains why a parameter yields no entry on the resources.
// bug is true when the reason points at the extraction itself.
func neverReason(ix *Indexer, p *compiledParam, resources []map[string]any) (reason string, bug bool) {
	if len(resources) == 0 {
		return "no R4 example of " + strings.Join(p.Base, ", "), false
	}
	probeSrc := probeExpression(p.Expression)
	probe, err := fhirpath.Compile(probeSrc)
	if err != nil {
		return fmt.Sprintf("probe %q does not compile: %v", probeSrc, err), true
	}

	kinds := map[string]bool{}
	indexable := false
	found := false
	for _, r := range resources {
		nodes, err := probe.Evaluate(r)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			found = true
			kinds[valueKind(n)] = true
			if p.Type != "composite" && len(ix.appendValue(nil, p.Code, p.Type, n)) > 0 {
				indexable = true
			}
		}
	}
	kindList := strings.Join(slices.Sorted(mapsKeysOf(kinds)), ", ")
	switch {
	case !found:
		return fmt.Sprintf("no R4 example has a value at %s", probeSrc), false
	case p.Type == "composite":
		return fmt.Sprintf("no element at %s in the examples has a value for every component", probeSrc), false
	case !indexable:
		return fmt.Sprintf("the examples hold only %s at %s, which a %s parameter does not index", kindList, probeSrc, p.Type), false
	case probeSrc != p.Expression:
		return fmt.Sprintf("the expression's filters exclude the examples' values at %s (%s)", probeSrc, kindList), false
	}
	return fmt.Sprintf("values of kinds %s at %s give no entry", kindList, probeSrc), true
}

// valueKind describes a node for the report: its type, and for a
// Reference whether it points into the resource or only has a display.
func valueKind(n fhirpath.Node) string {
	m, ok := n.Value().(map[string]any)
	if !ok || n.TypeName() != "Reference" {
		return n.TypeName()
	}
	ref, _ := m["reference"].(string)
	switch {
	case strings.HasPrefix(ref, "#"):
		return "contained references"
	case ref == "" && m["identifier"] == nil:
		return "display-only references"
	}
	return "Reference"
}

func mapsKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

var probeAsPattern = regexp.MustCompile(`\(([A-Za-z0-9_.]+) as [A-Za-z]+\)`)

// probeExpression removes the filters of a search expression (where(),
// ofType(), as()) so that it selects the elements the parameter reads
// whatever their values.
func probeExpression(expression string) string {
	s := probeAsPattern.ReplaceAllString(expression, "$1")
	for _, fn := range []string{".where(", ".ofType(", ".as("} {
		for {
			i := strings.Index(s, fn)
			if i < 0 {
				break
			}
			end := matchingParen(s, i+len(fn)-1)
			if end < 0 {
				break
			}
			s = s[:i] + s[end+1:]
		}
	}
	return s
}

// matchingParen returns the index of the parenthesis that closes the one
// at open, or -1.
func matchingParen(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}
