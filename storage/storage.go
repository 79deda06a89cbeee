// Package storage defines the contract between Ward's RESTful layer and the
// stores that keep FHIR resources: a Backend keeps every version of every
// resource as canonical JSON bytes, writes each new version atomically after
// checking the version the caller expected, and serves reads and history.
//
// A backend knows nothing of HTTP. It returns the sentinel errors of this
// package (ErrNotFound, ErrGone, ErrVersionConflict) wrapped with the value
// that failed, and callers test them with errors.Is. The suite in
// storage/storagetest defines "correct": every backend runs it.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every Backend, wrapped with the resource they
// concern.
var (
	// ErrTooCostly means a search exceeded the backend's cost limits.
	ErrTooCostly = errors.New("search too costly")

	// ErrNotFound means the resource or version has never existed.
	ErrNotFound = errors.New("resource not found")

	// ErrGone means the current version of the resource is a deletion.
	ErrGone = errors.New("resource deleted")

	// ErrVersionConflict means the current version differs from the version
	// the write expected, usually because another client wrote first.
	ErrVersionConflict = errors.New("version conflict")

	// ErrInvalidCursor means a history or search cursor could not be
	// decoded, was issued for a different query, or has expired.
	ErrInvalidCursor = errors.New("invalid paging cursor")
)

// Operation records which interaction produced a version, so that history
// entries can carry the request method that made them.
type Operation string

// Operations a version can come from.
const (
	OpCreate Operation = "create" // POST, or PUT that created the resource
	OpUpdate Operation = "update" // PUT of an existing resource
	OpPatch  Operation = "patch"  // PATCH
	OpDelete Operation = "delete" // DELETE
)

// Resource is one stored version of a resource.
type Resource struct {
	Type        string
	ID          string
	VersionID   int64     // 1 for the first version, then 2, 3, ...
	LastUpdated time.Time // UTC, truncated to milliseconds
	Op          Operation
	Deleted     bool   // true when this version is a deletion
	JSON        []byte // canonical JSON; nil for a deletion
}

// AnyVersion in Write.ExpectVersion skips the optimistic check.
const AnyVersion int64 = -1

// Write asks a backend to store one new version.
type Write struct {
	Type string
	ID   string

	// VersionID is the new version's number and must be one more than the
	// current version: 1 for a new resource, and after a deletion the
	// numbers go on from the deletion's.
	VersionID int64

	// LastUpdated is stored truncated to milliseconds in UTC. It must not
	// precede the current version's LastUpdated, because each version's
	// validity for _at ends where the next one begins.
	LastUpdated time.Time
	Op          Operation

	// ExpectVersion is the version that must be current for the write to
	// succeed: 0 when the resource must not exist, AnyVersion to skip the
	// check. A deleted resource's current version is its deletion's number.
	ExpectVersion int64

	// JSON is the canonical JSON of the new version, with its id and meta
	// already set; nil when Op is OpDelete.
	JSON []byte

	// Index holds the search index entries of the new version, computed by
	// the search package; nil for a deletion. A backend that implements
	// Searcher replaces the resource's entries with these atomically with
	// the version.
	Index []IndexEntry
}

// HistoryQuery selects versions for the history interactions. Type and ID
// are both empty for system history; ID is empty for type history. An ID
// without a Type is invalid.
type HistoryQuery struct {
	Type string
	ID   string

	// Since keeps versions whose LastUpdated is at or after it (_since).
	Since time.Time

	// AtLow and AtHigh keep versions that were current at some moment of
	// the closed range [AtLow, AtHigh] (_at). A version is current from its
	// LastUpdated up to, but not including, the next version's LastUpdated.
	// Both are zero when unused; when used, both are set and AtLow is not
	// after AtHigh.
	AtLow, AtHigh time.Time

	// Count is the page size and must be positive; the caller picks the
	// default when the client gave none.
	Count int

	// Cursor is a NextCursor or PrevCursor of an earlier page of the same
	// query, empty for the first page. A cursor that does not decode, or
	// that came from a query with another Type, ID, Since or At, is
	// rejected with an error wrapping ErrInvalidCursor. Count may differ
	// from page to page.
	Cursor string
}

// HistoryPage is one page of history, newest version first.
type HistoryPage struct {
	Versions []Resource

	// Total is the number of versions that match the query over all pages.
	Total int

	// NextCursor is empty on the last page. PrevCursor is empty on the
	// first page. The first page fixes the set of versions that all pages
	// reached through these cursors show, and Total counts that set, so
	// versions written later neither shift later pages nor appear in them.
	NextCursor string
	PrevCursor string
}

// Backend is the contract every store implements. All methods are safe for
// concurrent use.
type Backend interface {
	// Write stores a new version atomically: the version, its history row
	// and, later, its index values all land or none does. It returns an
	// error wrapping ErrVersionConflict when the current version is not
	// w.ExpectVersion. Under AnyVersion it also returns one when
	// w.VersionID is no longer one more than the current version, so a
	// caller that lost a race can read again and retry. A nil error means
	// the version is durable as the backend defines it. A Write with an
	// empty Type or ID, an unknown Op, JSON on a deletion or none on another
	// operation, or a LastUpdated before the current version's is rejected.
	Write(ctx context.Context, w Write) (Resource, error)

	// Read returns the current version. It returns ErrNotFound when the
	// resource never existed and ErrGone, together with the deletion
	// version, when it is deleted.
	Read(ctx context.Context, resourceType, id string) (Resource, error)

	// ReadVersion returns one version (vread). A deletion version is
	// returned with ErrGone.
	ReadVersion(ctx context.Context, resourceType, id string, versionID int64) (Resource, error)

	// History returns one page of versions, newest LastUpdated first and,
	// among versions with the same LastUpdated, the later write first. The
	// order stays stable while other clients write. Deletion versions are
	// included. A resource that never existed yields an empty page, not
	// ErrNotFound.
	History(ctx context.Context, q HistoryQuery) (HistoryPage, error)

	// Ping reports whether the store can serve requests (readiness).
	Ping(ctx context.Context) error

	// Close releases the store. Calls to the other methods after Close
	// fail.
	Close() error
}

// Transactor is implemented by backends that can run several writes, and
// the reads and searches they depend on, as one atomic unit: a FHIR
// transaction Bundle, or a conditional create whose search and write must
// not interleave with another client's.
type Transactor interface {
	// Transaction runs fn. When fn returns nil every write it made commits
	// atomically, index entries included; otherwise, or on a crash, none
	// does. fn must use only tx for storage calls. Transactions may be
	// serialised; fn should not block on anything but tx.
	Transaction(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the view of the store inside a transaction: reads and searches see
// the transaction's own writes.
type Tx interface {
	Write(ctx context.Context, w Write) (Resource, error)
	Read(ctx context.Context, resourceType, id string) (Resource, error)
	Search(ctx context.Context, q Query) (SearchPage, error)
}
