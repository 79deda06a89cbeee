package search

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

func TestExpressionFixesMatchDefinitions(t *testing.T) {
	for key, fix := range expressionFixes {
		url, component, isComponent := strings.Cut(key, "#")
		def, ok := definitions.LookupSearchParameter(url)
		if !ok {
			t.Errorf("fix %s: no such search parameter", key)
			continue
		}
		published := def.Expression
		if isComponent {
			i, err := strconv.Atoi(component)
			if err != nil || i < 0 || i >= len(def.Components) {
				t.Errorf("fix %s: %s has no component %s", key, url, component)
				continue
			}
			published = def.Components[i].Expression
		}
		if published != fix.From {
			t.Errorf("fix %s expects %q, but the definitions publish %q", key, fix.From, published)
		}
		if fix.Reason == "" {
			t.Errorf("fix %s has no reason", key)
		}
	}
}

func TestLookupParamRestrictsToType(t *testing.T) {
	p, ok := LookupParam("Patient", "birthdate")
	if !ok {
		t.Fatal("Patient birthdate not found")
	}
	if p.Expression != "Patient.birthDate" {
		t.Errorf("Expression = %q, want Patient.birthDate", p.Expression)
	}
	if p.Type != storage.TypeDate {
		t.Errorf("Type = %q, want date", p.Type)
	}
	if len(p.Base) != 3 {
		t.Errorf("Base = %v, want Patient, Person and RelatedPerson", p.Base)
	}
}

func TestLookupParamResourceLevel(t *testing.T) {
	for _, resourceType := range []string{"Patient", "Bundle", "Binary", "Parameters"} {
		for _, code := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"} {
			if _, ok := LookupParam(resourceType, code); !ok {
				t.Errorf("LookupParam(%s, %s) not found", resourceType, code)
			}
		}
	}
}

func TestLookupParamSkipped(t *testing.T) {
	for _, tc := range []struct{ resourceType, code string }{
		{"Patient", "_text"},
		{"Patient", "_content"},
		{"Patient", "_query"},
		{"Location", "near"},
	} {
		if _, ok := LookupParam(tc.resourceType, tc.code); ok {
			t.Errorf("LookupParam(%s, %s) found a parameter Ward does not index", tc.resourceType, tc.code)
		}
		if reason, ok := Skipped(tc.resourceType, tc.code); !ok || reason == "" {
			t.Errorf("Skipped(%s, %s) = %q, %v; want a reason", tc.resourceType, tc.code, reason, ok)
		}
	}
}

func TestLookupParamComposite(t *testing.T) {
	p, ok := LookupParam("Observation", "code-value-quantity")
	if !ok {
		t.Fatal("Observation code-value-quantity not found")
	}
	if len(p.Components) != 2 {
		t.Fatalf("got %d components, want 2", len(p.Components))
	}
	first, second := p.Components[0].Param, p.Components[1].Param
	if first.Code != "code" || first.Type != storage.TypeToken || first.Expression != "code" {
		t.Errorf("component 0 = %+v, want code, token, expression code", first)
	}
	if second.Code != "value-quantity" || second.Type != storage.TypeQuantity || second.Expression != "value.ofType(Quantity)" {
		t.Errorf("component 1 = %+v, want value-quantity, quantity, expression value.ofType(Quantity)", second)
	}
}

func TestParamsForCoversDefinitions(t *testing.T) {
	indexed, skipped := 0, 0
	for _, resourceType := range definitions.ResourceTypes() {
		params := ParamsFor(resourceType)
		for code := range definitions.SearchParametersFor(resourceType) {
			_, isIndexed := params[code]
			_, isSkipped := Skipped(resourceType, code)
			if isIndexed == isSkipped {
				t.Errorf("%s %s: indexed %v, skipped %v; want exactly one", resourceType, code, isIndexed, isSkipped)
			}
			if isIndexed {
				indexed++
			} else {
				skipped++
			}
		}
	}
	t.Logf("%d parameters indexed, %d skipped, over all resource types", indexed, skipped)
}

func TestRestrictExpression(t *testing.T) {
	cases := []struct{ name, in, resourceType, want string }{
		{"keeps own branch", "Patient.birthDate | Person.birthDate | RelatedPerson.birthDate", "Person", "Person.birthDate"},
		{"keeps Resource branch", "Resource.meta.tag", "Patient", "Resource.meta.tag"},
		{"keeps parenthesised branch", "(Observation.value as Quantity) | (Condition.onset as Age)", "Condition", "(Condition.onset as Age)"},
		{"ignores bar in strings", "Patient.name.where(use = 'a|b') | Person.name", "Patient", "Patient.name.where(use = 'a|b')"},
		{"keeps bar inside where", "Patient.telecom.where(system = 'phone' | 'sms') | Person.telecom", "Patient", "Patient.telecom.where(system = 'phone' | 'sms')"},
		{"no split over boolean operator", "Patient.deceased.exists() and Patient.deceased != false", "Patient", "Patient.deceased.exists() and Patient.deceased != false"},
		{"keeps relative branches", "code | value", "Observation", "code | value"},
	}
	for _, tc := range cases {
		if got := restrictExpression(tc.in, tc.resourceType); got != tc.want {
			t.Errorf("%s: restrictExpression(%q, %s) = %q, want %q", tc.name, tc.in, tc.resourceType, got, tc.want)
		}
	}
}
