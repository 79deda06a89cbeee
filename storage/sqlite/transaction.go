package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ward-fhir/ward/storage"
)

// errTxDone is returned by a storage.Tx used after its Transaction ended.
var errTxDone = errors.New("sqlite: transaction has already ended")

// Transaction runs fn in one write transaction on the write connection,
// begun with BEGIN IMMEDIATE, so it holds the database's write lock from
// the start and never fails halfway on a lock upgrade. fn's reads and
// searches see its own writes. The transaction commits when fn returns nil
// and rolls back otherwise, or when fn panics; the error fn returns is
// returned as it is.
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
	view := &txView{store: s, tx: sqlTx, pending: map[paramKey]int64{}}
	defer func() {
		view.done = true
		sqlTx.Rollback()
	}()

	if err := fn(view); err != nil {
		return err
	}
	view.done = true
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: transaction: commit: %w", err)
	}
	s.params.publish(view.pending)
	return nil
}

// txView is the storage.Tx of one Transaction. It is not safe for
// concurrent use, as the transaction is one connection.
type txView struct {
	store   *Store
	tx      *sql.Tx
	pending map[paramKey]int64
	done    bool
}

// Write stores one version inside the transaction. A write that fails
// leaves nothing behind in the transaction, so fn may go on after, say, a
// version conflict.
func (v *txView) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if v.done {
		return storage.Resource{}, errTxDone
	}
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}

	if _, err := v.tx.ExecContext(ctx, `SAVEPOINT tx_write`); err != nil {
		return storage.Resource{}, fmt.Errorf("sqlite: write %s/%s: savepoint: %w", w.Type, w.ID, err)
	}
	stored, err := v.store.writeInTx(ctx, v.tx, w, v.pending)
	if err != nil {
		// The parameter numbers of the failed write are rolled back too.
		// Numbers pending from earlier writes stay: ROLLBACK TO keeps
		// them, and a pid is published only after the commit.
		if _, rerr := v.tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO tx_write`); rerr != nil {
			return storage.Resource{}, errors.Join(err, fmt.Errorf("sqlite: write %s/%s: roll back to savepoint: %w", w.Type, w.ID, rerr))
		}
		for k, id := range v.pending {
			if !v.pidExists(ctx, id) {
				delete(v.pending, k)
			}
		}
	}
	if _, rerr := v.tx.ExecContext(context.WithoutCancel(ctx), `RELEASE tx_write`); rerr != nil {
		return storage.Resource{}, errors.Join(err, fmt.Errorf("sqlite: write %s/%s: release savepoint: %w", w.Type, w.ID, rerr))
	}
	return stored, err
}

// pidExists reports whether search_params still has id in the transaction.
func (v *txView) pidExists(ctx context.Context, id int64) bool {
	var one int
	err := v.tx.QueryRowContext(context.WithoutCancel(ctx), `SELECT 1 FROM search_params WHERE pid = ?`, id).Scan(&one)
	return err == nil
}

// Read returns the current version, including the transaction's own
// writes.
func (v *txView) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	if v.done {
		return storage.Resource{}, errTxDone
	}
	return readCurrent(ctx, v.tx, resourceType, id)
}

// Search runs q over the transaction's view. A paged search stores its
// snapshot in the transaction, so its cursors work after a commit and
// are invalid after a rollback.
func (v *txView) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	if v.done {
		return storage.SearchPage{}, errTxDone
	}
	return v.store.searchInTx(ctx, v.tx, q)
}
