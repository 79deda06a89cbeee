package definitions

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// These tests compare the generated tables with the official HL7 R4 4.0.1
// definitions in r4-examples.zip of the shared test data. The generator
// reads Medplum's package, which changes some definitions, so these tests
// check that its correction tables restore R4 exactly.

// openR4Examples opens r4-examples.zip from WARD_TESTDATA, by default
// ../shared/testdata next to the repository root, and skips when missing.
func openR4Examples(t *testing.T) *zip.ReadCloser {
	t.Helper()
	dir := os.Getenv("WARD_TESTDATA")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Skipf("skipping: no WARD_TESTDATA and %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}

	path := filepath.Join(dir, "r4-examples.zip")
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Skipf("skipping: R4 definitions not available at %s (set WARD_TESTDATA): %v", path, err)
	}
	t.Cleanup(func() { z.Close() })
	return z
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func readZipJSON(t *testing.T, z *zip.ReadCloser, name string, v any) {
	t.Helper()
	f, err := z.Open(name)
	if err != nil {
		t.Fatalf("open %s in r4-examples.zip: %v", name, err)
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

type specStructureDefinition struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []struct {
			Path             string `json:"path"`
			Min              int    `json:"min"`
			Max              string `json:"max"`
			ContentReference string `json:"contentReference"`
			IsSummary        bool   `json:"isSummary"`
			IsModifier       bool   `json:"isModifier"`
			Base             struct {
				Path string `json:"path"`
			} `json:"base"`
			Type []struct {
				Code      string `json:"code"`
				Extension []struct {
					URL      string `json:"url"`
					ValueURL string `json:"valueUrl"`
				} `json:"extension"`
				Profile       []string `json:"profile"`
				TargetProfile []string `json:"targetProfile"`
			} `json:"type"`
		} `json:"element"`
	} `json:"snapshot"`
}

// specTypes returns the core R4 data types and resources from the zip.
func specTypes(t *testing.T, z *zip.ReadCloser) map[string]specStructureDefinition {
	t.Helper()
	const core = "http://hl7.org/fhir/StructureDefinition/"
	out := map[string]specStructureDefinition{}
	for _, f := range z.File {
		if !strings.HasPrefix(f.Name, "StructureDefinition-") {
			continue
		}
		var sd specStructureDefinition
		readZipJSON(t, z, f.Name, &sd)
		if sd.URL != core+sd.Name || (sd.Type == "Extension" && sd.Name != "Extension") {
			continue // a profile or extension, not a core type
		}
		switch {
		case sd.Kind == "primitive-type" || sd.Kind == "complex-type":
		case sd.Kind == "resource" && sd.Derivation != "constraint":
		default:
			continue
		}
		out[sd.Name] = sd
	}
	return out
}

// specElements converts the snapshot with the rules that doc.go states.
func specElements(sd specStructureDefinition) []Element {
	const core = "http://hl7.org/fhir/StructureDefinition/"
	names := func(urls []string) []string {
		var out []string
		for _, u := range urls {
			out = append(out, strings.TrimPrefix(u, core))
		}
		return out
	}

	var out []Element
	for _, ed := range sd.Snapshot.Element {
		el := Element{
			Path:             sd.Name + strings.TrimPrefix(ed.Path, sd.Type),
			Min:              ed.Min,
			Max:              ed.Max,
			ContentReference: ed.ContentReference,
			IsSummary:        ed.IsSummary,
			IsModifier:       ed.IsModifier,
		}
		for _, typ := range ed.Type {
			code := typ.Code
			if rest, ok := strings.CutPrefix(code, "http://hl7.org/fhirpath/System."); ok {
				code = strings.ToLower(rest[:1]) + rest[1:]
				for _, ext := range typ.Extension {
					if strings.HasSuffix(ext.URL, "structuredefinition-fhir-type") {
						code = ext.ValueURL
					}
				}
				if ed.Base.Path == "Resource.id" {
					code = "id"
				}
			}
			el.Types = append(el.Types, TypeRef{Code: code, TargetProfiles: names(typ.TargetProfile), Profiles: names(typ.Profile)})
		}
		out = append(out, el)
	}
	return out
}

func TestTypesMatchR4Spec(t *testing.T) {
	z := openR4Examples(t)
	spec := specTypes(t, z)

	var specResources, specAbstract, specData []string
	for name, sd := range spec {
		switch {
		case sd.Kind == "resource" && sd.Abstract:
			specAbstract = append(specAbstract, name)
		case sd.Kind == "resource":
			specResources = append(specResources, name)
		default:
			specData = append(specData, name)
		}

		if got, want := BaseType(name), strings.TrimPrefix(sd.BaseDefinition, "http://hl7.org/fhir/StructureDefinition/"); got != want {
			t.Errorf("BaseType(%s) = %q, R4 says %q", name, got, want)
		}
		if got, want := IsPrimitiveType(name), sd.Kind == "primitive-type"; got != want {
			t.Errorf("IsPrimitiveType(%s) = %v, R4 kind is %s", name, got, sd.Kind)
		}
		if got, want := IsComplexType(name), sd.Kind == "complex-type"; got != want {
			t.Errorf("IsComplexType(%s) = %v, R4 kind is %s", name, got, sd.Kind)
		}
	}
	slices.Sort(specResources)
	slices.Sort(specAbstract)
	slices.Sort(specData)

	if got := ResourceTypes(); !slices.Equal(got, specResources) {
		t.Errorf("ResourceTypes() = %v\nR4 has %v", got, specResources)
	}
	if got := AbstractResourceTypes(); !slices.Equal(got, specAbstract) {
		t.Errorf("AbstractResourceTypes() = %v, R4 has %v", got, specAbstract)
	}
	if got := DataTypes(); !slices.Equal(got, specData) {
		t.Errorf("DataTypes() = %v\nR4 has %v", got, specData)
	}
}

func TestElementsMatchR4Spec(t *testing.T) {
	z := openR4Examples(t)

	for name, sd := range specTypes(t, z) {
		want := specElements(sd)

		// The generated table must hold the same elements in the same
		// order: the type itself, then each element before its children.
		var got []Element
		if root, ok := LookupElement(name); ok {
			got = append(got, root)
		}
		var walk func(path string)
		walk = func(path string) {
			for _, el := range Children(path) {
				if !strings.HasPrefix(el.Path, path+".") {
					continue // reached through a contentReference
				}
				got = append(got, el)
				walk(el.Path)
			}
		}
		walk(name)

		if len(got) != len(want) {
			t.Errorf("%s has %d elements, R4 has %d", name, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i]); g != w {
				t.Errorf("%s element %d:\n got %s\nwant %s", name, i, g, w)
			}
		}
	}
}

