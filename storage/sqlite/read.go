package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// Read returns the current version of resourceType/id.
func (s *Store) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	return readCurrent(ctx, s.reader, resourceType, id)
}

// queryRower is the part of *sql.DB and *sql.Tx that readCurrent needs.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readCurrent(ctx context.Context, db queryRower, resourceType, id string) (storage.Resource, error) {
	row := db.QueryRowContext(ctx,
		`SELECT r.version, r.last_updated, r.op, h.body FROM resources r CROSS JOIN history h ON h.seq = r.seq
		 WHERE r.type = ? AND r.id = ?`,
		resourceType, id)
	r, err := scanResource(row, resourceType, id)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Resource{}, fmt.Errorf("sqlite: read %s/%s: %w", resourceType, id, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: read %s/%s: %w", resourceType, id, err)
	}
	if r.Deleted {
		return r, fmt.Errorf("sqlite: read %s/%s: deleted in version %d: %w", resourceType, id, r.VersionID, storage.ErrGone)
	}
	return r, nil
}

// ReadVersion returns version versionID of resourceType/id from history.
func (s *Store) ReadVersion(ctx context.Context, resourceType, id string, versionID int64) (storage.Resource, error) {
	row := s.reader.QueryRowContext(ctx,
		`SELECT version, last_updated, op, body FROM history WHERE type = ? AND id = ? AND version = ?`,
		resourceType, id, versionID)
	r, err := scanResource(row, resourceType, id)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Resource{}, fmt.Errorf("sqlite: read %s/%s/_history/%d: %w", resourceType, id, versionID, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: read %s/%s/_history/%d: %w", resourceType, id, versionID, err)
	}
	if r.Deleted {
		return r, fmt.Errorf("sqlite: read %s/%s/_history/%d: version is a deletion: %w", resourceType, id, versionID, storage.ErrGone)
	}
	return r, nil
}

// scanner is the part of *sql.Row and *sql.Rows that scanResource needs.
type scanner interface {
	Scan(dest ...any) error
}

// scanResource reads the columns version, last_updated, op, body.
func scanResource(row scanner, resourceType, id string) (storage.Resource, error) {
	r := storage.Resource{Type: resourceType, ID: id}
	var millis int64
	var op string
	var body []byte
	if err := row.Scan(&r.VersionID, &millis, &op, &body); err != nil {
		return storage.Resource{}, err
	}

	r.LastUpdated = time.UnixMilli(millis).UTC()
	r.Op = storage.Operation(op)
	r.Deleted = r.Op == storage.OpDelete
	if !r.Deleted {
		r.JSON = body
	}
	return r, nil
}
