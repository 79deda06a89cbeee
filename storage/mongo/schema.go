package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
)

// Collection names.
const (
	resourcesCollection = "resources"        // one currentDoc per resource
	historyCollection   = "history"          // one historyDoc per version
	countersCollection  = "counters"         // the history sequence counter
	metaCollection      = "meta"             // the schema version document
	snapshotsCollection = "search_snapshots" // one snapshotDoc per paged search
	resultsCollection   = "search_results"   // the ordered matches of each paged search
)

// schemaVersion is the layout of the collections and indexes that this
// build writes. Open refuses a database marked with a newer one. Version 2
// added the search index to the documents.
const schemaVersion = 2

// historyCounterID is the _id of the counter document whose value is the
// last history sequence number handed out.
const historyCounterID = "history"

// currentDoc is a resource's document in the resources collection: a copy
// of its current version.
type currentDoc struct {
	Key         string        `bson:"_id"` // "Type/id"
	Type        string        `bson:"type"`
	ID          string        `bson:"id"`
	Version     int64         `bson:"version"`
	LastUpdated bson.DateTime `bson:"lastUpdated"`
	Deleted     bool          `bson:"deleted"`
	Op          string        `bson:"op"`
	Seq         int64         `bson:"seq"`            // the version's history _id
	Body        []byte        `bson:"body,omitempty"` // canonical JSON as binary; absent for a deletion

	Search searchFields `bson:",inline"`
}

// historyDoc is one version in the history collection. Its _id is the
// version's sequence number, which orders writes across all resources.
type historyDoc struct {
	Seq         int64         `bson:"_id"`
	Type        string        `bson:"type"`
	ID          string        `bson:"id"`
	Version     int64         `bson:"version"`
	LastUpdated bson.DateTime `bson:"lastUpdated"`
	Deleted     bool          `bson:"deleted"`
	Op          string        `bson:"op"`
	Body        []byte        `bson:"body,omitempty"`

	// Ended and NextSeq are the next version's lastUpdated and sequence
	// number, absent while this version is current. A version is current
	// from LastUpdated up to, but not including, Ended.
	Ended   *bson.DateTime `bson:"ended,omitempty"`
	NextSeq *int64         `bson:"nextSeq,omitempty"`

	// Search is the version's search index while the version is current.
	// A version finished from its history document (completeVersion)
	// copies it to the current document; ending the version removes it.
	Search searchFields `bson:",inline"`
}

// resourceKey is the _id of a resource's current document. A resource type
// never contains '/', so the key is unambiguous; Write rejects such a type.
func resourceKey(resourceType, id string) string { return resourceType + "/" + id }

func newHistoryDoc(r storage.Resource, seq int64, search searchFields) historyDoc {
	return historyDoc{
		Seq:         seq,
		Type:        r.Type,
		ID:          r.ID,
		Version:     r.VersionID,
		LastUpdated: bson.NewDateTimeFromTime(r.LastUpdated),
		Deleted:     r.Deleted,
		Op:          string(r.Op),
		Body:        r.JSON,
		Search:      search,
	}
}

// current returns the resources document for the version h.
func (h historyDoc) current() currentDoc {
	return currentDoc{
		Key:         resourceKey(h.Type, h.ID),
		Type:        h.Type,
		ID:          h.ID,
		Version:     h.Version,
		LastUpdated: h.LastUpdated,
		Deleted:     h.Deleted,
		Op:          h.Op,
		Seq:         h.Seq,
		Body:        h.Body,
		Search:      h.Search,
	}
}

func (h historyDoc) resource() storage.Resource {
	return toResource(h.Type, h.ID, h.Version, h.LastUpdated, h.Op, h.Deleted, h.Body)
}

func (c currentDoc) resource() storage.Resource {
	return toResource(c.Type, c.ID, c.Version, c.LastUpdated, c.Op, c.Deleted, c.Body)
}

