package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"testing"
	"unicode/utf8"
)

// referenceScanCounts counts, with encoding/json's tokenizer, the repeated
// keys and the numbers out of float64 range in a well-formed body. These
// are the counts that scanJSON must match.
func referenceScanCounts(t *testing.T, body []byte) (duplicates, outOfRange int) {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()

	// Each open object has its set of keys, and each open array has nil.
	// An object alternates between expecting a key and expecting a value.
	var keySets []map[string]bool
	var expectKey []bool
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			return duplicates, outOfRange
		}
		if err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}

		top := len(keySets) - 1
		if top >= 0 && keySets[top] != nil && expectKey[top] {
			if key, ok := token.(string); ok {
				if keySets[top][key] {
					duplicates++
				}
				keySets[top][key] = true
				expectKey[top] = false
				continue
			}
		}

		switch v := token.(type) {
		case json.Delim:
			switch v {
			case '{':
				keySets = append(keySets, map[string]bool{})
				expectKey = append(expectKey, true)
				continue
			case '[':
				keySets = append(keySets, nil)
				expectKey = append(expectKey, false)
				continue
			default:
				keySets, expectKey = keySets[:top], expectKey[:top]
			}
		case json.Number:
			if _, err := strconv.ParseFloat(string(v), 64); errors.Is(err, strconv.ErrRange) {
				outOfRange++
			}
		}

		// A value ended, so the object around it expects a key next.
		if top := len(keySets) - 1; top >= 0 && keySets[top] != nil {
			expectKey[top] = true
		}
	}
}

// scanCounts counts what scanJSON found, by kind.
func scanCounts(scan *jsonScan) (duplicates, outOfRange int) {
	for _, p := range scan.problems {
		switch p.kind {
		case duplicateKey:
			duplicates++
		case numberOutOfRange:
			outOfRange++
		}
	}
	return duplicates, outOfRange
}

// checkScanAgainstDecoder checks that scanJSON reads a well-formed body to
// its end and finds the same duplicate keys and out-of-range numbers as
// encoding/json's tokenizer.
func checkScanAgainstDecoder(t *testing.T, name string, body []byte) {
	t.Helper()
	scan := scanJSON(body, 0)
	if !scan.complete {
		t.Errorf("%s: scan stopped before the end of a well-formed body", name)
	}
	if scan.unlisted > 0 {
		return
	}
	duplicates, outOfRange := scanCounts(scan)
	wantDuplicates, wantOutOfRange := referenceScanCounts(t, body)
	if duplicates != wantDuplicates {
		t.Errorf("%s: %d duplicate keys found, encoding/json finds %d", name, duplicates, wantDuplicates)
	}
	if outOfRange != wantOutOfRange {
		t.Errorf("%s: %d numbers out of range found, encoding/json finds %d", name, outOfRange, wantOutOfRange)
	}
}

var scanSeeds = []string{
	`{"resourceType":"Patient","active":true,"active":false}`,
	`{"a":{"a":{"a":1}},"a":[{"b":1,"b":2},{"b":3}]}`,
	`{"a":1,"\u0061":2,"b\"":3,"b\"":4,"\ud83d\ude00":5,"😀":6}`,
	`[1e999,-2E+308,1e-400,0,-0.5,1.7976931348623157e308,{"x":12345678901234567890}]`,
	`{"s":"\ud800","t":"\udc00\ud800x","u":"\\ud800","v":"\ud83d\ude00"}`,
	`"top-level string"`,
	`  42 `,
	`[[],{},[[{}]],""]`,
	`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`,
}

func TestScanJSONMatchesDecoder(t *testing.T) {
	for i, seed := range scanSeeds {
		checkScanAgainstDecoder(t, "seed "+strconv.Itoa(i), []byte(seed))
	}
}

// TestScanJSONReadsExamples checks that the scanner reads every R4 example
// to its end, so that none has a part that the duplicate check skipped.
func TestScanJSONReadsExamples(t *testing.T) {
	for _, f := range readExamples(t) {
		checkScanAgainstDecoder(t, f.name, f.body)
	}
}

func FuzzScanJSON(f *testing.F) {
	for _, seed := range scanSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		scan := scanJSON(body, 0) // must not panic on any input

		// encoding/json reads invalid UTF-8 as U+FFFD, so two different
		// invalid keys are equal to it. decodeJSON rejects such bodies
		// before the scanner's findings count.
		if !json.Valid(body) || !utf8.Valid(body) || jsonDepth(body) > scanCeiling {
			return
		}
		if !scan.complete {
			t.Fatalf("scan stopped before the end of the well-formed body %q", body)
		}
		checkScanAgainstDecoder(t, "fuzz input", body)
	})
}