type specSearchParameter struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Name        string   `json:"name"`
	Code        string   `json:"code"`
	Type        string   `json:"type"`
	Expression  string   `json:"expression"`
	XPathUsage  string   `json:"xpathUsage"`
	Base        []string `json:"base"`
	Target      []string `json:"target"`
	Modifier    []string `json:"modifier"`
	Comparator  []string `json:"comparator"`
	Chain       []string `json:"chain"`
	MultipleOr  *bool    `json:"multipleOr"`
	MultipleAnd *bool    `json:"multipleAnd"`
	Component   []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

var (
	asFunction = regexp.MustCompile(`\.as\(`)
	asOperator = regexp.MustCompile(`([\w.]+) as (\w+)\)`)
)

// ofTypeForm rewrites R4's "(X as T)" and "X.as(T)" to "X.ofType(T)", the
// form Medplum ships and the package keeps.
func ofTypeForm(expr string) string {
	expr = asFunction.ReplaceAllString(expr, ".ofType(")
	return asOperator.ReplaceAllString(expr, "$1.ofType($2))")
}

func TestSearchParametersMatchR4Spec(t *testing.T) {
	z := openR4Examples(t)
	var bundle struct {
		Entry []struct {
			Resource specSearchParameter `json:"resource"`
		} `json:"entry"`
	}
	readZipJSON(t, z, "Bundle-searchParams.json", &bundle)

	if got, want := len(SearchParameters()), len(bundle.Entry); got != want {
		t.Errorf("len(SearchParameters()) = %d, R4 has %d", got, want)
	}

	rewritten := 0
	for _, entry := range bundle.Entry {
		sp := entry.Resource
		want := SearchParameter{
			ID: sp.ID, URL: sp.URL, Name: sp.Name, Code: sp.Code, Type: sp.Type,
			Expression: ofTypeForm(sp.Expression), XPathUsage: sp.XPathUsage,
			Base: sp.Base, Target: sp.Target, Modifier: sp.Modifier, Comparator: sp.Comparator, Chain: sp.Chain,
			MultipleOr: sp.MultipleOr, MultipleAnd: sp.MultipleAnd,
		}
		for _, c := range sp.Component {
			want.Components = append(want.Components, SearchComponent{Definition: c.Definition, Expression: ofTypeForm(c.Expression)})
		}

		got, ok := LookupSearchParameter(sp.URL)
		if !ok {
			t.Errorf("R4 search parameter %s is missing", sp.URL)
			continue
		}
		if got.Expression != sp.Expression {
			rewritten++
		}
		if g, w := searchParameterString(got), searchParameterString(want); g != w {
			t.Errorf("search parameter %s:\n got %s\nwant %s", sp.ID, g, w)
		}
	}

	// The package documents 69 expressions in the ofType form.
	if rewritten != 69 {
		t.Errorf("%d expressions differ from R4 text, want the 69 ofType rewrites", rewritten)
	}
}

func searchParameterString(p SearchParameter) string {
	deref := func(b *bool) string {
		if b == nil {
			return "unset"
		}
		return fmt.Sprint(*b)
	}
	return fmt.Sprintf("%s %s %s %s %s expr=%q xpathUsage=%s base=%v target=%v modifier=%v comparator=%v chain=%v components=%+v multipleOr=%s multipleAnd=%s",
		p.ID, p.URL, p.Name, p.Code, p.Type, p.Expression, p.XPathUsage, p.Base, p.Target, p.Modifier, p.Comparator, p.Chain, p.Components,
		deref(p.MultipleOr), deref(p.MultipleAnd))
}

func TestPatientCompartmentMatchesR4Spec(t *testing.T) {
	z := openR4Examples(t)
	var def struct {
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param"`
		} `json:"resource"`
	}
	readZipJSON(t, z, "CompartmentDefinition-patient.json", &def)

	want := map[string][]string{}
	for _, r := range def.Resource {
		if len(r.Param) > 0 {
			want[r.Code] = r.Param
		}
	}
	got := PatientCompartment()
	if len(got) != len(want) {
		t.Errorf("PatientCompartment() has %d resource types, R4 has %d", len(got), len(want))
	}
	for resourceType, codes := range want {
		if !slices.Equal(got[resourceType], codes) {
			t.Errorf("PatientCompartment()[%s] = %v, R4 has %v", resourceType, got[resourceType], codes)
		}
	}
}
