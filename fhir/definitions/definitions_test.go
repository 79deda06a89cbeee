package definitions

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestResourceTypes(t *testing.T) {
	types := ResourceTypes()
	if got, want := len(types), 146; got != want {
		t.Errorf("len(ResourceTypes()) = %d, want %d (the concrete R4 4.0.1 resources)", got, want)
	}
	if !sort.StringsAreSorted(types) {
		t.Errorf("ResourceTypes() is not sorted")
	}
	if got, want := AbstractResourceTypes(), []string{"DomainResource", "Resource"}; !slices.Equal(got, want) {
		t.Errorf("AbstractResourceTypes() = %v, want %v", got, want)
	}

	cases := []struct {
		name     string
		resource bool
		abstract bool
	}{
		{"Patient", true, false},
		{"Bundle", true, false},
		{"Parameters", true, false},
		{"Binary", true, false},
		{"Questionnaire", true, false},
		{"Resource", false, true},
		{"DomainResource", false, true},
		{"MetadataResource", false, false},   // a logical model, not a resource
		{"SubscriptionStatus", false, false}, // R4B, left out of R4
		{"HumanName", false, false},
		{"string", false, false},
		{"patient", false, false},
		{"", false, false},
	}
	for _, c := range cases {
		if got := IsResourceType(c.name); got != c.resource {
			t.Errorf("IsResourceType(%q) = %v, want %v", c.name, got, c.resource)
		}
		if got := IsAbstractResourceType(c.name); got != c.abstract {
			t.Errorf("IsAbstractResourceType(%q) = %v, want %v", c.name, got, c.abstract)
		}
	}
}

func TestTypeKinds(t *testing.T) {
	cases := []struct {
		code      string
		primitive bool
		complex   bool
	}{
		{"string", true, false},
		{"boolean", true, false},
		{"dateTime", true, false},
		{"code", true, false},
		{"xhtml", true, false},
		{"positiveInt", true, false},
		{"HumanName", false, true},
		{"Quantity", false, true},
		{"SimpleQuantity", false, true},
		{"Duration", false, true},
		{"Element", false, true},
		{"BackboneElement", false, true},
		{"Dosage", false, true},
		{"Patient", false, false},
		{"Resource", false, false},
		{"String", false, false},
	}
	for _, c := range cases {
		if got := IsPrimitiveType(c.code); got != c.primitive {
			t.Errorf("IsPrimitiveType(%q) = %v, want %v", c.code, got, c.primitive)
		}
		if got := IsComplexType(c.code); got != c.complex {
			t.Errorf("IsComplexType(%q) = %v, want %v", c.code, got, c.complex)
		}
	}
}

func TestBaseType(t *testing.T) {
	cases := map[string]string{
		"Patient":         "DomainResource",
		"Observation":     "DomainResource",
		"DomainResource":  "Resource",
		"Bundle":          "Resource",
		"Binary":          "Resource",
		"Parameters":      "Resource",
		"Resource":        "",
		"HumanName":       "Element",
		"BackboneElement": "Element",
		"Element":         "",
		"Dosage":          "BackboneElement",
		"Timing":          "BackboneElement",
		"Duration":        "Quantity",
		"Age":             "Quantity",
		"Distance":        "Quantity",
		"Count":           "Quantity",
		"SimpleQuantity":  "Quantity",
		"MoneyQuantity":   "Quantity",
		"Quantity":        "Element",
		"code":            "string",
		"string":          "Element",
		"Base":            "",
		"NoSuchType":      "",
	}
	for name, want := range cases {
		if got := BaseType(name); got != want {
			t.Errorf("BaseType(%q) = %q, want %q", name, got, want)
		}
	}

	if !IsConstraintProfile("SimpleQuantity") || IsConstraintProfile("Duration") {
		t.Errorf("IsConstraintProfile: SimpleQuantity = %v, Duration = %v; want true, false",
			IsConstraintProfile("SimpleQuantity"), IsConstraintProfile("Duration"))
	}
}

func typeCodes(el Element) []string {
	var codes []string
	for _, tr := range el.Types {
		codes = append(codes, tr.Code)
	}
	return codes
}

