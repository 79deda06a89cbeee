package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Statements of the write path. They are prepared once, on the writer pool,
// when the Store opens. Preparing them on every call took a third of the
// write path's CPU time in BenchmarkWriteSynthea. They cannot be prepared
// later, inside a transaction, because the pool's one connection is busy
// with it then.
const (
	sqlCurrent = `SELECT rid, version, last_updated, op, seq FROM resources WHERE type = ? AND id = ?`

	// OR FAIL makes a statement that breaks a constraint stop where it is
	// instead of undoing its own rows. Undoing would need a statement
	// journal, a copy of every page the statement changes, and a failure
	// after the first change aborts the whole transaction anyway (see
	// writeInTx).
	sqlInsertHistory = `INSERT OR FAIL INTO history (type, id, version, last_updated, op, body) VALUES (?, ?, ?, ?, ?, ?)`
	sqlEndVersion    = `UPDATE OR FAIL history SET ended = ?, next_seq = ? WHERE seq = ?`
	sqlInsertCurrent = `INSERT OR FAIL INTO resources (type, id, version, last_updated, deleted, op, seq) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateCurrent = `UPDATE OR FAIL resources SET version = ?, last_updated = ?, deleted = ?, op = ?, seq = ? WHERE rid = ?`

	// The no-op update makes RETURNING return the existing pid too.
	sqlInsertParam = `INSERT INTO search_params (param, type) VALUES (?, ?)
		ON CONFLICT (param, type) DO UPDATE SET param = excluded.param
		RETURNING pid`
)

// insertSizes are the row counts of the prepared multi-row INSERTs of each
// idx_* table, largest first. A resource's rows for one table are split
// greedily into these sizes, so any count takes at most one statement per
// size plus one per 64 rows. 64 rows of the widest table bind 704
// parameters, far below SQLite's limit of 32,766.
var insertSizes = [...]int{64, 32, 16, 8, 4, 2, 1}

// writeStatements holds the prepared statements of the write path.
type writeStatements struct {
	current       *sql.Stmt
	insertHistory *sql.Stmt
	endVersion    *sql.Stmt
	insertCurrent *sql.Stmt
	updateCurrent *sql.Stmt
	insertParam   *sql.Stmt

	// Indexed by the position of the table in entryTables; insertEntries
	// then by the position of the size in insertSizes.
	deleteEntries [len(entryTables)]*sql.Stmt
	insertEntries [len(entryTables)][len(insertSizes)]*sql.Stmt
}

// prepareWriteStatements prepares every statement of the write path on db.
func prepareWriteStatements(ctx context.Context, db *sql.DB) (*writeStatements, error) {
	ws := &writeStatements{}
	var err error
	prepare := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var stmt *sql.Stmt
		if stmt, err = db.PrepareContext(ctx, query); err != nil {
			err = fmt.Errorf("prepare %q: %w", query, err)
		}
		return stmt
	}

	ws.current = prepare(sqlCurrent)
	ws.insertHistory = prepare(sqlInsertHistory)
	ws.endVersion = prepare(sqlEndVersion)
	ws.insertCurrent = prepare(sqlInsertCurrent)
	ws.updateCurrent = prepare(sqlUpdateCurrent)
	ws.insertParam = prepare(sqlInsertParam)
	for i, table := range entryTables {
		ws.deleteEntries[i] = prepare(`DELETE FROM ` + table.name + ` WHERE rid = ?`)
		for j, rows := range insertSizes {
			ws.insertEntries[i][j] = prepare(insertEntriesSQL(table, rows))
		}
	}
	if err != nil {
		return nil, errors.Join(err, ws.close())
	}
	return ws, nil
}

// insertEntriesSQL returns an INSERT of rows rows into table, every value
// a bound parameter, in the order of entryColumns.
func insertEntriesSQL(table entryTable, rows int) string {
	columns := append(append([]string{}, entryColumns[:]...), table.columns...)
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	return "INSERT OR FAIL INTO " + table.name + " (" + strings.Join(columns, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// close closes every statement that was prepared.
func (ws *writeStatements) close() error {
	all := []*sql.Stmt{ws.current, ws.insertHistory, ws.endVersion, ws.insertCurrent, ws.updateCurrent, ws.insertParam}
	all = append(all, ws.deleteEntries[:]...)
	for i := range ws.insertEntries {
		all = append(all, ws.insertEntries[i][:]...)
	}
	var errs []error
	for _, stmt := range all {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// writeTx is one write transaction on the writer connection, with the
// prepared statements bound to it as they are first used.
type writeTx struct {
	*sql.Tx
	stmts *writeStatements
	bound map[*sql.Stmt]*sql.Stmt

	// pending holds the pids that this transaction created. They go to
	// the Store's cache only after the commit, because a pid of a
	// transaction that rolls back may later be given to another pair.
	pending map[paramKey]int64
}

func newWriteTx(tx *sql.Tx, stmts *writeStatements) *writeTx {
	return &writeTx{Tx: tx, stmts: stmts, bound: map[*sql.Stmt]*sql.Stmt{}, pending: map[paramKey]int64{}}
}

// stmt returns prepared bound to the transaction. database/sql reuses the
// prepared statement when it was prepared on the transaction's
// connection, and prepares it again otherwise.
func (w *writeTx) stmt(ctx context.Context, prepared *sql.Stmt) *sql.Stmt {
	if bound, ok := w.bound[prepared]; ok {
		return bound
	}
	// A failed binding keeps its error, so it must not depend on this
	// caller's context, which a later caller in the transaction may not
	// share.
	bound := w.StmtContext(context.WithoutCancel(ctx), prepared)
	w.bound[prepared] = bound
	return bound
}
