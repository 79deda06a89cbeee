package fhirpath

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// syntheaArchive is the Synthea sample whose first patient bundle the
// search parameter tests and benchmarks read.
const syntheaArchive = "synthea-v2.4-smart-selfcontained.tar.gz"

// loadSyntheaBundles decodes the first limit patient bundles of a Synthea
// archive, straight from the .tar.gz file.
func loadSyntheaBundles(t testing.TB, archive string, limit int) []map[string]any {
	t.Helper()
	path := filepath.Join(testDataDir(t), "synthea", archive)
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("Synthea archive missing: %v", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	var bundles []map[string]any
	for len(bundles) < limit {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if hdr.Typeflag != tar.TypeReg || !strings.HasSuffix(hdr.Name, ".json") {
			continue
		}
		dec := json.NewDecoder(tr)
		dec.UseNumber()
		var b map[string]any
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("decode %s in %s: %v", hdr.Name, path, err)
		}
		if b["resourceType"] == "Bundle" && b["type"] == "transaction" {
			bundles = append(bundles, b)
		}
	}
	if len(bundles) == 0 {
		t.Skipf("no patient bundle in %s", path)
	}
	return bundles
}

func bundleResources(b map[string]any) []map[string]any {
	var out []map[string]any
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		if r, ok := entry["resource"].(map[string]any); ok {
			out = append(out, r)
		}
	}
	return out
}

// searchExpression is one search parameter expression compiled for the
// resource types it applies to.
type searchExpression struct {
	code, src string
	expr      *Expression
}

// compileSearchParameters compiles the expression of every R4 search
// parameter and returns them by resource type.
func compileSearchParameters(t testing.TB) map[string][]searchExpression {
	t.Helper()
	byType := map[string][]searchExpression{}
	for _, rt := range definitions.ResourceTypes() {
		params := definitions.SearchParametersFor(rt)
		codes := make([]string, 0, len(params))
		for code := range params {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			p := params[code]
			if p.Expression == "" {
				continue
			}
			e, err := Compile(p.Expression)
			if err != nil {
				t.Fatalf("search parameter %s (%s): %v", p.URL, p.Expression, err)
			}
			byType[rt] = append(byType[rt], searchExpression{code: code, src: p.Expression, expr: e})
		}
	}
	return byType
}

func TestSearchParameterExpressionsCompile(t *testing.T) {
	count := 0
	for _, p := range definitions.SearchParameters() {
		for _, src := range append([]string{p.Expression}, componentExpressions(p)...) {
			if src == "" {
				continue
			}
			count++
			if _, err := Compile(src); err != nil {
				t.Errorf("search parameter %s: %v", p.URL, err)
			}
		}
	}
	if count < 1000 {
		t.Errorf("compiled only %d search parameter expressions; the definitions look incomplete", count)
	}
}

func componentExpressions(p definitions.SearchParameter) []string {
	var out []string
	for _, c := range p.Components {
		out = append(out, c.Expression)
	}
	return out
}

func TestSearchParametersOnSynthea(t *testing.T) {
	byType := compileSearchParameters(t)
	for _, archive := range []string{syntheaArchive, "synthea-3x-uscore-conditional.tar.gz"} {
		bundles := loadSyntheaBundles(t, archive, 2)
		values := 0
		for _, b := range bundles {
			for _, r := range bundleResources(b) {
				rt, _ := r["resourceType"].(string)
				for _, se := range byType[rt] {
					got, err := se.expr.Evaluate(r)
					if err != nil {
						t.Errorf("%s %s.%s: %v", archive, rt, se.code, err)
						continue
					}
					values += len(got)
				}
			}
		}
		if values == 0 {
			t.Errorf("%s: no search parameter found any value", archive)
		}
	}
}

func TestSearchParameterValuesOnPatient(t *testing.T) {
	bundles := loadSyntheaBundles(t, syntheaArchive, 1)
	var patient map[string]any
	for _, r := range bundleResources(bundles[0]) {
		if r["resourceType"] == "Patient" {
			patient = r
			break
		}
	}
	if patient == nil {
		t.Fatal("no Patient in the first Synthea bundle")
	}
	params := definitions.SearchParametersFor("Patient")

	birth := mustEvaluate(t, params["birthdate"].Expression, patient)
	if len(birth) != 1 || birth[0].TypeName() != "date" {
		t.Fatalf("birthdate = %s, want one date", formatCollection(birth))
	}
	if _, ok := birth[0].Value().(Date); !ok {
		t.Errorf("birthdate value is %T, want Date", birth[0].Value())
	}

	names := mustEvaluate(t, params["name"].Expression, patient)
	if len(names) == 0 || names[0].TypeName() != "HumanName" || names[0].Path() != "Patient.name" {
		t.Errorf("name = %s, want HumanName nodes at Patient.name", formatCollection(names))
	}

	gender := mustEvaluate(t, params["gender"].Expression, patient)
	if len(gender) != 1 || gender[0].TypeName() != "code" {
		t.Errorf("gender = %s, want one code", formatCollection(gender))
	}
}

func mustEvaluate(t *testing.T, src string, r map[string]any, opts ...Option) Collection {
	t.Helper()
	e, err := Compile(src)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	got, err := e.Evaluate(r, opts...)
	if err != nil {
		t.Fatalf("evaluate %q: %v", src, err)
	}
	return got
}

// BenchmarkCompileSearchParameters compiles the expressions of all R4
// search parameters once per iteration.
func BenchmarkCompileSearchParameters(b *testing.B) {
	var sources []string
	for _, p := range definitions.SearchParameters() {
		if p.Expression != "" {
			sources = append(sources, p.Expression)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, src := range sources {
			if _, err := Compile(src); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(sources)), "expressions/op")
}

// BenchmarkEvaluateSearchParameters evaluates, for every resource of one
// Synthea patient bundle, each search parameter expression of its type:
// the work index extraction does when the bundle is written.
func BenchmarkEvaluateSearchParameters(b *testing.B) {
	byType := compileSearchParameters(b)
	bundles := loadSyntheaBundles(b, syntheaArchive, 1)
	resources := bundleResources(bundles[0])
	evaluations := 0
	for _, r := range resources {
		evaluations += len(byType[r["resourceType"].(string)])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, r := range resources {
			for _, se := range byType[r["resourceType"].(string)] {
				if _, err := se.expr.Evaluate(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(len(resources)), "resources/op")
	b.ReportMetric(float64(evaluations), "evaluations/op")
}
