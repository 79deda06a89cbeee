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

	// 2: search. resources gets an explicit INTEGER PRIMARY KEY, rid, so
	// index rows can name their resource by a small integer that VACUUM
	// never renumbers. search_params numbers each (resource type,
	// parameter) pair, so index rows carry one integer for both. Each
	// idx_* table holds the entries of one value kind, clustered by
	// resource (for replacing a resource's entries and for per-resource
	// checks) with secondary indexes that start with the parameter and the
	// value (for finding resources by value). search_snapshots and
	// search_results keep the ordered matches of a search whose first
	// page had more pages behind it.
	`
CREATE TABLE resources_v2 (
	rid          INTEGER PRIMARY KEY,
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	last_updated INTEGER NOT NULL,
	deleted      INTEGER NOT NULL,
	op           TEXT    NOT NULL,
	seq          INTEGER NOT NULL,
	body         BLOB,
	UNIQUE (type, id)
);
INSERT INTO resources_v2 (type, id, version, last_updated, deleted, op, seq, body)
	SELECT type, id, version, last_updated, deleted, op, seq, body FROM resources ORDER BY type, id;
DROP TABLE resources;
ALTER TABLE resources_v2 RENAME TO resources;

CREATE TABLE search_params (
	pid   INTEGER PRIMARY KEY,
	param TEXT NOT NULL,
	type  TEXT NOT NULL,
	UNIQUE (param, type)
);

CREATE TABLE idx_string (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	text  TEXT NOT NULL,
	exact TEXT NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_string_text ON idx_string (pid, text);
CREATE INDEX idx_string_exact ON idx_string (pid, exact);

CREATE TABLE idx_token (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	system      TEXT NOT NULL,
	code        TEXT NOT NULL,
	text        TEXT NOT NULL,
	type_system TEXT NOT NULL,
	type_code   TEXT NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_token_code ON idx_token (pid, code, system);

CREATE TABLE idx_reference (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	ref_type    TEXT NOT NULL,
	ref_id      TEXT NOT NULL,
	ref_version TEXT NOT NULL,
	url         TEXT NOT NULL,
	system      TEXT NOT NULL,
	code        TEXT NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_reference_target ON idx_reference (pid, ref_id, ref_type, ref_version);
CREATE INDEX idx_reference_url ON idx_reference (pid, url, ref_version);

CREATE TABLE idx_date (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	lo INTEGER NOT NULL,
	hi INTEGER NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_date_lo ON idx_date (pid, lo, hi);
CREATE INDEX idx_date_hi ON idx_date (pid, hi, lo);

CREATE TABLE idx_number (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	num REAL NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_number_num ON idx_number (pid, num);

CREATE TABLE idx_quantity (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	num    REAL NOT NULL,
	system TEXT NOT NULL,
	code   TEXT NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_quantity_num ON idx_quantity (pid, num, code, system);

CREATE TABLE idx_uri (
	rid INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
	grp INTEGER NOT NULL, comp INTEGER NOT NULL,
	uri TEXT NOT NULL,
	PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_uri_uri ON idx_uri (pid, uri);

CREATE TABLE search_snapshots (
	search_id  INTEGER PRIMARY KEY,
	secret     BLOB    NOT NULL,
	query_hash BLOB    NOT NULL,
	total      INTEGER NOT NULL,
	expires    INTEGER NOT NULL
);
CREATE INDEX search_snapshots_by_expiry ON search_snapshots (expires);

CREATE TABLE search_results (
	search_id INTEGER NOT NULL,
	pos       INTEGER NOT NULL,
	rid       INTEGER NOT NULL,
	PRIMARY KEY (search_id, pos)
) WITHOUT ROWID;
`,

	// 3: resources without body. The current version's body is already in
	// history, at resources.seq. Without it a resources row takes tens of
	// bytes instead of a page, so the rowid lookups and type scans of a
	// search touch few pages. rid values are kept, as index rows and
	// snapshots refer to them.
	`
CREATE TABLE resources_v3 (
	rid          INTEGER PRIMARY KEY,
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	last_updated INTEGER NOT NULL,
	deleted      INTEGER NOT NULL,
	op           TEXT    NOT NULL,
	seq          INTEGER NOT NULL,
	UNIQUE (type, id)
);
INSERT INTO resources_v3 (rid, type, id, version, last_updated, deleted, op, seq)
	SELECT rid, type, id, version, last_updated, deleted, op, seq FROM resources;
DROP TABLE resources;
ALTER TABLE resources_v3 RENAME TO resources;
`,

	// 4: quantities as written beside their canonical form. A unitless
	// search compares only rows with canonical 0, and a search with a
	// convertible UCUM unit only rows with canonical 1. Earlier versions
	// stored a single row, canonical when the unit converted, and SQL
	// cannot tell which rows those were. So every row with a UCUM system
	// stays as written and also gets a canonical copy, under n = -1 - n
	// to keep the key unique: searches with a unit find old rows as
	// before.
	// NOTE: a unitless search still compares old converted rows in their
	// canonical units until the resource is written again.
	`
ALTER TABLE idx_quantity ADD COLUMN canonical INTEGER NOT NULL DEFAULT 0;
INSERT INTO idx_quantity (rid, pid, n, grp, comp, num, system, code, canonical)
	SELECT rid, pid, -1 - n, grp, comp, num, system, code, 1 FROM idx_quantity
	WHERE system IN ('', 'http://unitsofmeasure.org') AND code != '';
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
