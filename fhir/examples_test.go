package fhir

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examplesAccepted is how many resources of r4-examples.zip (the FHIR R4
// 4.0.1 examples package) ParseResource accepted when this was last
// measured. TestR4Examples fails if fewer pass, so a change that rejects
// more of the specification's own examples is noticed. The 21 rejected
// ones break R4 rules: missing required elements (SearchParameter.base,
// Questionnaire.item.linkId, ImplementationGuide.name), reference targets
// of a type the element does not allow, an id of 67 characters, and empty
// narratives (txt-2).
const examplesAccepted = 5146

// testdataDir returns the shared test data folder: $WARD_TESTDATA, or
// ../shared/testdata beside the repository root.
func testdataDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("WARD_TESTDATA"); dir != "" {
		return dir
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "testdata")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod found above the test's directory")
		}
		dir = parent
	}
}

type exampleFile struct {
	name string
	body []byte
}

// readExamples returns the JSON files of r4-examples.zip, skipping the test
// when the archive is missing.
func readExamples(t testing.TB) []exampleFile {
	t.Helper()
	path := filepath.Join(testdataDir(t), "r4-examples.zip")
	archive, err := zip.OpenReader(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("R4 examples not found at %s; set WARD_TESTDATA to the shared test data folder", path)
	}
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer archive.Close()

	var files []exampleFile
	for _, f := range archive.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatalf("open %s in %s: %v", f.Name, path, err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("read %s in %s: %v", f.Name, path, err)
		}
		files = append(files, exampleFile{name: f.Name, body: body})
	}
	return files
}

func TestR4Examples(t *testing.T) {
	if raceEnabled {
		t.Skip("takes minutes under the race detector; run without -race")
	}
	files := readExamples(t)

	accepted := 0
	var notResources []string
	for _, f := range files {
		var probe struct {
			ResourceType *string `json:"resourceType"`
		}
		if err := json.Unmarshal(f.body, &probe); err == nil && probe.ResourceType == nil {
			// package.json is the npm package's manifest, not a resource.
			notResources = append(notResources, f.name)
			continue
		}

		_, err := ParseResource(f.body, DefaultLimits())
		if err == nil {
			accepted++
			continue
		}
		var invalidErr *InvalidError
		if !errors.As(err, &invalidErr) {
			t.Errorf("%s: error %v is not an *InvalidError", f.name, err)
			continue
		}
		t.Logf("rejected %s: %s", f.name, summarizeIssues(invalidErr.Issues, 3))
	}

	t.Logf("accepted %d of %d resources; %d JSON files are not resources: %v",
		accepted, len(files)-len(notResources), len(notResources), notResources)
	if accepted < examplesAccepted {
		t.Errorf("accepted %d examples, fewer than the %d measured before", accepted, examplesAccepted)
	}
}

// summarizeIssues lists the first limit issues and counts the rest.
func summarizeIssues(issues []Issue, limit int) string {
	var parts []string
	for i, issue := range issues {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(issues)-limit))
			break
		}
		parts = append(parts, issue.Code+": "+issue.Diagnostics)
	}
	return strings.Join(parts, "; ")
}

// TestMaxDepthOfExamples measures the deepest nesting in the R4 examples,
// the figure that DefaultLimits' MaxDepth is weighed against.
func TestMaxDepthOfExamples(t *testing.T) {
	files := readExamples(t)
	deepest, deepestName := 0, ""
	for _, f := range files {
		if depth := jsonDepth(f.body); depth > deepest {
			deepest, deepestName = depth, f.name
		}
	}
	t.Logf("deepest example: %s, %d levels", deepestName, deepest)
	if limit := DefaultLimits().MaxDepth; deepest > limit {
		t.Errorf("%s nests %d levels, over DefaultLimits().MaxDepth %d", deepestName, deepest, limit)
	}
}

// jsonDepth returns the maximum nesting of objects and arrays in body.
func jsonDepth(body []byte) int {
	depth, deepest := 0, 0
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