func toResource(resourceType, id string, version int64, lastUpdated bson.DateTime, op string, deleted bool, body []byte) storage.Resource {
	r := storage.Resource{
		Type:        resourceType,
		ID:          id,
		VersionID:   version,
		LastUpdated: time.UnixMilli(int64(lastUpdated)).UTC(),
		Op:          storage.Operation(op),
		Deleted:     deleted,
	}
	if !deleted {
		r.JSON = body
	}
	return r
}

// indexSpec is one index that Open creates.
type indexSpec struct {
	collection string
	name       string
	keys       bson.D
	unique     bool
}

// indexes serve, on history, the unique version key, which is also what
// makes the optimistic check exact without transactions, and the three
// history levels in their order (lastUpdated DESC, seq DESC). On
// resources they serve search: docs/storage-mongo.md explains which query
// shape each one bounds.
var indexes = []indexSpec{
	{historyCollection, "type_id_version", bson.D{{Key: "type", Value: 1}, {Key: "id", Value: 1}, {Key: "version", Value: 1}}, true},
	{historyCollection, "instance_history", bson.D{{Key: "type", Value: 1}, {Key: "id", Value: 1}, {Key: "lastUpdated", Value: -1}, {Key: "_id", Value: -1}}, false},
	{historyCollection, "type_history", bson.D{{Key: "type", Value: 1}, {Key: "lastUpdated", Value: -1}, {Key: "_id", Value: -1}}, false},
	{historyCollection, "system_history", bson.D{{Key: "lastUpdated", Value: -1}, {Key: "_id", Value: -1}}, false},

	{resourcesCollection, "search_keys", bson.D{{Key: "k", Value: 1}, {Key: "type", Value: 1}}, false},
	{resourcesCollection, "search_dates_low", bson.D{{Key: "dt.p", Value: 1}, {Key: "type", Value: 1}, {Key: "dt.lo", Value: 1}, {Key: "dt.hi", Value: 1}}, false},
	{resourcesCollection, "search_dates_high", bson.D{{Key: "dt.p", Value: 1}, {Key: "type", Value: 1}, {Key: "dt.hi", Value: 1}, {Key: "dt.lo", Value: 1}}, false},
	{resourcesCollection, "search_numbers", bson.D{{Key: "nm.p", Value: 1}, {Key: "type", Value: 1}, {Key: "nm.n", Value: 1}}, false},
	{resourcesCollection, "search_composites", bson.D{{Key: "cp.p", Value: 1}, {Key: "type", Value: 1}, {Key: "cp.v0.c", Value: 1}}, false},
	{resourcesCollection, "search_present", bson.D{{Key: "has", Value: 1}, {Key: "type", Value: 1}}, false},
	{resourcesCollection, "type_id", bson.D{{Key: "type", Value: 1}, {Key: "id", Value: 1}}, false},
	{resourcesCollection, "type_last_updated", bson.D{{Key: "type", Value: 1}, {Key: "lastUpdated", Value: 1}}, false},
}

// snapshotTTLIndex is the name of the TTL index on expires that the
// snapshot collections share.
const snapshotTTLIndex = "expires_ttl"

// errCodeNotImplemented is the error code FerretDB returns for an index
// option it lacks, such as expireAfterSeconds.
const errCodeNotImplemented = 238

// ensureSchema checks the schema version, creates the indexes and makes
// sure the sequence counter is at least the largest sequence number in
// history, so that a lost or restored counter never hands out a number
// twice. Every step is idempotent, so concurrent Opens are safe.
func (s *Store) ensureSchema(ctx context.Context) error {
	if err := s.checkSchemaVersion(ctx); err != nil {
		return err
	}
	// One request per index, so that an error names its index. FerretDB
	// v1.24 also fails a request in which two or more indexes exist already.
	for _, index := range indexes {
		opts := options.Index().SetName(index.name)
		if index.unique {
			opts.SetUnique(true)
		}
		model := mongo.IndexModel{Keys: index.keys, Options: opts}
		if _, err := s.database.Collection(index.collection).Indexes().CreateOne(ctx, model); err != nil {
			return fmt.Errorf("create %s index %s: %w", index.collection, index.name, err)
		}
	}
	if err := s.ensureSnapshotExpiry(ctx); err != nil {
		return err
	}

	return s.raiseCounter(ctx)
}

