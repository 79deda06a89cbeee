package loader

import (
	"fmt"
	"strconv"
	"strings"
)

// Failure is an entry, line or whole Bundle that the server did not store,
// or a part of a file that could not be read as FHIR JSON.
type Failure struct {
	// File is the path of the file. A member of a tar archive is named
	// ARCHIVE/MEMBER, such as synthea.tar.gz/output/fhir/Anna.json.
	File string

	// Entry is the 0-based index in the file's Bundle.entry, or -1 when
	// the failure is not about one entry of a Bundle in the file.
	Entry int

	// Line is the 1-based line of an NDJSON file, or 0.
	Line int

	// Resource is "Type/id", or just the type when the resource has no
	// id, or "" when unknown.
	Resource string

	// Status is the HTTP status of the entry or of the whole request, or
	// 0 when no response was received.
	Status int

	// Diagnostics and Expression come from the OperationOutcome issue
	// that the server returned, or describe a local problem.
	Diagnostics string
	Expression  []string

	// NotLoaded is the number of entries that this failure kept out of
	// the server: 1 for an entry of a batch, every entry for a failed
	// transaction. Failures that repeat a transaction's other issues
	// have 0, so that the sum over all failures counts each entry once.
	NotLoaded int
}

// Error formats the failure as FILE LOCATION (RESOURCE): HTTP STATUS:
// DIAGNOSTICS (at EXPRESSION).
func (f Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.File)
	switch {
	case f.Line > 0:
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(f.Line))
	case f.Entry >= 0:
		fmt.Fprintf(&b, " Bundle.entry[%d]", f.Entry)
	}
	if f.Resource != "" {
		fmt.Fprintf(&b, " (%s)", f.Resource)
	}
	b.WriteString(": ")
	if f.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", f.Status)
	}
	if f.Diagnostics != "" {
		b.WriteString(f.Diagnostics)
	} else {
		b.WriteString("rejected with no diagnostics")
	}
	if len(f.Expression) > 0 {
		fmt.Fprintf(&b, " (at %s)", strings.Join(f.Expression, ", "))
	}
	if f.NotLoaded > 1 {
		fmt.Fprintf(&b, "; %d entries not loaded", f.NotLoaded)
	}
	return b.String()
}
