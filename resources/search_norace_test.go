//go:build !race

package resources_test

// raceDetector is true when the tests run under the race detector, which
// makes writes about ten times slower.
const raceDetector = false
