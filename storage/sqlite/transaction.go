package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/ward-fhir/ward/storage"
)

// errTxDone is returned by a storage.Tx used after its Transaction ended.
var errTxDone = errors.New("sqlite: transaction has already ended")

// errTxAborted is returned by a storage.Tx after one of its writes failed
// halfway.
var errTxAborted = errors.New("sqlite: transaction aborted by a write that failed after changing it")

// Transaction runs fn in one write transaction on the write connection,
// begun with BEGIN IMMEDIATE, so it holds the database's write lock from
// the start and never fails halfway on a lock upgrade. fn's reads and
// searches see its own writes. The transaction commits when fn returns nil
// and rolls back otherwise, or when fn panics; the error fn returns is
// returned as it is.
//
// A tx.Write that fails a check (a version conflict, say) leaves the
// transaction as it was, and fn may go on. A tx.Write that fails after it
// has begun to change the database (an I/O error, a full disk, a canceled
// context) aborts the transaction, and so does an interrupted tx.Search.
// Every later call on tx then fails, and Transaction rolls back and
// returns an error even if fn returns nil.
//
// Transactions, plain Writes and the first pages of paged searches share
// the one write connection, so they run one at a time. fn must not call
// the Store itself: a Write or a paged Search from inside fn would wait for
// the connection fn holds.
func (s *Store) Transaction(ctx context.Context, fn func(tx storage.Tx) error) error {
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: transaction: begin: %w", err)
	}
	view := &txView{store: s, tx: newWriteTx(sqlTx, s.stmts)}
	defer func() {
		view.done = true
		// After a commit Rollback returns sql.ErrTxDone; either way there
		// is nothing left to undo.
		_ = sqlTx.Rollback()
	}()

	if err := fn(view); err != nil {
		return err
	}
	view.done = true
	if view.aborted != nil {
		return fmt.Errorf("%w: %w", errTxAborted, view.aborted)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: transaction: commit: %w", err)
	}
	s.params.publish(view.tx.pending)
	return nil
}

// txView is the storage.Tx of one Transaction. It is not safe for
// concurrent use, as the transaction is one connection.
type txView struct {
	store *Store
	tx    *writeTx
	done  bool

	// aborted is the error of a write that failed after changing the
	// database. SQLite may have rolled back the whole transaction then,
	// and the connection would run later statements outside of it, each
	// committed on its own, so nothing more may run.
	aborted error
}

// usable returns why the transaction takes no more calls, or nil.
func (v *txView) usable() error {
	if v.done {
		return errTxDone
	}
	if v.aborted != nil {
		return fmt.Errorf("%w: %w", errTxAborted, v.aborted)
	}
	return nil
}

// Write stores one version inside the transaction. A write that fails
// before it changes anything, such as on a version conflict, leaves the
// transaction as it was. Transaction describes a write that fails later.
func (v *txView) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if err := v.usable(); err != nil {
		return storage.Resource{}, err
	}
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}

	stored, changed, err := v.store.writeInTx(ctx, v.tx, w)
	if err != nil && changed {
		v.aborted = err
	}
	return stored, err
}

// Read returns the current version, including the transaction's own
// writes.
func (v *txView) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	if err := v.usable(); err != nil {
		return storage.Resource{}, err
	}
	return readCurrent(ctx, v.tx, resourceType, id)
}

// Search runs q over the transaction's view. A paged search stores its
// snapshot in the transaction, so its cursors work after a commit and
// are invalid after a rollback. A search that is interrupted, by its
// timeout or by ctx, aborts the transaction as a write failing halfway
// does: SQLite rolls back the whole transaction when it interrupts the
// snapshot's INSERT.
func (v *txView) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	if err := v.usable(); err != nil {
		return storage.SearchPage{}, err
	}
	// A plan over the cost limits fails here, before any statement runs,
	// so the only ErrTooCostly left below is the timeout's.
	if err := v.store.checkQuery(q); err != nil {
		return storage.SearchPage{}, err
	}

	page, err := v.store.searchInTx(ctx, v.tx.Tx, q)
	if err != nil && (errors.Is(err, storage.ErrTooCostly) || ctx.Err() != nil) {
		v.aborted = err
	}
	return page, err
}
