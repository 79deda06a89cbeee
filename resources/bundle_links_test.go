package resources

import (
	"slices"
	"testing"

	"github.com/ward-fhir/ward/fhir"
)

// TestRewriteLinksFindsEveryLink lists every link the walker reports in a
// resource that has one of each kind, and checks which elements it skips.
func TestRewriteLinksFindsEveryLink(t *testing.T) {
	body := `{"resourceType":"Questionnaire","status":"active",
		"url":"urn:uuid:00000000-0000-4000-8000-00000000000a",
		"derivedFrom":["urn:uuid:00000000-0000-4000-8000-00000000000b"],
		"extension":[{"url":"urn:uuid:00000000-0000-4000-8000-00000000000c","valueUri":"urn:uuid:00000000-0000-4000-8000-00000000000d"}],
		"identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:00000000-0000-4000-8000-00000000000e"}],
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href='urn:uuid:00000000-0000-4000-8000-00000000000f'>x</a><img src=\"urn:uuid:00000000-0000-4000-8000-000000000010\" alt=\"y\"/></div>"},
		"item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"reference",
			"enableWhen":[{"question":"1","operator":"=","answerReference":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000011"}}],
			"initial":[{"valueReference":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000012"}}]}]}],
		"_publisher":{"extension":[{"url":"http://example.org/fhir/StructureDefinition/p","valueReference":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000013"}}]},
		"publisher":"Ward"}`
	res, err := fhir.ParseResource([]byte(body), fhir.DefaultLimits())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}

	var seen []string
	err = rewriteLinks(res.Object, func(l link) (string, bool, error) {
		kinds := map[linkKind]string{linkReference: "reference", linkURI: "uri", linkNarrative: "narrative"}
		seen = append(seen, kinds[l.kind]+" "+l.value[len(l.value)-2:])
		return "", false, nil
	})
	if err != nil {
		t.Fatalf("rewriteLinks: %v", err)
	}
	slices.Sort(seen)

	// 0a is Questionnaire.url (uri); 0b is derivedFrom (canonical) and
	// is skipped; 0c is Extension.url, skipped; 0d a valueUri; 0e an
	// Identifier.value (string), skipped, and 86 its system (uri); 0f and
	// 10 narrative links; 11 and 12 references in nested items defined
	// by contentReference; 13 a reference in a primitive's extension.
	want := []string{"narrative 0f", "narrative 10", "reference 11", "reference 12", "reference 13", "uri 0a", "uri 0d", "uri 86"}
	if !slices.Equal(seen, want) {
		t.Errorf("links = %v, want %v", seen, want)
	}
}

func TestRewriteLinksReplacesInPlace(t *testing.T) {
	body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},
		"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"},
		"hasMember":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"},{"reference":"Observation/kept"}],
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"urn:uuid:00000000-0000-4000-8000-000000000001\">x</a></div>"}}`
	res, err := fhir.ParseResource([]byte(body), fhir.DefaultLimits())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var targets [][]string
	err = rewriteLinks(res.Object, func(l link) (string, bool, error) {
		if l.value != "urn:uuid:00000000-0000-4000-8000-000000000001" {
			return "", false, nil
		}
		if l.kind == linkReference {
			targets = append(targets, l.targets)
			return "Patient/p1", true, nil
		}
		return "https://ward.example/Patient/p1", true, nil
	})
	if err != nil {
		t.Fatalf("rewriteLinks: %v", err)
	}

	out, err := fhir.Marshal(res.Object)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","code":{"text":"x"},"hasMember":[{"reference":"Patient/p1"},{"reference":"Observation/kept"}],"status":"final","subject":{"reference":"Patient/p1"},"text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"https://ward.example/Patient/p1\">x</a></div>","status":"generated"}}`
	if string(out) != want {
		t.Errorf("rewritten resource:\n got %s\nwant %s", out, want)
	}

	// The visitor learns which types each Reference allows, so a caller
	// can reject a rewrite the element does not allow.
	if len(targets) != 2 {
		t.Fatalf("visited %d references, want 2", len(targets))
	}
	subjects, members := 0, 0
	for _, list := range targets {
		switch {
		case slices.Contains(list, "Patient"):
			subjects++
		case slices.Contains(list, "Observation"):
			members++
		}
	}
	if subjects != 1 || members != 1 {
		t.Errorf("allowed targets = %v, want one list with Patient (subject) and one with Observation only (hasMember)", targets)
	}
	if allowsTarget([]string{"Observation", "QuestionnaireResponse"}, "Patient") {
		t.Errorf("allowsTarget accepts Patient for Observation.hasMember")
	}
	if !allowsTarget([]string{"Resource"}, "Patient") || !allowsTarget(nil, "Patient") {
		t.Errorf("allowsTarget rejects Patient where any type is allowed")
	}
}
