package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations holds the schema changes in order. migrations[i] moves the
// database from user_version i to i+1. Append new steps and never edit a
// released one, because existing files have already run it.
var migrations = []string{
	// 1: current versions and the full history.
	//
	// Times are unix milliseconds in UTC. history.seq orders writes: it
	// grows with every write and, through AUTOINCREMENT, is never reused
	// even after rows are removed, so a paging cursor can use it as a
	// snapshot bound. ended and next_seq belong to the next version of the
	// same resource (its last_updated and its seq) and are NULL while the
	// row is current.
	`
CREATE TABLE resources (
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	last_updated INTEGER NOT NULL,
	deleted      INTEGER NOT NULL,
	op           TEXT    NOT NULL,
	seq          INTEGER NOT NULL,
	body         BLOB,
	PRIMARY KEY (type, id)
);

CREATE TABLE history (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	last_updated INTEGER NOT NULL,
	ended        INTEGER,
	next_seq     INTEGER,
	op           TEXT    NOT NULL,
	body         BLOB,
	UNIQUE (type, id, version)
);

CREATE INDEX history_by_instance ON history (type, id, last_updated DESC, seq DESC);
CREATE INDEX history_by_type ON history (type, last_updated DESC, seq DESC);
CREATE INDEX history_by_time ON history (last_updated DESC, seq DESC);
`,
}

// migrate brings the schema to len(migrations), one transaction per step,
// so a failed step leaves the file at the previous version.
func migrate(ctx context.Context, db *sql.DB) error {
	var current int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build supports (%d): upgrade Ward", current, len(migrations))
	}

	for version := current; version < len(migrations); version++ {
		if err := applyMigration(ctx, db, version); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, from int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %d to %d: %w", from, from+1, err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, migrations[from]); err != nil {
		return fmt.Errorf("migration %d to %d: %w", from, from+1, err)
	}
	// PRAGMA takes no bound parameters; the value is an int from this file.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", from+1)); err != nil {
		return fmt.Errorf("set user_version %d: %w", from+1, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %d to %d: %w", from, from+1, err)
	}
	return nil
}