// ensureSnapshotExpiry creates a TTL index on expires in both snapshot
// collections, so the server removes expired snapshots. A server without
// TTL indexes (FerretDB v1) gets a plain index instead, and the store
// removes expired snapshots itself whenever it creates one.
func (s *Store) ensureSnapshotExpiry(ctx context.Context) error {
	for _, name := range []string{snapshotsCollection, resultsCollection} {
		indexes := s.database.Collection(name).Indexes()
		keys := bson.D{{Key: "expires", Value: 1}}
		_, err := indexes.CreateOne(ctx, mongo.IndexModel{Keys: keys,
			Options: options.Index().SetName(snapshotTTLIndex).SetExpireAfterSeconds(0)})
		if err == nil {
			continue
		}
		var serverErr mongo.ServerError
		if !errors.As(err, &serverErr) || !serverErr.HasErrorCode(errCodeNotImplemented) {
			return fmt.Errorf("create %s index %s: %w", name, snapshotTTLIndex, err)
		}
		s.removeExpiredSnapshots = true
		if _, err := indexes.CreateOne(ctx, mongo.IndexModel{Keys: keys, Options: options.Index().SetName("expires")}); err != nil {
			return fmt.Errorf("create %s index expires: %w", name, err)
		}
	}
	return nil
}

// raiseCounter moves the sequence counter up to the largest sequence number
// in history, creating the counter when it is missing.
func (s *Store) raiseCounter(ctx context.Context) error {
	maxSeq, err := s.maxHistorySeq(ctx)
	if err != nil {
		return err
	}
	_, err = s.counters.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: historyCounterID}},
		bson.D{{Key: "$max", Value: bson.D{{Key: "value", Value: maxSeq}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("raise history counter to %d: %w", maxSeq, err)
	}
	return nil
}

func (s *Store) checkSchemaVersion(ctx context.Context) error {
	meta := s.database.Collection(metaCollection)
	filter := bson.D{{Key: "_id", Value: "schema"}}

	var doc struct {
		Version int `bson:"version"`
	}
	err := meta.FindOne(ctx, filter).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		_, err = meta.InsertOne(ctx, bson.D{{Key: "_id", Value: "schema"}, {Key: "version", Value: schemaVersion}})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("record schema version %d: %w", schemaVersion, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if doc.Version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this build supports (%d): upgrade Ward", doc.Version, schemaVersion)
	}
	if doc.Version == schemaVersion {
		return nil
	}

	// Version 1 stored no search index, and the backend cannot extract
	// one from the bodies, so only an empty database moves up.
	n, err := s.resources.CountDocuments(ctx, bson.D{}, options.Count().SetLimit(1))
	if err != nil {
		return fmt.Errorf("count resources of schema version %d: %w", doc.Version, err)
	}
	if n > 0 {
		return fmt.Errorf("schema version %d has resources without a search index, which this build (schema version %d) needs: load them into a new database",
			doc.Version, schemaVersion)
	}
	_, err = meta.UpdateOne(ctx, filter, bson.D{{Key: "$max", Value: bson.D{{Key: "version", Value: schemaVersion}}}})
	if err != nil {
		return fmt.Errorf("record schema version %d: %w", schemaVersion, err)
	}
	return nil
}

// maxHistorySeq returns the largest sequence number in history, 0 when it
// is empty.
func (s *Store) maxHistorySeq(ctx context.Context) (int64, error) {
	var doc struct {
		Seq int64 `bson:"_id"`
	}
	err := s.history.FindOne(ctx, bson.D{}, options.FindOne().
		SetSort(bson.D{{Key: "_id", Value: -1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the largest history sequence number: %w", err)
	}
	return doc.Seq, nil
}
