package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkLoadSynthea loads the Synthea archives (both, unless the race
// detector is on) into a new data directory per iteration through ward
// load --data-dir, and reports resources stored per second of wall time.
func BenchmarkLoadSynthea(b *testing.B) {
	dir := filepath.Join(sharedTestData(b), "synthea")
	archives := syntheaArchives(b, dir)
	counts, _ := syntheaFiles(b, archives)
	total := 0
	for _, n := range counts {
		total += n
	}

	for b.Loop() {
		b.StopTimer()
		data := filepath.Join(b.TempDir(), "data")
		var stdout, stderr bytes.Buffer
		b.StartTimer()

		if code := run(context.Background(), append([]string{"load", "--data-dir", data}, archives...), &stdout, &stderr); code != 0 {
			b.Fatalf("ward load exited with %d: %s", code, stderr.String())
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "resources/s")
}
