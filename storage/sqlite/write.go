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
// history row, the current row, the end of the previous version's
// validity and the index entries. It returns once the commit is synced to
// disk.
func (s *Store) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}

	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: write %s/%s: begin: %w", w.Type, w.ID, err)
	}
	defer sqlTx.Rollback()

	tx := newWriteTx(sqlTx, s.stmts)
	stored, _, err := s.writeInTx(ctx, tx, w)
	if err != nil {
		return storage.Resource{}, err
	}
	if err := sqlTx.Commit(); err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: write %s/%s version %d: commit: %w", w.Type, w.ID, w.VersionID, err)
	}
	s.params.publish(tx.pending)
	return stored, nil
}

// writeInTx stores a validated write inside tx. It checks everything that
// can reject the write before it changes anything, so a write that fails
// with changed == false has left tx as it was. A failure after the first
// change (an I/O error, a full disk, an interrupted statement) returns
// changed == true, and the caller must roll tx back: SQLite may already
// have rolled back the whole transaction by then, and the statements do
// not undo their own partial work (see OR FAIL in statements.go).
func (s *Store) writeInTx(ctx context.Context, tx *writeTx, w storage.Write) (stored storage.Resource, changed bool, err error) {
	stored = storage.Resource{
		Type:        w.Type,
		ID:          w.ID,
		VersionID:   w.VersionID,
		LastUpdated: w.LastUpdated.UTC().Truncate(time.Millisecond),
		Op:          w.Op,
		Deleted:     w.Op == storage.OpDelete,
		JSON:        w.JSON,
	}
	current, err := readCurrentRow(ctx, tx, w)
	if err != nil {
		return storage.Resource{}, false, err
	}
	if err := checkCurrent(w, current, stored.LastUpdated); err != nil {
		return storage.Resource{}, false, err
	}

	if err := s.storeVersion(ctx, tx, w, stored, current); err != nil {
		return storage.Resource{}, true, fmt.Errorf("sqlite: write %s/%s version %d: %w", w.Type, w.ID, w.VersionID, err)
	}
	return stored, true, nil
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

// currentRow is the resources row of the resource a write names. A
// missing row has version 0.
type currentRow struct {
	rid     int64
	version int64
	millis  int64 // last_updated
	op      storage.Operation
	seq     int64
}

func readCurrentRow(ctx context.Context, tx *writeTx, w storage.Write) (currentRow, error) {
	var c currentRow
	var op string
	err := tx.stmt(ctx, tx.stmts.current).QueryRowContext(ctx, w.Type, w.ID).Scan(&c.rid, &c.version, &c.millis, &op, &c.seq)
	if errors.Is(err, sql.ErrNoRows) {
		return currentRow{}, nil
	}
	if err != nil {
		return currentRow{}, fmt.Errorf("sqlite: write %s/%s: read current version: %w", w.Type, w.ID, err)
	}
	c.op = storage.Operation(op)
	return c, nil
}

// checkCurrent compares the current version with what the write expects.
func checkCurrent(w storage.Write, current currentRow, lastUpdated time.Time) error {
	if w.ExpectVersion != storage.AnyVersion && w.ExpectVersion != current.version {
		return fmt.Errorf("sqlite: write %s/%s: expected version %d, current version is %d: %w",
			w.Type, w.ID, w.ExpectVersion, current.version, storage.ErrVersionConflict)
	}
	if w.VersionID != current.version+1 {
		if w.ExpectVersion == storage.AnyVersion {
			return fmt.Errorf("sqlite: write %s/%s: new version %d does not follow current version %d: %w",
				w.Type, w.ID, w.VersionID, current.version, storage.ErrVersionConflict)
		}
		return fmt.Errorf("sqlite: write %s/%s: new version %d does not follow current version %d",
			w.Type, w.ID, w.VersionID, current.version)
	}
	if current.version > 0 && lastUpdated.UnixMilli() < current.millis {
		return fmt.Errorf("sqlite: write %s/%s version %d: lastUpdated %s precedes version %d's %s",
			w.Type, w.ID, w.VersionID, lastUpdated.Format(time.RFC3339Nano),
			current.version, time.UnixMilli(current.millis).UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// storeVersion adds the history row of r, closes the previous version's
// validity, replaces the current row and replaces the index entries.
// current is the row that checkCurrent accepted.
func (s *Store) storeVersion(ctx context.Context, tx *writeTx, w storage.Write, r storage.Resource, current currentRow) error {
	millis := r.LastUpdated.UnixMilli()

	result, err := tx.stmt(ctx, tx.stmts.insertHistory).ExecContext(ctx, r.Type, r.ID, r.VersionID, millis, string(r.Op), r.JSON)
	if err != nil {
		return fmt.Errorf("insert history: %w", err)
	}
	seq, err := result.LastInsertId()
	if err != nil {
		return fmt.Errorf("history seq: %w", err)
	}

	// A first version gets a new row and has no entries to remove. A
	// version after a deletion has none either, because the deletion
	// removed them.
	rid := current.rid
	if current.version == 0 {
		result, err := tx.stmt(ctx, tx.stmts.insertCurrent).ExecContext(ctx, r.Type, r.ID, r.VersionID, millis, r.Deleted, string(r.Op), seq)
		if err != nil {
			return fmt.Errorf("insert current: %w", err)
		}
		if rid, err = result.LastInsertId(); err != nil {
			return fmt.Errorf("current rid: %w", err)
		}
	} else {
		if _, err := tx.stmt(ctx, tx.stmts.endVersion).ExecContext(ctx, millis, seq, current.seq); err != nil {
			return fmt.Errorf("end version %d: %w", current.version, err)
		}
		if _, err := tx.stmt(ctx, tx.stmts.updateCurrent).ExecContext(ctx, r.VersionID, millis, r.Deleted, string(r.Op), seq, rid); err != nil {
			return fmt.Errorf("update current: %w", err)
		}
		if current.op != storage.OpDelete {
			if err := removeEntries(ctx, tx, rid); err != nil {
				return err
			}
		}
	}

	if r.Deleted {
		return nil
	}
	return s.insertEntries(ctx, tx, rid, w, r.LastUpdated)
}
