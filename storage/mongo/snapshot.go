package mongo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
)

// searchCursorFormat is the first byte of a search cursor. History cursors
// start with cursorFormat, so neither is mistaken for the other.
const searchCursorFormat = 0x53

// secretSize is the length of a snapshot's random secret. A cursor must
// carry it, so that a client cannot read another client's snapshot by
// guessing its id, which an ObjectID makes easy.
const secretSize = 16

// resultsPerDocument is the number of ids in one search_results document:
// about 40 KB for ids of a typical length, far below the 16 MB limit.
const resultsPerDocument = 1000

// snapshotDoc is a paged search in search_snapshots. Its ordered matches
// are in search_results, resultsPerDocument to a document.
type snapshotDoc struct {
	ID      bson.ObjectID `bson:"_id"`
	Secret  []byte        `bson:"secret"`
	Query   []byte        `bson:"query"` // queryHash of the search
	Total   int64         `bson:"total"`
	Expires bson.DateTime `bson:"expires"`
}

// resultsDoc holds the matches at positions n*resultsPerDocument+1 and on
// of one snapshot, as "Type/id" keys. Its _id is "<snapshot id>/<n>".
type resultsDoc struct {
	ID      string        `bson:"_id"`
	Keys    []string      `bson:"ids"`
	Expires bson.DateTime `bson:"expires"`
}

func resultsID(snapshot bson.ObjectID, n int64) string {
	return fmt.Sprintf("%s/%d", snapshot.Hex(), n)
}

// searchCursor points into a snapshot: the page after position anchor
// (older, a NextCursor), or the page before it (newer, a PrevCursor).
// Positions start at 1.
type searchCursor struct {
	dir      direction
	snapshot bson.ObjectID
	secret   []byte
	anchor   int64
}

