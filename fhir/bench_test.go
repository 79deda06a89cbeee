package fhir

import (
	"bytes"
	"encoding/json"
	"testing"
)

// benchResources picks a Patient and an Observation from the Synthea v2.4
// bundles, the shapes Ward loads most, plus every entry of the first
// bundle as a realistic mix.
func benchResources(b *testing.B) map[string][][]byte {
	b.Helper()
	entries := readSyntheaEntries(b, "synthea-v2.4-smart-selfcontained.tar.gz")
	sets := map[string][][]byte{}
	first := entries[0].bundle
	for _, entry := range entries {
		var probe struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(entry.body, &probe); err != nil {
			b.Fatal(err)
		}
		if (probe.ResourceType == "Patient" || probe.ResourceType == "Observation") && len(sets[probe.ResourceType]) == 0 {
			sets[probe.ResourceType] = [][]byte{entry.body}
		}
		if entry.bundle == first {
			sets["bundle-mix"] = append(sets["bundle-mix"], entry.body)
		}
	}
	return sets
}

func averageSize(bodies [][]byte) int64 {
	total := 0
	for _, body := range bodies {
		total += len(body)
	}
	return int64(total / len(bodies))
}

func BenchmarkParseResource(b *testing.B) {
	sets := benchResources(b)
	for _, name := range []string{"Patient", "Observation", "bundle-mix"} {
		bodies := sets[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(averageSize(bodies))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := ParseResource(bodies[i%len(bodies)], DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	sets := benchResources(b)
	for _, name := range []string{"Patient", "Observation", "bundle-mix"} {
		var objects []map[string]any
		for _, body := range sets[name] {
			res, err := ParseResource(body, DefaultLimits())
			if err != nil {
				b.Fatal(err)
			}
			objects = append(objects, res.Object)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(averageSize(sets[name]))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := Marshal(objects[i%len(objects)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeOnly is the floor under ParseResource: encoding/json
// decoding the same bodies into maps, with no validation.
func BenchmarkDecodeOnly(b *testing.B) {
	sets := benchResources(b)
	for _, name := range []string{"Patient", "Observation", "bundle-mix"} {
		bodies := sets[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(averageSize(bodies))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				decoder := json.NewDecoder(bytes.NewReader(bodies[i%len(bodies)]))
				decoder.UseNumber()
				var value any
				if err := decoder.Decode(&value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScanJSONManyKeys scans one object of 200,000 distinct keys. Its
// time per key stays flat as the object grows, because the duplicate check
// moves the keys of a large object into a map.
func BenchmarkScanJSONManyKeys(b *testing.B) {
	body := []byte(`{"resourceType":"Patient",` + manyKeys(200000) + `}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if scan := scanJSON(body, DefaultLimits().MaxDepth); len(scan.problems) > 0 {
			b.Fatalf("problems in distinct keys: %+v", scan.problems[0])
		}
	}
}
