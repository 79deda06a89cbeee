package resources_test

import (
	"archive/zip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/resources"
)

// specErrors lists the R4 examples that break a rule of the R4
// specification itself, with the rule. Ward rejects them, as it should; any
// other rejection fails the test.
var specErrors = map[string]string{
	"ActivityDefinition-heart-valve-replacement.json":   "txt-2: the narrative div has no non-whitespace content",
	"EventDefinition-example.json":                      "txt-2: the narrative div has no non-whitespace content",
	"Questionnaire-zika-virus-exposure-assessment.json": "txt-2: the narrative div has no non-whitespace content",
	"DeviceMetric-example.json":                         "DeviceMetric.parent may refer only to Device, not DeviceDefinition",
	"DeviceUseStatement-example.json":                   "DeviceUseStatement.reasonReference may not refer to Procedure",
	"MedicationRequest-medrx0301.json":                  "MedicationRequest.dispenseRequest.performer may refer only to Organization",
	"Observation-clinical-gender.json":                  "Observation.performer may not refer to Encounter",
	"ImplementationGuide-fhir.json":                     "ImplementationGuide.name and status are required (1..1)",
	"ig-r4.json":                                        "ImplementationGuide.name and status are required (1..1)",
	"Questionnaire-qs1.json":                            "Questionnaire.item.linkId is required (1..1) on nested items",
	"SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": "the id has 67 characters; a FHIR id has at most 64",
	"SearchParameter-codesystem-extensions-CodeSystem-author.json":                             "SearchParameter.base is required (1..*)",
	"SearchParameter-codesystem-extensions-CodeSystem-effective.json":                          "SearchParameter.base is required (1..*)",
	"SearchParameter-codesystem-extensions-CodeSystem-end.json":                                "SearchParameter.base is required (1..*)",
	"SearchParameter-codesystem-extensions-CodeSystem-keyword.json":                            "SearchParameter.base is required (1..*)",
	"SearchParameter-codesystem-extensions-CodeSystem-workflow.json":                           "SearchParameter.base is required (1..*)",
	"SearchParameter-valueset-extensions-ValueSet-author.json":                                 "SearchParameter.base is required (1..*)",
	"SearchParameter-valueset-extensions-ValueSet-effective.json":                              "SearchParameter.base is required (1..*)",
	"SearchParameter-valueset-extensions-ValueSet-end.json":                                    "SearchParameter.base is required (1..*)",
	"SearchParameter-valueset-extensions-ValueSet-keyword.json":                                "SearchParameter.base is required (1..*)",
	"SearchParameter-valueset-extensions-ValueSet-workflow.json":                               "SearchParameter.base is required (1..*)",
}

// testdataDir returns WARD_TESTDATA, or ../shared/testdata beside the
// repository root.
func testdataDir(t *testing.T) string {
	if dir := os.Getenv("WARD_TESTDATA"); dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "testdata")
		}
	}
	return filepath.Join("..", "..", "shared", "testdata")
}

type example struct {
	name string
	body []byte
}

func readExamples(t *testing.T) []example {
	t.Helper()
	path := filepath.Join(testdataDir(t), "r4-examples.zip")
	archive, err := zip.OpenReader(path)
	if err != nil {
		t.Skipf("skipping: the R4 examples are not at %s (set WARD_TESTDATA): %v", path, err)
	}
	defer archive.Close()

	var examples []example
	for _, file := range archive.File {
		name := filepath.Base(file.Name)
		if !strings.HasSuffix(name, ".json") || name == "package.json" || strings.HasPrefix(name, ".") {
			continue
		}
		r, err := file.Open()
		if err != nil {
			t.Fatalf("open %s: %v", file.Name, err)
		}
		body, err := io.ReadAll(r)
		_ = r.Close()
		if err != nil {
			t.Fatalf("read %s: %v", file.Name, err)
		}
		examples = append(examples, example{name: name, body: body})
	}
	return examples
}

// withoutServerMeta removes what the server sets (meta.versionId and
// meta.lastUpdated, and meta itself when nothing else is left) and returns
// the canonical bytes of what remains.
func withoutServerMeta(t *testing.T, data []byte) string {
	t.Helper()
	obj, err := fhir.Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if meta, ok := obj["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(obj, "meta")
		}
	}
	out, err := fhir.Marshal(obj)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(out)
}

// TestR4ExamplesRoundTrip writes every example of the R4 specification
// with PUT, so that it keeps its id, and reads it back: what comes back
// must equal what was sent apart from meta.versionId and meta.lastUpdated.
func TestR4ExamplesRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the R4 example round trip in -short mode")
	}
	examples := readExamples(t)
	s := newTestServer(t, func(c *resources.Config) {
		c.Logger = discardLogger()
	})

	var (
		mu       sync.Mutex
		rejected = map[string]string{}
		accepted int
	)
	work := make(chan example)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ex := range work {
				reason := roundTrip(t, s, ex)
				mu.Lock()
				if reason == "" {
					accepted++
				} else {
					rejected[ex.name] = reason
				}
				mu.Unlock()
			}
		})
	}
	for _, ex := range examples {
		work <- ex
	}
	close(work)
	wg.Wait()

	t.Logf("R4 examples accepted and read back equal: %d of %d", accepted, len(examples))
	names := make([]string, 0, len(rejected))
	for name := range rejected {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if rule, ok := specErrors[name]; ok {
			t.Logf("rejected %s, which breaks the specification (%s): %.300s", name, rule, rejected[name])
			continue
		}
		t.Errorf("rejected %s: %.1000s", name, rejected[name])
	}
	for name := range specErrors {
		if _, ok := rejected[name]; !ok {
			t.Errorf("%s breaks the specification but was accepted", name)
		}
	}
}

// roundTrip writes one example and reads it back. It returns why the
// example was not accepted or not read back equal, or "" on success.
func roundTrip(t *testing.T, s *testServer, ex example) string {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(ex.body, &head); err != nil {
		return "not JSON: " + err.Error()
	}

	method, path := "PUT", "/"+head.ResourceType+"/"+head.ID
	if head.ID == "" {
		method, path = "POST", "/"+head.ResourceType
	}
	written := s.doBytes(method, path, ex.body)
	if written.status != http.StatusCreated && written.status != http.StatusOK {
		return http.StatusText(written.status) + ": " + outcomeText(written.body)
	}

	location := strings.TrimPrefix(written.header.Get("Location"), s.url)
	location = location[:strings.Index(location, "/_history/")]
	read := s.doBytes("GET", location, nil)
	if read.status != http.StatusOK {
		return "read back failed: " + http.StatusText(read.status)
	}
	if withoutServerMeta(t, read.body) != withoutServerMeta(t, withID(t, ex.body, head.ID, location)) {
		return "read back differs from what was sent"
	}
	return ""
}

// withID sets the id that a POST assigned, so that the comparison ignores
// it.
func withID(t *testing.T, body []byte, id, location string) []byte {
	if id != "" {
		return body
	}
	obj, err := fhir.Decode(body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	obj["id"] = location[strings.LastIndex(location, "/")+1:]
	out, err := fhir.Marshal(obj)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return out
}

func outcomeText(body []byte) string {
	var outcome struct {
		Issue []struct {
			Diagnostics string   `json:"diagnostics"`
			Expression  []string `json:"expression"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &outcome); err != nil || len(outcome.Issue) == 0 {
		return string(body)
	}
	var parts []string
	for _, issue := range outcome.Issue {
		parts = append(parts, strings.Join(issue.Expression, ",")+" "+issue.Diagnostics)
	}
	return strings.Join(parts, "; ")
}
