package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
)

// completionTimeout bounds the steps that finish a write without
// transactions once its history row is in. They run even when the caller's
// context is canceled, because stopping there would leave the resource's
// current document behind its history until the next write repairs it.
const completionTimeout = 30 * time.Second

// maxSeqCollisions bounds the retries of a write without transactions whose
// sequence number was already taken, which only happens when another
// process writes to the same database on a server whose $inc is not
// atomic (FerretDB v1).
const maxSeqCollisions = 3

// errVersionTaken marks a history insert that failed on a duplicate key. In
// a transaction that means another writer won the version; without
// transactions the sequence number may have been the duplicate instead.
var errVersionTaken = errors.New("history insert hit a duplicate key")

// Write stores a new version with its search index. With transactions,
// the optimistic check, the sequence number, the history row, the end of
// the previous version's validity and the current document change in one
// transaction, committed with write concern majority and journaling.
// Without transactions the same steps run one by one, and inserting the
// history row, whose (type, id, version) is unique, is what decides which
// writer gets the version. Either way the process's writes, Transactions
// included, take turns: they would conflict on the sequence counter
// anyway.
func (s *Store) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	if err := validateWrite(w); err != nil {
		return storage.Resource{}, err
	}
	stored := storedResource(w)
	fields := buildSearchFields(w.Index)

	if err := s.lockWrites(ctx); err != nil {
		return storage.Resource{}, fmt.Errorf("mongo: write %s/%s version %d: wait for the write lock: %w", w.Type, w.ID, w.VersionID, err)
	}
	defer s.unlockWrites()

	var err error
	if s.transactions {
		err = s.writeInTransaction(ctx, w, stored, fields)
	} else {
		_, err = s.writeWithoutTransaction(ctx, w, stored, fields)
	}
	if err != nil {
		return storage.Resource{}, err
	}
	return stored, nil
}

// storedResource returns the Resource that w stores.
func storedResource(w storage.Write) storage.Resource {
	return storage.Resource{
		Type:        w.Type,
		ID:          w.ID,
		VersionID:   w.VersionID,
		LastUpdated: w.LastUpdated.UTC().Truncate(time.Millisecond),
		Op:          w.Op,
		Deleted:     w.Op == storage.OpDelete,
		JSON:        w.JSON,
	}
}

// lockWrites takes the process's write lock, waiting at most as long as
// ctx allows.
func (s *Store) lockWrites(ctx context.Context) error {
	select {
	case s.writeLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWrites() { <-s.writeLock }

func validateWrite(w storage.Write) error {
	name := w.Type + "/" + w.ID
	switch {
	case w.Type == "":
		return fmt.Errorf("mongo: write %q: resource type is empty", name)
	case strings.Contains(w.Type, "/"):
		return fmt.Errorf("mongo: write %q: resource type %q contains '/'", name, w.Type)
	case w.ID == "":
		return fmt.Errorf("mongo: write %q: id is empty", name)
	case w.VersionID < 1:
		return fmt.Errorf("mongo: write %s: version %d is invalid, versions start at 1", name, w.VersionID)
	case w.ExpectVersion < storage.AnyVersion:
		return fmt.Errorf("mongo: write %s: expected version %d is invalid", name, w.ExpectVersion)
	case w.LastUpdated.IsZero():
		return fmt.Errorf("mongo: write %s: lastUpdated is missing", name)
	}

	switch w.Op {
	case storage.OpCreate, storage.OpUpdate, storage.OpPatch:
		if len(w.JSON) == 0 {
			return fmt.Errorf("mongo: write %s version %d: %s without JSON", name, w.VersionID, w.Op)
		}
	case storage.OpDelete:
		if w.JSON != nil {
			return fmt.Errorf("mongo: write %s version %d: delete carries %d bytes of JSON, want nil", name, w.VersionID, len(w.JSON))
		}
	default:
		return fmt.Errorf("mongo: write %s version %d: unknown operation %q", name, w.VersionID, w.Op)
	}
	return validateIndex(w)
}

// writeInTransaction runs applyWrite in a transaction, retried by the
// driver while the server reports a transient error such as a write
// conflict with a concurrent transaction.
func (s *Store) writeInTransaction(ctx context.Context, w storage.Write, r storage.Resource, fields searchFields) error {
	session, err := s.client.StartSession()
	if err != nil {
		return fmt.Errorf("mongo: write %s/%s version %d: start session: %w", w.Type, w.ID, w.VersionID, err)
	}
	defer session.EndSession(context.WithoutCancel(ctx))

	attempt := 0
	var applyErr error // the last error of applyWrite, already described
	_, err = session.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		attempt++
		applyErr = nil
		if err := retryPause(ctx, attempt); err != nil {
			return nil, err
		}
		_, applyErr = s.applyWrite(ctx, w, r, fields)
		return nil, applyErr
	}, s.transactionOptions)

	switch {
	case err == nil:
		return nil
	case errors.Is(err, errVersionTaken):
		return fmt.Errorf("mongo: write %s/%s: version %d was written concurrently: %w",
			w.Type, w.ID, w.VersionID, storage.ErrVersionConflict)
	case err == applyErr:
		return err
	default:
		return fmt.Errorf("mongo: write %s/%s version %d: transaction: %w", w.Type, w.ID, w.VersionID, err)
	}
}

