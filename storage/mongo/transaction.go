package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ward-fhir/ward/storage"
)

// errTxDone is returned by a storage.Tx used after its Transaction ended.
var errTxDone = errors.New("mongo: transaction has already ended")

// maxCommitAttempts bounds the commits of one transaction whose outcome
// the driver could not learn.
const maxCommitAttempts = 3

// Transaction runs fn while it holds the process's write lock, so this
// process's Writes and Transactions take turns, as they would conflict on
// the sequence counter anyway.
//
// With transactions, fn runs in one multi-document transaction with read
// concern snapshot. Its reads and searches return its own writes, other
// clients get none of them before the commit, and all of them commit
// together with write concern majority, or none does. fn runs exactly once: a write that loses
// a race with another process fails with storage.ErrVersionConflict, and
// the server has then aborted the transaction, so every later call fails
// too and Transaction returns that error. MongoDB aborts transactions that
// run longer than transactionLifetimeLimitSeconds, 60 by default.
//
// Without transactions (WithoutTransactions) the writes land one by one
// as fn makes them, and other clients see them at once. When fn returns an
// error or panics, the writes are undone in reverse order; a crash or a
// failed undo step leaves the rest of them in place.
//
// The error fn returns is returned as it is. fn must not call the Store
// itself: a Write from inside fn would wait for the lock fn holds.
func (s *Store) Transaction(ctx context.Context, fn func(tx storage.Tx) error) error {
	if err := s.lockWrites(ctx); err != nil {
		return fmt.Errorf("mongo: transaction: wait for the write lock: %w", err)
	}
	defer s.unlockWrites()

	if !s.transactions {
		return s.transactionWithUndo(ctx, fn)
	}
	return s.transactionInSession(ctx, fn)
}

func (s *Store) transactionInSession(ctx context.Context, fn func(tx storage.Tx) error) error {
	session, err := s.client.StartSession()
	if err != nil {
		return fmt.Errorf("mongo: transaction: start session: %w", err)
	}
	defer session.EndSession(context.WithoutCancel(ctx))
	if err := session.StartTransaction(s.transactionOptions); err != nil {
		return fmt.Errorf("mongo: transaction: start: %w", err)
	}

	view := &sessionTx{store: s, session: session}
	committed := false
	defer func() {
		view.done = true
		if !committed {
			// Runs on an error and on a panic of fn alike. A failed abort
			// leaves the server to abort the transaction when it times
			// out; nothing of it is visible meanwhile.
			_ = session.AbortTransaction(context.WithoutCancel(ctx))
		}
	}()

	if err := fn(view); err != nil {
		return err
	}
	if view.broken != nil {
		return view.broken
	}
	view.done = true

	for attempt := 1; ; attempt++ {
		err = session.CommitTransaction(ctx)
		var labeled mongo.LabeledError
		if err == nil || attempt == maxCommitAttempts ||
			!errors.As(err, &labeled) || !labeled.HasErrorLabel("UnknownTransactionCommitResult") {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("mongo: transaction: commit: %w", err)
	}
	committed = true
	return nil
}

// sessionTx is the storage.Tx of a transaction in a session. It is not
// safe for concurrent use, as a session runs one operation at a time.
type sessionTx struct {
	store   *Store
	session *mongo.Session
	done    bool

	// broken is set when an operation failed on the server, which aborts
	// the transaction there.
	broken error
}

func (v *sessionTx) usable() error {
	if v.done {
		return errTxDone
	}
	return v.broken
}

// Write stores one version in the transaction. A write that fails its
// version check leaves the transaction as it was, so fn may go on. One
// that fails on the server ends the transaction.
func (v *sessionTx) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if err := v.usable(); err != nil {
		return storage.Resource{}, err
	}
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}
	ctx = mongo.NewSessionContext(ctx, v.session)
	stored := storedResource(w)

	current, err := v.store.findCurrent(ctx, w.Type, w.ID)
	if err != nil {
		v.broken = err
		return storage.Resource{}, err
	}
	if err := checkCurrent(w, current, stored.LastUpdated); err != nil {
		return storage.Resource{}, err
	}

	_, err = v.store.storeVersion(ctx, w, stored, buildSearchFields(w.Index))
	if err != nil {
		var labeled mongo.LabeledError
		if errors.Is(err, errVersionTaken) || (errors.As(err, &labeled) && labeled.HasErrorLabel("TransientTransactionError")) {
			err = fmt.Errorf("mongo: write %s/%s version %d: another client wrote concurrently (%v): %w",
				w.Type, w.ID, w.VersionID, err, storage.ErrVersionConflict)
		}
		v.broken = err
		return storage.Resource{}, err
	}
	return stored, nil
}

// Read returns the current version in the transaction's snapshot, with
// its own writes.
func (v *sessionTx) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	if err := v.usable(); err != nil {
		return storage.Resource{}, err
	}
	r, err := v.store.Read(mongo.NewSessionContext(ctx, v.session), resourceType, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrGone) {
		v.broken = err
	}
	return r, err
}

