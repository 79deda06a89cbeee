package fhirpath

import (
	"os"
	"path/filepath"
	"testing"
)

// testDataDir returns WARD_TESTDATA, or ../shared/testdata next to the
// repository root, and skips the test when the folder is missing.
func testDataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WARD_TESTDATA")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Skipf("shared test data not found: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test data not found at %s (set WARD_TESTDATA): %v", dir, err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