func TestLookupElement(t *testing.T) {
	cases := []struct {
		path       string
		min        int
		max        string
		types      []string
		contentRef string
		summary    bool
		modifier   bool
	}{
		{"Patient.birthDate", 0, "1", []string{"date"}, "", true, false},
		{"Patient.active", 0, "1", []string{"boolean"}, "", true, true},
		{"Patient.name", 0, "*", []string{"HumanName"}, "", true, false},
		{"Patient.id", 0, "1", []string{"id"}, "", true, false},
		{"Patient.meta", 0, "1", []string{"Meta"}, "", true, false},
		{"Patient.extension", 0, "*", []string{"Extension"}, "", false, false},
		{"Patient.modifierExtension", 0, "*", []string{"Extension"}, "", false, true},
		{"Patient.contained", 0, "*", []string{"Resource"}, "", false, false},
		{"Patient.contact.name", 0, "1", []string{"HumanName"}, "", false, false},
		{"Patient.contact.id", 0, "1", []string{"string"}, "", false, false},
		{"Patient.deceased[x]", 0, "1", []string{"boolean", "dateTime"}, "", true, true},
		{"Observation.status", 1, "1", []string{"code"}, "", true, true},
		{"Observation.value[x]", 0, "1", []string{
			"Quantity", "CodeableConcept", "string", "boolean", "integer", "Range",
			"Ratio", "SampledData", "time", "dateTime", "Period",
		}, "", true, false},
		{"Questionnaire.item.item", 0, "*", nil, "#Questionnaire.item", false, false},
		{"Bundle.entry.resource", 0, "1", []string{"Resource"}, "", true, false},
		// Medplum narrows outcome to OperationOutcome; the generator restores R4.
		{"Bundle.entry.response.outcome", 0, "1", []string{"Resource"}, "", true, false},
		{"EvidenceVariable.characteristic", 1, "*", []string{"BackboneElement"}, "", true, false},
		{"EvidenceVariable.characteristic.definition[x]", 1, "1", []string{
			"Reference", "canonical", "CodeableConcept", "Expression", "DataRequirement", "TriggerDefinition",
		}, "", true, false},
		{"HumanName.given", 0, "*", []string{"string"}, "", true, false},
		{"Element.id", 0, "1", []string{"string"}, "", false, false},
		{"Extension.url", 1, "1", []string{"uri"}, "", false, false},
		{"string.value", 0, "1", []string{"string"}, "", false, false},
		{"instant.value", 0, "1", []string{"instant"}, "", false, false},
		{"xhtml.id", 0, "1", []string{"string"}, "", false, false},
		{"Resource.id", 0, "1", []string{"id"}, "", true, false},
		{"SimpleQuantity.comparator", 0, "0", []string{"code"}, "", true, true},
		{"Quantity.comparator", 0, "1", []string{"code"}, "", true, true},
		{"Duration.value", 0, "1", []string{"decimal"}, "", true, false},
	}
	for _, c := range cases {
		el, ok := LookupElement(c.path)
		if !ok {
			t.Errorf("LookupElement(%q) not found", c.path)
			continue
		}
		if el.Path != c.path {
			t.Errorf("LookupElement(%q).Path = %q", c.path, el.Path)
		}
		if el.Min != c.min || el.Max != c.max {
			t.Errorf("%s cardinality = %d..%s, want %d..%s", c.path, el.Min, el.Max, c.min, c.max)
		}
		if got := typeCodes(el); !slices.Equal(got, c.types) {
			t.Errorf("%s types = %v, want %v", c.path, got, c.types)
		}
		if el.ContentReference != c.contentRef {
			t.Errorf("%s contentReference = %q, want %q", c.path, el.ContentReference, c.contentRef)
		}
		if el.IsSummary != c.summary {
			t.Errorf("%s isSummary = %v, want %v", c.path, el.IsSummary, c.summary)
		}
		if el.IsModifier != c.modifier {
			t.Errorf("%s isModifier = %v, want %v", c.path, el.IsModifier, c.modifier)
		}
	}

	for _, path := range []string{
		"Observation.valueQuantity",       // typed choice names are not snapshot paths
		"DeviceDefinition.classification", // R5 element that Medplum adds
		"Meta.project",                    // Medplum's own Meta element
		"ResearchStudy.recruitment",
		"EvidenceVariable.characteristic.definitionReference",
		"SubscriptionStatus.status",
		"Patient.nope",
		"",
	} {
		if _, ok := LookupElement(path); ok {
			t.Errorf("LookupElement(%q) found, want not found", path)
		}
	}
}

