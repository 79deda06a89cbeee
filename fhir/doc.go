// Package fhir turns request bodies into validated FHIR R4 (4.0.1) resources
// and builds the OperationOutcomes that report what was wrong with them.
//
// A resource in memory is the JSON object decoded by encoding/json with
// Decoder.UseNumber: map[string]any, []any, string, json.Number, bool. Numbers
// stay json.Number so that a decimal such as 1.50 keeps its written
// precision, which FHIR gives meaning to. ParseResource produces that form,
// Marshal writes it back as the canonical bytes that storage keeps, and
// Summary and Elements reduce it for _summary and _elements.
//
// Validation is google/fhir's jsonformat R4 unmarshaller (module
// github.com/google/fhir/go v0.7.4) plus the checks it lacks, which this
// package adds itself; validate.go lists both. Every issue names its
// location as a FHIRPath expression such as "Patient.name[0].given[1]".
//
// The package has no HTTP code: the caller maps ErrTooLarge to 413 and an
// *InvalidError to 400 with the error's Outcome as the body.
package fhir
