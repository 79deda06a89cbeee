// Package hospital embeds Ward's sample hospital: Kestrel Bay General
// Hospital, an invented hospital with invented staff and patients, as FHIR
// R4 transaction Bundles. ward serve --demo loads it, and
// docs/hospital-model.md uses it for its examples.
//
// Every entry is a PUT to a fixed id with a urn:uuid fullUrl, so loading a
// Bundle again leaves the same resources (as new versions).
package hospital

import "embed"

//go:generate go run ./gen

// FS holds the Bundles listed in Files.
//
//go:embed *.json
var FS embed.FS

// Files names the Bundles in FS in the order they must be loaded: the
// patient Bundle refers to the staff, places and slots of the facility
// Bundle by Type/id.
var Files = []string{"01-facility.json", "02-patients.json"}