func TestReferenceTargets(t *testing.T) {
	cases := map[string][]string{
		"Observation.subject":         {"Patient", "Group", "Device", "Location"},
		"Patient.generalPractitioner": {"Organization", "Practitioner", "PractitionerRole"},
		// Medplum adds its Bot and ClientApplication here; the generator drops them.
		"AuditEvent.agent.who":      {"PractitionerRole", "Practitioner", "Organization", "Device", "Patient", "RelatedPerson"},
		"Questionnaire.derivedFrom": {"Questionnaire"},
		"ResearchStudy.site":        {"Location"},
	}
	for path, want := range cases {
		el, ok := LookupElement(path)
		if !ok || len(el.Types) != 1 {
			t.Errorf("LookupElement(%q) = %+v, %v; want one type", path, el, ok)
			continue
		}
		if got := el.Types[0].TargetProfiles; !slices.Equal(got, want) {
			t.Errorf("%s target profiles = %v, want %v", path, got, want)
		}
	}

	el, _ := LookupElement("Observation.referenceRange.low")
	if len(el.Types) != 1 || el.Types[0].Code != "Quantity" || !slices.Equal(el.Types[0].Profiles, []string{"SimpleQuantity"}) {
		t.Errorf("Observation.referenceRange.low types = %+v, want Quantity with profile SimpleQuantity", el.Types)
	}
}

func childPaths(els []Element) []string {
	var paths []string
	for _, el := range els {
		paths = append(paths, el.Path)
	}
	return paths
}

func TestChildren(t *testing.T) {
	cases := map[string][]string{
		"Patient.contact": {
			"Patient.contact.id", "Patient.contact.extension", "Patient.contact.modifierExtension",
			"Patient.contact.relationship", "Patient.contact.name", "Patient.contact.telecom",
			"Patient.contact.address", "Patient.contact.gender", "Patient.contact.organization",
			"Patient.contact.period",
		},
		"HumanName": {
			"HumanName.id", "HumanName.extension", "HumanName.use", "HumanName.text",
			"HumanName.family", "HumanName.given", "HumanName.prefix", "HumanName.suffix",
			"HumanName.period",
		},
		"Period": {"Period.id", "Period.extension", "Period.start", "Period.end"},
	}
	for path, want := range cases {
		if got := childPaths(Children(path)); !slices.Equal(got, want) {
			t.Errorf("Children(%q) = %v, want %v", path, got, want)
		}
	}

	patient := Children("Patient")
	if len(patient) == 0 || patient[0].Path != "Patient.id" {
		t.Errorf("Children(Patient) starts with %v, want Patient.id first", childPaths(patient[:min(1, len(patient))]))
	}
	for _, el := range patient {
		if strings.Count(el.Path, ".") != 1 {
			t.Errorf("Children(Patient) contains grandchild %s", el.Path)
		}
	}

	nested := childPaths(Children("Questionnaire.item.item"))
	if !slices.Equal(nested, childPaths(Children("Questionnaire.item"))) || !slices.Contains(nested, "Questionnaire.item.linkId") {
		t.Errorf("Children(Questionnaire.item.item) = %v, want the children of Questionnaire.item", nested)
	}

	for _, path := range []string{"Patient.name", "Patient.birthDate", "NoSuchType"} {
		if got := Children(path); got != nil {
			t.Errorf("Children(%q) = %v, want nil", path, childPaths(got))
		}
	}
}

func TestEveryTypeCodeIsKnown(t *testing.T) {
	for _, rt := range slices.Concat(ResourceTypes(), AbstractResourceTypes()) {
		walkElements(t, rt, func(el Element) {
			for _, tr := range el.Types {
				if !IsPrimitiveType(tr.Code) && !IsComplexType(tr.Code) && !IsResourceType(tr.Code) && tr.Code != "Resource" {
					t.Errorf("%s has type %q, which is neither a data type nor a resource type", el.Path, tr.Code)
				}
				for _, target := range tr.TargetProfiles {
					if !IsResourceType(target) && !IsAbstractResourceType(target) && !IsComplexType(target) {
						t.Errorf("%s targets %q, which is not a known type", el.Path, target)
					}
				}
			}
			if el.ContentReference != "" {
				if _, ok := LookupElement(strings.TrimPrefix(el.ContentReference, "#")); !ok {
					t.Errorf("%s contentReference %s resolves to no element", el.Path, el.ContentReference)
				}
			}
		})
	}
}