// Search runs q over the transaction's view. A paged search stores its
// snapshot in the transaction, so its cursors work after a commit and are
// invalid after a rollback.
func (v *sessionTx) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	if err := v.usable(); err != nil {
		return storage.SearchPage{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, v.store.limits.Timeout, errSearchTimeout)
	defer cancel()
	page, err := v.store.search(mongo.NewSessionContext(ctx, v.session), q)
	if err != nil {
		var serverErr mongo.ServerError
		if errors.As(err, &serverErr) {
			v.broken = err
		}
	}
	return page, v.store.searchError(ctx, err)
}

// transactionWithUndo runs fn with writes that land one by one and undoes
// them when fn fails. The caller holds the write lock.
func (s *Store) transactionWithUndo(ctx context.Context, fn func(tx storage.Tx) error) (err error) {
	view := &undoTx{store: s}
	defer func() {
		view.done = true
		failure := recover()
		if err == nil && failure == nil {
			return
		}
		undoErr := s.undo(ctx, view.applied)
		if failure != nil {
			panic(failure)
		}
		if undoErr != nil {
			err = errors.Join(err, undoErr)
		}
	}()
	return fn(view)
}

// undoTx is the storage.Tx of a Transaction without transactions. Reads
// and searches go to the store, which already holds fn's writes.
type undoTx struct {
	store   *Store
	applied []appliedWrite
	done    bool
}

// Write stores one version at once and records how to undo it.
func (v *undoTx) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if v.done {
		return storage.Resource{}, errTxDone
	}
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}
	stored := storedResource(w)
	applied, err := v.store.writeWithoutTransaction(ctx, w, stored, buildSearchFields(w.Index))
	if err != nil {
		return storage.Resource{}, err
	}
	v.applied = append(v.applied, applied)
	return stored, nil
}

func (v *undoTx) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	if v.done {
		return storage.Resource{}, errTxDone
	}
	return v.store.Read(ctx, resourceType, id)
}

func (v *undoTx) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	if v.done {
		return storage.SearchPage{}, errTxDone
	}
	return v.store.Search(ctx, q)
}

// undo reverts applied writes, the last first. The current document goes
// back first, so that a resource stays consistent if undo stops midway: a
// history row left behind is then an unfinished version, which the next
// write completes as it would after a crash.
func (s *Store) undo(ctx context.Context, applied []appliedWrite) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completionTimeout)
	defer cancel()

	for i := len(applied) - 1; i >= 0; i-- {
		a := applied[i]
		h := a.version
		name := fmt.Sprintf("%s/%s version %d", h.Type, h.ID, h.Version)
		current := bson.D{{Key: "_id", Value: resourceKey(h.Type, h.ID)}, {Key: "version", Value: h.Version}}

		var err error
		if a.previous == nil {
			_, err = s.resources.DeleteOne(ctx, current)
		} else {
			_, err = s.resources.ReplaceOne(ctx, current, *a.previous)
		}
		if err != nil {
			return fmt.Errorf("mongo: transaction: undo %s: restore the current document: %w", name, err)
		}

		if a.previous != nil {
			_, err = s.history.UpdateOne(ctx,
				bson.D{{Key: "type", Value: h.Type}, {Key: "id", Value: h.ID}, {Key: "version", Value: a.previous.Version}, {Key: "nextSeq", Value: h.Seq}},
				bson.D{
					{Key: "$unset", Value: bson.D{{Key: "ended", Value: ""}, {Key: "nextSeq", Value: ""}}},
					{Key: "$set", Value: searchFieldsSet(a.previous.Search)},
				})
			if err != nil {
				return fmt.Errorf("mongo: transaction: undo %s: reopen version %d: %w", name, a.previous.Version, err)
			}
		}

		if _, err := s.history.DeleteOne(ctx, bson.D{{Key: "_id", Value: h.Seq}}); err != nil {
			return fmt.Errorf("mongo: transaction: undo %s: remove its history row: %w", name, err)
		}
	}
	return nil
}

// searchFieldsSet returns the $set document that restores f on a history
// row. An empty index sets an empty key list, because $set needs a field.
func searchFieldsSet(f searchFields) bson.D {
	doc := bson.D{{Key: "k", Value: f.Keys}}
	if f.Keys == nil {
		doc[0].Value = bson.A{}
	}
	if f.Present != nil {
		doc = append(doc, bson.E{Key: "has", Value: f.Present})
	}
	if f.Dates != nil {
		doc = append(doc, bson.E{Key: "dt", Value: f.Dates})
	}
	if f.Numbers != nil {
		doc = append(doc, bson.E{Key: "nm", Value: f.Numbers})
	}
	if f.Composites != nil {
		doc = append(doc, bson.E{Key: "cp", Value: f.Composites})
	}
	if f.Sort != nil {
		doc = append(doc, bson.E{Key: "srt", Value: f.Sort})
	}
	return doc
}