// retryPause waits before a transaction's second and later attempts. Every
// transaction writes the one counter document, so concurrent writes
// conflict there, and the driver retries at once without a pause.
func retryPause(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	ceiling := min(time.Millisecond<<min(attempt, 7), 100*time.Millisecond)
	timer := time.NewTimer(rand.N(ceiling) + time.Millisecond) // #nosec G404 -- retry jitter, not a secret
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeWithoutTransaction runs applyWrite and resolves a duplicate key on
// the history insert. The caller holds the write lock, so sequence numbers
// reach history in the order they were taken. It returns what undoing the
// write needs.
func (s *Store) writeWithoutTransaction(ctx context.Context, w storage.Write, r storage.Resource, fields searchFields) (appliedWrite, error) {
	for collisions := 0; ; collisions++ {
		applied, err := s.applyWrite(ctx, w, r, fields)
		if !errors.Is(err, errVersionTaken) {
			return applied, err
		}

		latest, err := s.findLatestVersion(ctx, w.Type, w.ID)
		if err != nil {
			return appliedWrite{}, err
		}
		if latest != nil && latest.Version >= w.VersionID {
			// The writer of the latest version may have died before it
			// updated the current document. Only the latest version can be
			// unfinished, because no writer can insert the next one while
			// the current document is behind, so finishing it repairs the
			// resource.
			if err := s.completeVersion(ctx, *latest); err != nil {
				return appliedWrite{}, err
			}
			return appliedWrite{}, fmt.Errorf("mongo: write %s/%s: version %d already exists: %w",
				w.Type, w.ID, w.VersionID, storage.ErrVersionConflict)
		}

		// The duplicate key was the sequence number, which another process
		// took from a counter that it then moved back.
		if collisions == maxSeqCollisions {
			return appliedWrite{}, fmt.Errorf("mongo: write %s/%s version %d: history sequence number taken %d times: another process is writing to this database without atomic updates",
				w.Type, w.ID, w.VersionID, collisions+1)
		}
		if err := s.raiseCounter(ctx); err != nil {
			return appliedWrite{}, fmt.Errorf("mongo: write %s/%s version %d: %w", w.Type, w.ID, w.VersionID, err)
		}
	}
}

// appliedWrite is a stored version with the current document it replaced,
// nil for a new resource.
type appliedWrite struct {
	previous *currentDoc
	version  historyDoc
}

// applyWrite checks the current version and stores the new one. It
// returns an error wrapping errVersionTaken when the history insert hits a
// duplicate key.
func (s *Store) applyWrite(ctx context.Context, w storage.Write, r storage.Resource, fields searchFields) (appliedWrite, error) {
	current, err := s.findCurrent(ctx, w.Type, w.ID)
	if err != nil {
		return appliedWrite{}, err
	}
	if err := checkCurrent(w, current, r.LastUpdated); err != nil {
		return appliedWrite{}, err
	}
	h, err := s.storeVersion(ctx, w, r, fields)
	if err != nil {
		return appliedWrite{}, err
	}
	return appliedWrite{previous: current, version: h}, nil
}

// storeVersion takes a sequence number, inserts the history row and
// completes the version, once checkCurrent has passed.
func (s *Store) storeVersion(ctx context.Context, w storage.Write, r storage.Resource, fields searchFields) (historyDoc, error) {
	seq, err := s.nextSeq(ctx)
	if err != nil {
		return historyDoc{}, fmt.Errorf("mongo: write %s/%s version %d: %w", w.Type, w.ID, w.VersionID, err)
	}
	h := newHistoryDoc(r, seq, fields)
	if _, err := s.history.InsertOne(ctx, h); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return historyDoc{}, fmt.Errorf("mongo: write %s/%s version %d: %w: %w", w.Type, w.ID, w.VersionID, errVersionTaken, err)
		}
		return historyDoc{}, fmt.Errorf("mongo: write %s/%s version %d: insert history: %w", w.Type, w.ID, w.VersionID, err)
	}

	if !s.transactions {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), completionTimeout)
		defer cancel()
	}
	return h, s.completeVersion(ctx, h)
}