func walkElements(t *testing.T, path string, visit func(Element)) {
	t.Helper()
	for _, el := range Children(path) {
		if !strings.HasPrefix(el.Path, path+".") {
			continue // reached through a contentReference, walked from its own path
		}
		visit(el)
		walkElements(t, el.Path, visit)
	}
}

func TestSearchParameters(t *testing.T) {
	all := SearchParameters()
	// R4 4.0.1 defines 1375; Medplum's package adds three that the
	// generator removes.
	if got, want := len(all), 1375; got != want {
		t.Errorf("len(SearchParameters()) = %d, want %d", got, want)
	}
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].URL < all[j].URL }) {
		t.Errorf("SearchParameters() is not sorted by URL")
	}

	patient := SearchParametersFor("Patient")
	birthdate, ok := patient["birthdate"]
	if !ok {
		t.Fatalf("Patient has no birthdate parameter")
	}
	if birthdate.Type != "date" {
		t.Errorf("Patient birthdate type = %q, want date", birthdate.Type)
	}
	if want := "Patient.birthDate | Person.birthDate | RelatedPerson.birthDate"; birthdate.Expression != want {
		t.Errorf("Patient birthdate expression = %q, want %q", birthdate.Expression, want)
	}
	if birthdate.ID != "individual-birthdate" || birthdate.URL != "http://hl7.org/fhir/SearchParameter/individual-birthdate" {
		t.Errorf("Patient birthdate id, url = %q, %q", birthdate.ID, birthdate.URL)
	}
	if !slices.Equal(birthdate.Base, []string{"Patient", "Person", "RelatedPerson"}) {
		t.Errorf("Patient birthdate base = %v", birthdate.Base)
	}
	if !slices.Contains(birthdate.Comparator, "ap") || birthdate.XPathUsage != "normal" {
		t.Errorf("Patient birthdate comparator, xpathUsage = %v, %q", birthdate.Comparator, birthdate.XPathUsage)
	}

	for _, code := range []string{"_id", "_lastUpdated", "_profile", "_security", "_source", "_tag", "_text", "name", "identifier", "general-practitioner"} {
		if _, ok := patient[code]; !ok {
			t.Errorf("SearchParametersFor(Patient) has no %s", code)
		}
	}
	bundle := SearchParametersFor("Bundle")
	if _, ok := bundle["_text"]; ok {
		t.Errorf("SearchParametersFor(Bundle) has _text, which is defined on DomainResource only")
	}
	if _, ok := bundle["_id"]; !ok {
		t.Errorf("SearchParametersFor(Bundle) has no _id")
	}
	if got := SearchParametersFor("NoSuchType"); len(got) != 0 {
		t.Errorf("SearchParametersFor(NoSuchType) = %d parameters, want 0", len(got))
	}

	delete(patient, "birthdate")
	if _, ok := SearchParametersFor("Patient")["birthdate"]; !ok {
		t.Errorf("deleting from a returned map changed the package's table")
	}
}

