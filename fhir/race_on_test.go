//go:build race

package fhir

// raceEnabled is true when the tests run under the race detector, which
// makes the tests over thousands of example resources take minutes.
const raceEnabled = true
