package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// Write stores a new version in one transaction: the optimistic check, the
// history row, the current row, and the end of the previous version's
// validity. It returns once the commit is synced to disk.
func (s *Store) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}

	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: write %s/%s: begin: %w", w.Type, w.ID, err)
	}
	defer tx.Rollback()

	pending := map[paramKey]int64{}
	stored, err := s.writeInTx(ctx, tx, w, pending)
	if err != nil {
		return storage.Resource{}, err
	}
	if err := tx.Commit(); err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: write %s/%s version %d: commit: %w", w.Type, w.ID, w.VersionID, err)
	}
	s.params.publish(pending)
	return stored, nil
}

// writeInTx stores a validated write inside tx: the optimistic check, the
// version and its index entries. New parameter numbers go to pending.
func (s *Store) writeInTx(ctx context.Context, tx *sql.Tx, w storage.Write, pending map[paramKey]int64) (storage.Resource, error) {
	stored := storage.Resource{
		Type:        w.Type,
		ID:          w.ID,
		VersionID:   w.VersionID,
		LastUpdated: w.LastUpdated.UTC().Truncate(time.Millisecond),
		Op:          w.Op,
		Deleted:     w.Op == storage.OpDelete,
		JSON:        w.JSON,
	}
	if err := checkCurrent(ctx, tx, w, stored.LastUpdated); err != nil {
		return storage.Resource{}, err
	}
	rid, err := insertVersion(ctx, tx, stored)
	if err != nil {
		return storage.Resource{}, err
	}
	if err := s.replaceIndex(ctx, tx, rid, w, pending); err != nil {
		return storage.Resource{}, err
	}
	return stored, nil
}

func validateWrite(w storage.Write) error {
	name := w.Type + "/" + w.ID
	switch {
	case w.Type == "":
		return fmt.Errorf("sqlite: write %q: resource type is empty", name)
	case w.ID == "":
		return fmt.Errorf("sqlite: write %q: id is empty", name)
	case w.VersionID < 1:
		return fmt.Errorf("sqlite: write %s: version %d is invalid, versions start at 1", name, w.VersionID)
	case w.ExpectVersion < storage.AnyVersion:
		return fmt.Errorf("sqlite: write %s: expected version %d is invalid", name, w.ExpectVersion)
	case w.LastUpdated.IsZero():
		return fmt.Errorf("sqlite: write %s: lastUpdated is missing", name)
	}

	switch w.Op {
	case storage.OpCreate, storage.OpUpdate, storage.OpPatch:
		if len(w.JSON) == 0 {
			return fmt.Errorf("sqlite: write %s version %d: %s without JSON", name, w.VersionID, w.Op)
		}
	case storage.OpDelete:
		if w.JSON != nil {
			return fmt.Errorf("sqlite: write %s version %d: delete carries %d bytes of JSON, want nil", name, w.VersionID, len(w.JSON))
		}
	default:
		return fmt.Errorf("sqlite: write %s version %d: unknown operation %q", name, w.VersionID, w.Op)
	}
	return validateIndex(w)
}

// checkCurrent compares the current version with what the write expects.
func checkCurrent(ctx context.Context, tx *sql.Tx, w storage.Write, lastUpdated time.Time) error {
	var currentVersion, currentMillis int64
	err := tx.QueryRowContext(ctx,
		`SELECT version, last_updated FROM resources WHERE type = ? AND id = ?`,
		w.Type, w.ID).Scan(&currentVersion, &currentMillis)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: write %s/%s: read current version: %w", w.Type, w.ID, err)
	}

	if w.ExpectVersion != storage.AnyVersion && w.ExpectVersion != currentVersion {
		return fmt.Errorf("sqlite: write %s/%s: expected version %d, current version is %d: %w",
			w.Type, w.ID, w.ExpectVersion, currentVersion, storage.ErrVersionConflict)
	}
	if w.VersionID != currentVersion+1 {
		if w.ExpectVersion == storage.AnyVersion {
			return fmt.Errorf("sqlite: write %s/%s: new version %d does not follow current version %d: %w",
				w.Type, w.ID, w.VersionID, currentVersion, storage.ErrVersionConflict)
		}
		return fmt.Errorf("sqlite: write %s/%s: new version %d does not follow current version %d",
			w.Type, w.ID, w.VersionID, currentVersion)
	}
	if currentVersion > 0 && lastUpdated.UnixMilli() < currentMillis {
		return fmt.Errorf("sqlite: write %s/%s version %d: lastUpdated %s precedes version %d's %s",
			w.Type, w.ID, w.VersionID, lastUpdated.Format(time.RFC3339Nano),
			currentVersion, time.UnixMilli(currentMillis).UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// insertVersion adds the history row, closes the previous version's
// validity and replaces the current row. It returns the current row's rid.
func insertVersion(ctx context.Context, tx *sql.Tx, r storage.Resource) (int64, error) {
	millis := r.LastUpdated.UnixMilli()

	result, err := tx.ExecContext(ctx,
		`INSERT INTO history (type, id, version, last_updated, op, body) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Type, r.ID, r.VersionID, millis, string(r.Op), r.JSON)
	if err != nil {
		return 0, fmt.Errorf("sqlite: write %s/%s version %d: insert history: %w", r.Type, r.ID, r.VersionID, err)
	}
	seq, err := result.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite: write %s/%s version %d: history seq: %w", r.Type, r.ID, r.VersionID, err)
	}

	if r.VersionID > 1 {
		_, err = tx.ExecContext(ctx,
			`UPDATE history SET ended = ?, next_seq = ? WHERE type = ? AND id = ? AND version = ?`,
			millis, seq, r.Type, r.ID, r.VersionID-1)
		if err != nil {
			return 0, fmt.Errorf("sqlite: write %s/%s version %d: end version %d: %w", r.Type, r.ID, r.VersionID, r.VersionID-1, err)
		}
	}

	var rid int64
	err = tx.QueryRowContext(ctx, `
INSERT INTO resources (type, id, version, last_updated, deleted, op, seq)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (type, id) DO UPDATE SET
	version = excluded.version,
	last_updated = excluded.last_updated,
	deleted = excluded.deleted,
	op = excluded.op,
	seq = excluded.seq
RETURNING rid`,
		r.Type, r.ID, r.VersionID, millis, r.Deleted, string(r.Op), seq).Scan(&rid)
	if err != nil {
		return 0, fmt.Errorf("sqlite: write %s/%s version %d: upsert current: %w", r.Type, r.ID, r.VersionID, err)
	}
	return rid, nil
}