func TestSearchParameterDetails(t *testing.T) {
	subject := SearchParametersFor("Observation")["subject"]
	if subject.Type != "reference" || !slices.Equal(subject.Target, []string{"Group", "Device", "Patient", "Location"}) {
		t.Errorf("Observation subject = %s %v, want reference to Group, Device, Patient, Location", subject.Type, subject.Target)
	}

	combo := SearchParametersFor("Observation")["code-value-quantity"]
	if combo.Type != "composite" || len(combo.Components) != 2 {
		t.Fatalf("Observation code-value-quantity = %s with %d components, want composite with 2", combo.Type, len(combo.Components))
	}
	if c := combo.Components[0]; c.Definition != "http://hl7.org/fhir/SearchParameter/clinical-code" || c.Expression != "code" {
		t.Errorf("code-value-quantity component 0 = %+v", c)
	}
	if _, ok := LookupSearchParameter(combo.Components[1].Definition); !ok {
		t.Errorf("component definition %s resolves to no parameter", combo.Components[1].Definition)
	}
	if combo.MultipleOr == nil || *combo.MultipleOr {
		t.Errorf("code-value-quantity multipleOr = %v, want false", combo.MultipleOr)
	}
	if combo.MultipleAnd != nil {
		t.Errorf("code-value-quantity multipleAnd = %v, want unset", *combo.MultipleAnd)
	}

	contextQuantity, ok := LookupSearchParameter("http://hl7.org/fhir/SearchParameter/ActivityDefinition-context-type-quantity")
	if !ok || contextQuantity.MultipleOr == nil || *contextQuantity.MultipleOr {
		t.Errorf("ActivityDefinition-context-type-quantity multipleOr = %v, want false", contextQuantity.MultipleOr)
	}

	text, ok := LookupSearchParameter("http://hl7.org/fhir/SearchParameter/DomainResource-text")
	if !ok || text.Code != "_text" || text.Expression != "" || !slices.Equal(text.Base, []string{"DomainResource"}) {
		t.Errorf("DomainResource-text = %+v, %v", text, ok)
	}

	for _, p := range SearchParameters() {
		for _, base := range p.Base {
			if !IsResourceType(base) && !IsAbstractResourceType(base) {
				t.Errorf("%s has base %q, which is not a resource type", p.ID, base)
			}
		}
		for _, c := range p.Components {
			if _, ok := LookupSearchParameter(c.Definition); !ok {
				t.Errorf("%s component %s resolves to no parameter", p.ID, c.Definition)
			}
		}
	}
}

func TestPatientCompartment(t *testing.T) {
	comp := PatientCompartment()
	cases := map[string][]string{
		"Observation":        {"subject", "performer"},
		"Patient":            {"link"},
		"AllergyIntolerance": {"patient", "recorder", "asserter"},
		"Encounter":          {"patient"},
		"Coverage":           {"policy-holder", "subscriber", "beneficiary", "payor"},
	}
	for rt, want := range cases {
		if got := comp[rt]; !slices.Equal(got, want) {
			t.Errorf("PatientCompartment()[%s] = %v, want %v", rt, got, want)
		}
	}
	for _, rt := range []string{"Practitioner", "Organization", "Medication", "Binary", "Task"} {
		if got, ok := comp[rt]; ok {
			t.Errorf("PatientCompartment()[%s] = %v, want absent", rt, got)
		}
	}

	for rt, codes := range comp {
		params := SearchParametersFor(rt)
		for _, code := range codes {
			if p, ok := params[code]; !ok || p.Type != "reference" {
				t.Errorf("compartment param %s.%s is not a reference search parameter of %s", rt, code, rt)
			}
		}
	}

	comp["Observation"][0] = "changed"
	if PatientCompartment()["Observation"][0] != "subject" {
		t.Errorf("changing a returned slice changed the package's table")
	}
}

func TestConcurrentReads(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_ = IsResourceType("Patient")
			_, _ = LookupElement("Patient.name")
			_ = SearchParametersFor("Observation")
			_ = PatientCompartment()
		})
	}
	wg.Wait()
}

func TestSearchParametersLeaveOutMedplumAdditions(t *testing.T) {
	if p, ok := SearchParametersFor("DetectedIssue")["status"]; ok {
		t.Errorf("DetectedIssue has search parameter status (%s), which R4 lacks", p.URL)
	}
	if p, ok := SearchParametersFor("ServiceRequest")["order-detail"]; ok {
		t.Errorf("ServiceRequest has search parameter order-detail (%s), which R4 lacks", p.URL)
	}

	patient := SearchParametersFor("Encounter")["patient"]
	if patient.ID != "clinical-patient" || !slices.Equal(patient.Target, []string{"Patient", "Group"}) {
		t.Errorf("Encounter patient = %s with targets %v, want clinical-patient with Patient, Group", patient.ID, patient.Target)
	}

	valueQuantity := SearchParametersFor("Observation")["value-quantity"]
	if want := "(Observation.value.ofType(Quantity)) | (Observation.value.ofType(SampledData))"; valueQuantity.Expression != want {
		t.Errorf("Observation value-quantity expression = %q, want the ofType form %q", valueQuantity.Expression, want)
	}
}
