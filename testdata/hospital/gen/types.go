package main

// Code systems and identifier systems used by the sample. The hospital's
// own identifier systems live under kestrelbay.example, a reserved
// example domain, because the hospital is invented.
const (
	sct         = "http://snomed.info/sct"
	loinc       = "http://loinc.org"
	rxnorm      = "http://www.nlm.nih.gov/research/umls/rxnorm"
	ucum        = "http://unitsofmeasure.org"
	actCode     = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	roleCode    = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	obsCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	interp      = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

	hospitalBase = "https://kestrelbay.example/fhir"
	sidMRN       = hospitalBase + "/sid/mrn"
	sidStaff     = hospitalBase + "/sid/staff"
	sidOrg       = hospitalBase + "/sid/organization"
	sidLocation  = hospitalBase + "/sid/location"
	sidOrder     = hospitalBase + "/sid/lab-order"
	sidAccession = hospitalBase + "/sid/accession"
	sidReport    = hospitalBase + "/sid/lab-report"
	sidClaim     = hospitalBase + "/sid/claim"
	sidInvoice   = hospitalBase + "/sid/invoice"
	sidAccount   = hospitalBase + "/sid/account"
	sidMember    = "https://northwind-health.example/sid/member"
)

func coding(system, code, display string) obj {
	return obj{{"system", system}, {"code", code}, {"display", display}}
}

// concept builds a CodeableConcept of one coding.
func concept(system, code, display string) obj {
	return obj{{"coding", list(coding(system, code, display))}, {"text", display}}
}

func text(s string) obj { return obj{{"text", s}} }

func quantity(value float64, unit, code string) obj {
	return obj{{"value", value}, {"unit", unit}, {"system", ucum}, {"code", code}}
}

func money(value float64) obj { return obj{{"value", value}, {"currency", "USD"}} }

func period(start, end string) obj { return obj{{"start", start}, {"end", end}} }

func identifier(system, value string) obj { return obj{{"system", system}, {"value", value}} }

func phone(value, use string) obj {
	return obj{{"system", "phone"}, {"value", value}, {"use", use}}
}

func email(value string) obj { return obj{{"system", "email"}, {"value", value}, {"use", "work"}} }

// address builds an address in the invented town of Kestrel Bay.
func address(line, postalCode string) obj {
	return obj{
		{"use", "home"},
		{"line", []string{line}},
		{"city", "Kestrel Bay"},
		{"state", "OR"},
		{"postalCode", postalCode},
		{"country", "US"},
	}
}

func humanName(prefix, family string, given ...string) obj {
	var prefixes []string
	if prefix != "" {
		prefixes = []string{prefix}
	}
	return obj{{"use", "official"}, {"family", family}, {"given", given}, {"prefix", prefixes}}
}