// checkCurrent compares the current version, nil when the resource has
// never existed, with what the write expects.
func checkCurrent(w storage.Write, current *currentDoc, lastUpdated time.Time) error {
	var currentVersion int64
	var currentLastUpdated time.Time
	if current != nil {
		currentVersion = current.Version
		currentLastUpdated = time.UnixMilli(int64(current.LastUpdated)).UTC()
	}

	if w.ExpectVersion != storage.AnyVersion && w.ExpectVersion != currentVersion {
		return fmt.Errorf("mongo: write %s/%s: expected version %d, current version is %d: %w",
			w.Type, w.ID, w.ExpectVersion, currentVersion, storage.ErrVersionConflict)
	}
	if w.VersionID != currentVersion+1 {
		if w.ExpectVersion == storage.AnyVersion {
			return fmt.Errorf("mongo: write %s/%s: new version %d does not follow current version %d: %w",
				w.Type, w.ID, w.VersionID, currentVersion, storage.ErrVersionConflict)
		}
		return fmt.Errorf("mongo: write %s/%s: new version %d does not follow current version %d",
			w.Type, w.ID, w.VersionID, currentVersion)
	}
	if current != nil && lastUpdated.Before(currentLastUpdated) {
		return fmt.Errorf("mongo: write %s/%s version %d: lastUpdated %s precedes version %d's %s",
			w.Type, w.ID, w.VersionID, lastUpdated.Format(time.RFC3339Nano),
			currentVersion, currentLastUpdated.Format(time.RFC3339Nano))
	}
	return nil
}

// nextSeq takes the next history sequence number from the counter.
func (s *Store) nextSeq(ctx context.Context) (int64, error) {
	var counter struct {
		Value int64 `bson:"value"`
	}
	err := s.counters.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: historyCounterID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "value", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
	).Decode(&counter)
	if err != nil {
		return 0, fmt.Errorf("take a history sequence number: %w", err)
	}
	return counter.Value, nil
}

// completeVersion ends the previous version's validity, which removes its
// search index from its history row, and makes h the current document
// unless the current document already holds h or a later version. Both steps are idempotent, so a writer that finds h unfinished
// can run them again for h's writer.
func (s *Store) completeVersion(ctx context.Context, h historyDoc) error {
	name := fmt.Sprintf("%s/%s version %d", h.Type, h.ID, h.Version)

	if h.Version > 1 {
		_, err := s.history.UpdateOne(ctx,
			bson.D{{Key: "type", Value: h.Type}, {Key: "id", Value: h.ID}, {Key: "version", Value: h.Version - 1}},
			bson.D{
				{Key: "$set", Value: bson.D{{Key: "ended", Value: h.LastUpdated}, {Key: "nextSeq", Value: h.Seq}}},
				{Key: "$unset", Value: unsetSearchFields()},
			})
		if err != nil {
			return fmt.Errorf("mongo: write %s: end version %d: %w", name, h.Version-1, err)
		}
	}

	// The filter matches an older current document, and the upsert creates
	// a missing one. When the current document holds h or a later version,
	// the upsert's insert fails on the duplicate _id instead.
	doc := h.current()
	_, err := s.resources.ReplaceOne(ctx,
		bson.D{{Key: "_id", Value: doc.Key}, {Key: "version", Value: bson.D{{Key: "$lt", Value: h.Version}}}},
		doc, options.Replace().SetUpsert(true))
	switch {
	case err == nil:
		return nil
	case !mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("mongo: write %s: replace current document: %w", name, err)
	case s.transactions:
		// Nothing is committed yet, so this write lost a race.
		return fmt.Errorf("mongo: write %s: current document changed concurrently: %w", name, storage.ErrVersionConflict)
	default:
		// Another writer completed this version, and maybe wrote later
		// ones, after this one's history row went in.
		return nil
	}
}

// findCurrent returns the current document, or nil when there is none.
func (s *Store) findCurrent(ctx context.Context, resourceType, id string) (*currentDoc, error) {
	var doc currentDoc
	err := s.resources.FindOne(ctx, bson.D{{Key: "_id", Value: resourceKey(resourceType, id)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mongo: read current document %s/%s: %w", resourceType, id, err)
	}
	return &doc, nil
}

// findLatestVersion returns the resource's history row with the largest
// version, or nil when there is none.
func (s *Store) findLatestVersion(ctx context.Context, resourceType, id string) (*historyDoc, error) {
	var doc historyDoc
	err := s.history.FindOne(ctx,
		bson.D{{Key: "type", Value: resourceType}, {Key: "id", Value: id}},
		options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mongo: read the latest version of %s/%s: %w", resourceType, id, err)
	}
	return &doc, nil
}

// findVersion returns one history row, or nil when there is none.
func (s *Store) findVersion(ctx context.Context, resourceType, id string, version int64) (*historyDoc, error) {
	var doc historyDoc
	err := s.history.FindOne(ctx,
		bson.D{{Key: "type", Value: resourceType}, {Key: "id", Value: id}, {Key: "version", Value: version}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mongo: read %s/%s/_history/%d: %w", resourceType, id, version, err)
	}
	return &doc, nil
}

// unsetSearchFields is the $unset document that removes a search index.
func unsetSearchFields() bson.D {
	doc := make(bson.D, 0, len(searchFieldNames))
	for _, name := range searchFieldNames {
		doc = append(doc, bson.E{Key: name, Value: ""})
	}
	return doc
}
