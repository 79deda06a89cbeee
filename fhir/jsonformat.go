package fhir

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
)

// unmarshaller is shared: jsonformat.Unmarshaller keeps no state between
// calls and guards its caches, so one value serves concurrent requests.
var unmarshaller = sync.OnceValues(func() (*jsonformat.Unmarshaller, error) {
	// The time zone only fills in the zone of dates without one when they
	// become protos; Ward stores the JSON as written, so it has no effect
	// on the stored resource.
	return jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
})

// jsonformatProblem is one error from jsonformat. Its own type
// (jsonpbhelper.UnmarshalError) is in an internal package, so the fields
// are read by name through reflection; see problemsOf.
type jsonformatProblem struct {
	Path        string
	Details     string
	Diagnostics string
	Type        string // "RequiredFieldError", "ReferenceTypeError" or ""
}

// problemsOf unpacks an UnmarshalError or UnmarshalErrorList. Any other
// error is a failure inside jsonformat rather than a finding about the
// resource, and is returned as such.
func problemsOf(err error) ([]jsonformatProblem, error) {
	v := reflect.ValueOf(err)
	switch {
	case v.Kind() == reflect.Slice:
		problems := make([]jsonformatProblem, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			p, ok := problemOf(v.Index(i))
			if !ok {
				return nil, err
			}
			problems = append(problems, p)
		}
		return problems, nil
	default:
		p, ok := problemOf(v)
		if !ok {
			return nil, err
		}
		return []jsonformatProblem{p}, nil
	}
}

func problemOf(v reflect.Value) (jsonformatProblem, bool) {
	if v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return jsonformatProblem{}, false
	}
	s := v.Elem()
	field := func(name string) (string, bool) {
		f := s.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.String {
			return "", false
		}
		return f.String(), true
	}
	path, okPath := field("Path")
	details, okDetails := field("Details")
	if !okPath || !okDetails {
		return jsonformatProblem{}, false
	}
	diagnostics, _ := field("Diagnostics")
	kind, _ := field("Type")
	return jsonformatProblem{Path: path, Details: details, Diagnostics: diagnostics, Type: kind}, true
}

// reporter collects what jsonformat's validator reports: invalid primitive
// formats, missing required elements and reference target types.
type reporter struct {
	problems []jsonformatProblem
}

func (r *reporter) ReportValidationError(path string, err error) error {
	return r.add(path, err)
}

func (r *reporter) ReportValidationWarning(path string, err error) error {
	return r.add(path, err)
}

func (r *reporter) add(path string, err error) error {
	problems, unknown := problemsOf(err)
	if unknown != nil {
		problems = []jsonformatProblem{{Path: path, Details: err.Error()}}
	}
	for _, p := range problems {
		if p.Path == "" {
			p.Path = path
		}
		r.problems = append(r.problems, p)
	}
	return nil
}

// runJSONFormat validates body with jsonformat and translates its findings
// into issues located in object. It also returns the number of findings
// left untranslated because there were more than maxIssues.
//
// jsonformat stops after parsing when the JSON does not fit the R4 types,
// so its validator (required elements, reference types, formats of id,
// code, uri and the like) never runs on such a resource. To still report every
// problem, the elements that failed to parse are removed from a copy, and
// the copy is run again for its validator findings. Findings that the
// removal itself causes (a required element that was removed) are dropped.
// With more than maxIssues parse findings there is no room to list more,
// so the second run is skipped.
func runJSONFormat(body []byte, object map[string]any) ([]Issue, int) {
	u, err := unmarshaller()
	if err != nil {
		return []Issue{internalIssue(fmt.Errorf("create jsonformat unmarshaller: %w", err))}, 0
	}

	rep := &reporter{}
	_, err = u.UnmarshalWithErrorReporter(jsonformatInput(body, object), rep)
	if err == nil {
		issues, unlisted := validatorIssues(object, rep.problems, nil)
		return sortIssues(issues), unlisted
	}
	problems, failure := problemsOf(err)
	if failure != nil {
		return []Issue{internalIssue(fmt.Errorf("jsonformat: %w", failure))}, 0
	}

	if len(problems) > maxIssues {
		// Translating a finding costs more than finding it, so only the
		// first maxIssues by path are translated, which also makes the
		// choice the same on every request.
		sortProblems(problems)
		issues := make([]Issue, 0, maxIssues)
		for _, p := range problems[:maxIssues] {
			issues = append(issues, parseIssue(object, p))
		}
		return sortIssues(issues), len(problems) - maxIssues
	}

	var issues []Issue
	for _, p := range problems {
		issues = append(issues, parseIssue(object, p))
	}

	pruned := deepCopy(object).(map[string]any)
	removed := pruneProblems(pruned, problems)
	prunedBody, err := json.Marshal(pruned)
	if err != nil {
		return issues, 0
	}
	rep = &reporter{}
	if _, err := u.UnmarshalWithErrorReporter(jsonformatInput(prunedBody, pruned), rep); err != nil {
		// Still unparsable after removal; the first pass's issues stand.
		return sortIssues(issues), 0
	}
	more, unlisted := validatorIssues(pruned, rep.problems, removed)
	return sortIssues(append(issues, more...)), unlisted
}