func (c searchCursor) encode() string {
	b := make([]byte, 0, 40)
	b = append(b, searchCursorFormat, byte(c.dir))
	b = append(b, c.snapshot[:]...)
	b = append(b, c.secret...)
	// The anchor is 0 or a snapshot position, which starts at 1. Only a
	// client-edited cursor (newer, anchor 0) can lead here with -1, which
	// encodes above 1<<62, so decodeSearchCursor rejects it.
	b = binary.AppendUvarint(b, uint64(c.anchor)) // #nosec G115 -- see the comment above
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSearchCursor(s string) (searchCursor, error) {
	invalid := func(reason string) error {
		return fmt.Errorf("mongo: search cursor %q %s: %w", s, reason, storage.ErrInvalidCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return searchCursor{}, invalid("is not base64url")
	}
	if len(b) < 2 || b[0] != searchCursorFormat {
		return searchCursor{}, invalid("has an unknown format")
	}
	c := searchCursor{dir: direction(b[1])}
	if c.dir != older && c.dir != newer {
		return searchCursor{}, invalid("has an unknown direction")
	}
	rest := b[2:]

	if len(rest) < len(c.snapshot)+secretSize {
		return searchCursor{}, invalid("has a truncated snapshot id or secret")
	}
	copy(c.snapshot[:], rest)
	rest = rest[len(c.snapshot):]
	c.secret, rest = rest[:secretSize], rest[secretSize:]

	var ok bool
	if c.anchor, rest, ok = readUvarint(rest); !ok {
		return searchCursor{}, invalid("has a truncated position")
	}
	if len(rest) != 0 {
		return searchCursor{}, invalid(fmt.Sprintf("has %d trailing bytes", len(rest)))
	}
	return c, nil
}

// queryHash identifies the matches and order of q: its types, filter and
// sort, not its page size, cursor or _total.
func queryHash(q storage.Query) ([]byte, error) {
	b, err := json.Marshal(struct {
		Types  []string
		Filter []storage.Clause
		Sort   []storage.Sort
	}{q.Types, q.Filter, q.Sort})
	if err != nil {
		return nil, fmt.Errorf("mongo: search: hash query: %w", err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// snapshotFirstPage stores q's ordered matches as a new snapshot and
// returns its first page. The results documents go in before the
// snapshot document, so a snapshot that a cursor finds is complete.
func (s *Store) snapshotFirstPage(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	now := s.now()
	if err := s.removeExpired(ctx, bson.NewDateTimeFromTime(now)); err != nil {
		return storage.SearchPage{}, err
	}
	hash, err := queryHash(q)
	if err != nil {
		return storage.SearchPage{}, err
	}
	snap := snapshotDoc{
		ID:      bson.NewObjectID(),
		Secret:  make([]byte, secretSize),
		Query:   hash,
		Expires: bson.NewDateTimeFromTime(now.Add(s.snapshotTTL)),
	}
	rand.Read(snap.Secret)

	stages, err := s.matchStages(ctx, q)
	if err != nil {
		return storage.SearchPage{}, err
	}
	stages = append(stages, bson.D{{Key: "$project", Value: bson.D{{Key: "_id", Value: 1}}}})
	cur, err := s.resources.Aggregate(ctx, stages, options.Aggregate().SetAllowDiskUse(true))
	if err != nil {
		return storage.SearchPage{}, fmt.Errorf("mongo: search: query snapshot: %w", err)
	}
	defer cur.Close(ctx)

	results := resultsDoc{ID: resultsID(snap.ID, 0), Expires: snap.Expires}
	flush := func() error {
		if len(results.Keys) == 0 {
			return nil
		}
		if _, err := s.results.InsertOne(ctx, results); err != nil {
			return fmt.Errorf("mongo: search: store snapshot results: %w", err)
		}
		n := snap.Total / resultsPerDocument
		results = resultsDoc{ID: resultsID(snap.ID, n), Expires: snap.Expires}
		return nil
	}
	for cur.Next(ctx) {
		id, ok := cur.Current.Lookup("_id").StringValueOK()
		if !ok {
			return storage.SearchPage{}, fmt.Errorf("mongo: search: snapshot match has _id %s, want a string", cur.Current.Lookup("_id"))
		}
		if snap.Total == int64(s.limits.MaxSnapshot) {
			return storage.SearchPage{}, fmt.Errorf("mongo: search matches more than %d resources, the most a paged search keeps: %w",
				s.limits.MaxSnapshot, storage.ErrTooCostly)
		}
		results.Keys = append(results.Keys, id)
		snap.Total++
		if len(results.Keys) == resultsPerDocument {
			if err := flush(); err != nil {
				return storage.SearchPage{}, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return storage.SearchPage{}, fmt.Errorf("mongo: search: read snapshot matches: %w", err)
	}
	if err := flush(); err != nil {
		return storage.SearchPage{}, err
	}
	if _, err := s.snapshots.InsertOne(ctx, snap); err != nil {
		return storage.SearchPage{}, fmt.Errorf("mongo: search: store snapshot: %w", err)
	}

	return s.readSnapshotPage(ctx, q, snap, searchCursor{dir: older, anchor: 0}, false)
}

// removeExpired deletes expired snapshots on a server that has no TTL
// indexes to do it.
func (s *Store) removeExpired(ctx context.Context, now bson.DateTime) error {
	if !s.removeExpiredSnapshots {
		return nil
	}
	expired := bson.D{{Key: "expires", Value: bson.D{{Key: "$lt", Value: now}}}}
	for _, c := range []*mongo.Collection{s.snapshots, s.results} {
		if _, err := c.DeleteMany(ctx, expired); err != nil {
			return fmt.Errorf("mongo: search: remove expired snapshots from %s: %w", c.Name(), err)
		}
	}
	return nil
}

// pageFromCursor reads the page that q.Cursor points to.
func (s *Store) pageFromCursor(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	c, err := decodeSearchCursor(q.Cursor)
	if err != nil {
		return storage.SearchPage{}, err
	}
	hash, err := queryHash(q)
	if err != nil {
		return storage.SearchPage{}, err
	}

	var snap snapshotDoc
	err = s.snapshots.FindOne(ctx, bson.D{{Key: "_id", Value: c.snapshot}}).Decode(&snap)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return storage.SearchPage{}, fmt.Errorf("mongo: search cursor %q: its search has expired or never existed: %w", q.Cursor, storage.ErrInvalidCursor)
	case err != nil:
		return storage.SearchPage{}, fmt.Errorf("mongo: search: read snapshot %s: %w", c.snapshot.Hex(), err)
	}
	switch {
	case subtle.ConstantTimeCompare(snap.Secret, c.secret) != 1:
		return storage.SearchPage{}, fmt.Errorf("mongo: search cursor %q: its search has expired or never existed: %w", q.Cursor, storage.ErrInvalidCursor)
	case subtle.ConstantTimeCompare(snap.Query, hash) != 1:
		return storage.SearchPage{}, fmt.Errorf("mongo: search cursor %q was issued for another query: %w", q.Cursor, storage.ErrInvalidCursor)
	case snap.Expires < bson.NewDateTimeFromTime(s.now()):
		return storage.SearchPage{}, fmt.Errorf("mongo: search cursor %q has expired: %w", q.Cursor, storage.ErrInvalidCursor)
	case c.anchor > snap.Total+1:
		return storage.SearchPage{}, fmt.Errorf("mongo: search cursor %q points beyond its %d matches: %w", q.Cursor, snap.Total, storage.ErrInvalidCursor)
	}
	return s.readSnapshotPage(ctx, q, snap, c, true)
}

// readSnapshotPage reads up to q.Count matches on c's side of c.anchor, in
// snapshot order, and builds the cursors around them. Resources deleted
// since the snapshot was taken are left out; the others show their
// current version.
func (s *Store) readSnapshotPage(ctx context.Context, q storage.Query, snap snapshotDoc, c searchCursor, viaCursor bool) (storage.SearchPage, error) {
	step, next := int64(1), c.anchor+1
	if c.dir == newer {
		step, next = -1, c.anchor-1
	}
	want := q.Count + 1
	keys := snapshotKeys{store: s, snap: snap, docs: map[int64][]string{}}

	var matches []storage.Resource
	var positions []int64
	for len(matches) < want {
		var batch []int64
		for len(batch) < want-len(matches) && next >= 1 && next <= snap.Total {
			batch = append(batch, next)
			next += step
		}
		if len(batch) == 0 {
			break
		}

		ids, err := keys.at(ctx, batch)
		if err != nil {
			return storage.SearchPage{}, err
		}
		in := make(bson.A, len(ids))
		for i, id := range ids {
			in[i] = id
		}
		docs, err := s.findLive(ctx, in)
		if err != nil {
			return storage.SearchPage{}, fmt.Errorf("mongo: search: read snapshot %s: %w", snap.ID.Hex(), err)
		}
		byKey := make(map[string]currentDoc, len(docs))
		for _, doc := range docs {
			byKey[doc.Key] = doc
		}
		for i, pos := range batch {
			if doc, ok := byKey[ids[i]]; ok {
				matches = append(matches, doc.resource())
				positions = append(positions, pos)
			}
		}
	}

	more := len(matches) > q.Count
	if more {
		matches, positions = matches[:q.Count], positions[:q.Count]
	}
	if c.dir == newer {
		slices.Reverse(matches)
		slices.Reverse(positions)
	}

	page := storage.SearchPage{Matches: matches, Total: -1}
	if wantsTotal(q) {
		page.Total = int(snap.Total)
	}
	at := func(dir direction, anchor int64) string {
		return searchCursor{dir: dir, snapshot: snap.ID, secret: snap.Secret, anchor: anchor}.encode()
	}

	if len(matches) == 0 {
		// Only a cursor past the end of its side gets here; the way back
		// starts beyond the anchor so that it includes the anchor.
		switch {
		case !viaCursor:
		case c.dir == older:
			page.PrevCursor = at(newer, c.anchor+1)
		default:
			page.NextCursor = at(older, c.anchor-1)
		}
		return page, nil
	}

	laterLeft, earlierLeft := more, viaCursor && c.anchor > 0
	if c.dir == newer {
		laterLeft, earlierLeft = true, more
	}
	if laterLeft {
		page.NextCursor = at(older, positions[len(positions)-1])
	}
	if earlierLeft {
		page.PrevCursor = at(newer, positions[0])
	}
	return page, nil
}

// snapshotKeys reads the keys at positions of one snapshot, loading each
// results document once.
type snapshotKeys struct {
	store *Store
	snap  snapshotDoc
	docs  map[int64][]string
}

// at returns the key at each position, in the order of positions.
func (k *snapshotKeys) at(ctx context.Context, positions []int64) ([]string, error) {
	var missing bson.A
	for _, pos := range positions {
		n := (pos - 1) / resultsPerDocument
		if _, ok := k.docs[n]; !ok {
			k.docs[n] = nil
			missing = append(missing, resultsID(k.snap.ID, n))
		}
	}
	if len(missing) > 0 {
		cur, err := k.store.results.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: missing}}}})
		if err != nil {
			return nil, fmt.Errorf("mongo: search: read snapshot %s results: %w", k.snap.ID.Hex(), err)
		}
		var docs []resultsDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("mongo: search: read snapshot %s results: %w", k.snap.ID.Hex(), err)
		}
		for _, doc := range docs {
			var n int64
			if _, err := fmt.Sscanf(doc.ID, k.snap.ID.Hex()+"/%d", &n); err != nil {
				return nil, fmt.Errorf("mongo: search: snapshot results document %q has an invalid _id: %w", doc.ID, err)
			}
			k.docs[n] = doc.Keys
		}
	}

	keys := make([]string, len(positions))
	for i, pos := range positions {
		n, offset := (pos-1)/resultsPerDocument, (pos-1)%resultsPerDocument
		doc := k.docs[n]
		if offset >= int64(len(doc)) {
			// The server removed the results when they expired, between
			// reading the snapshot and them.
			return nil, fmt.Errorf("mongo: search: snapshot %s has no match at position %d, it has expired: %w", k.snap.ID.Hex(), pos, storage.ErrInvalidCursor)
		}
		keys[i] = doc[offset]
	}
	return keys, nil
}