// sortProblems orders jsonformat's findings by path and then details.
func sortProblems(problems []jsonformatProblem) {
	sort.Slice(problems, func(i, j int) bool {
		if problems[i].Path != problems[j].Path {
			return problems[i].Path < problems[j].Path
		}
		return problems[i].Details < problems[j].Details
	})
}

// sortIssues orders issues by location. jsonformat visits the keys of a
// JSON object in Go map order, so without sorting the same body would list
// its problems in a different order on each request.
func sortIssues(issues []Issue) []Issue {
	sort.SliceStable(issues, func(i, j int) bool {
		return strings.Join(issues[i].Expression, ",") < strings.Join(issues[j].Expression, ",")
	})
	return issues
}

func internalIssue(err error) Issue {
	return Issue{Severity: "fatal", Code: "exception", Diagnostics: "validation failed: " + err.Error()}
}

// pruneProblems removes from object the elements that problems point at and
// returns their FHIRPath expressions.
func pruneProblems(object map[string]any, problems []jsonformatProblem) []string {
	type target struct {
		parent map[string]any
		key    string
	}
	var targets []target
	var removed []string
	for _, p := range problems {
		loc := locate(object, p.Path)
		if key, ok := keyInDiagnostics(p); ok {
			if parent, isObject := loc.value.(map[string]any); isObject {
				targets = append(targets, target{parent, key})
				removed = append(removed, locate(object, p.Path+"."+key).expression)
				for _, sibling := range choiceSiblings(parent, p) {
					targets = append(targets, target{parent, sibling})
					removed = append(removed, locate(object, p.Path+"."+sibling).expression)
				}
			}
			continue
		}
		if loc.parent != nil {
			targets = append(targets, target{loc.parent, loc.key})
			removed = append(removed, locate(object, trimIndexes(p.Path)).expression)
		}
	}
	for _, t := range targets {
		delete(t.parent, t.key)
	}
	return removed
}

// trimIndexes drops trailing indexes so that the whole array is named.
func trimIndexes(path string) string {
	for strings.HasSuffix(path, "]") {
		open := strings.LastIndexByte(path, '[')
		if open < 0 {
			break
		}
		path = path[:open]
	}
	return path
}

// keyInDiagnostics returns the JSON key that jsonformat names in the
// diagnostics, for problems whose path is the object holding that key.
func keyInDiagnostics(p jsonformatProblem) (string, bool) {
	if p.Details != "unknown field" && !strings.HasPrefix(p.Details, "cannot accept multiple values") {
		return "", false
	}
	key, err := strconv.Unquote(p.Diagnostics)
	if err != nil {
		return "", false
	}
	return key, true
}

// choiceSiblings lists the other keys of a choice element that has more
// than one value, such as valueQuantity beside valueString.
func choiceSiblings(parent map[string]any, p jsonformatProblem) []string {
	if !strings.HasPrefix(p.Details, "cannot accept multiple values for ") {
		return nil
	}
	base := strings.TrimSuffix(strings.TrimPrefix(p.Details, "cannot accept multiple values for "), " field")
	base = protoFieldToJSON(base)
	key, _ := keyInDiagnostics(p)
	var siblings []string
	for k := range parent {
		bare := strings.TrimPrefix(k, "_")
		if k != key && len(bare) > len(base) && strings.HasPrefix(bare, base) && isUpperASCII(bare[len(base)]) {
			siblings = append(siblings, k)
		}
	}
	return siblings
}

// protoFieldToJSON turns a proto field name such as "effective" or
// "value_x" into the JSON name of its choice element.
func protoFieldToJSON(name string) string {
	parts := strings.Split(name, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = upperFirst(parts[i])
	}
	return strings.Join(parts, "")
}

func isUpperASCII(b byte) bool { return b >= 'A' && b <= 'Z' }

func deepCopy(value any) any {
	switch v := value.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = deepCopy(item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = deepCopy(item)
		}
		return out
	default:
		return value
	}
}
