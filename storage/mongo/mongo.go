// Package mongo is Ward's MongoDB storage.Backend for MongoDB 6.0 and later,
// built on the official driver, go.mongodb.org/mongo-driver/v2.
//
// Each resource has one document in the resources collection that holds its
// current version and its search index, and each version has one document
// in the history collection. A Write runs as a multi-document transaction
// with write concern majority and journaling, so Open needs a replica set
// or a sharded cluster and rejects a standalone server unless the caller
// chooses WithoutTransactions. Store implements storage.Searcher and
// storage.Transactor. docs/storage-mongo.md describes the collections, the
// indexes, how a search plan becomes a MongoDB query, and both write
// modes.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/ward-fhir/ward/storage"
)

// DefaultDatabase is the database Open uses when the URI names none.
const DefaultDatabase = "ward"

// minWireVersion is the wire protocol version of MongoDB 6.0, the oldest
// release this backend supports.
const minWireVersion = 17

// closeTimeout bounds how long Close waits for operations in progress to
// return their connections.
const closeTimeout = 10 * time.Second

// ErrTransactionsUnsupported means the deployment cannot run multi-document
// transactions because it is a standalone server, not a replica set or a
// sharded cluster. Open returns it wrapped unless WithoutTransactions is set.
var ErrTransactionsUnsupported = errors.New("deployment does not support multi-document transactions")

// Store is a storage.Backend on one MongoDB database. It is safe for
// concurrent use.
type Store struct {
	client    *mongo.Client
	database  *mongo.Database
	resources *mongo.Collection
	history   *mongo.Collection
	counters  *mongo.Collection
	snapshots *mongo.Collection
	results   *mongo.Collection

	// transactions is false when the store writes without transactions
	// (WithoutTransactions). writeLock serializes this process's writes
	// and Transactions in both modes. Without transactions it also makes
	// history sequence numbers land in the order they were taken.
	transactions bool
	writeLock    chan struct{}

	transactionOptions *options.TransactionOptionsBuilder

	limits      SearchLimits
	snapshotTTL time.Duration
	now         func() time.Time

	// removeExpiredSnapshots is set when the server has no TTL indexes,
	// so the store deletes expired snapshots itself.
	removeExpiredSnapshots bool
}

var (
	_ storage.Backend    = (*Store)(nil)
	_ storage.Searcher   = (*Store)(nil)
	_ storage.Transactor = (*Store)(nil)
)

type config struct {
	database            string
	withoutTransactions bool
	limits              SearchLimits
	snapshotTTL         time.Duration
	now                 func() time.Time
}

// Option changes how Open sets up a Store.
type Option func(*config)

// WithDatabase sets the database name, overriding the one in the URI.
func WithDatabase(name string) Option {
	return func(c *config) { c.database = name }
}

// WithoutTransactions makes the store write each version as a short series
// of single-document operations instead of one transaction, so that it runs
// on a standalone server. The optimistic version check stays exact, but a
// crash in the middle of a write leaves the version in history before the
// current document shows it, until the next write to that resource
// completes it. History paging is stable only while a single process writes
// to the database. Transaction then only serializes: other clients see its
// writes at once, and a failed one is undone write by write, which a crash
// can interrupt. docs/storage-mongo.md lists the differences.
func WithoutTransactions() Option {
	return func(c *config) { c.withoutTransactions = true }
}

// WithSearchLimits sets the cost limits of Search; zero fields keep their
// defaults from DefaultSearchLimits.
func WithSearchLimits(l SearchLimits) Option {
	return func(c *config) { c.limits = l.withDefaults() }
}

// WithSnapshotTTL sets how long the cursors of a paged search stay valid
// after its first page (default DefaultSnapshotTTL).
func WithSnapshotTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.snapshotTTL = d
		}
	}
}

// WithClock replaces time.Now as the source of the current time, which
// decides when search snapshots expire and what "now" means to the ap
// prefix on dates. Tests use it to expire cursors without waiting.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Open connects to the deployment at uri, checks that it is MongoDB 6.0 or
// later and that it can run transactions, and creates the collections and
// indexes that are missing. The database is the one named in the URI path,
// DefaultDatabase when the path is empty, or the one WithDatabase gives.
// ctx bounds only the connection checks and the schema setup.
func Open(ctx context.Context, uri string, opts ...Option) (*Store, error) {
	cfg := config{limits: DefaultSearchLimits, snapshotTTL: DefaultSnapshotTTL, now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.database == "" {
		name, err := databaseFromURI(uri)
		if err != nil {
			return nil, fmt.Errorf("mongo: open: %w", err)
		}
		cfg.database = name
	}
	if cfg.database == "" {
		cfg.database = DefaultDatabase
	}

	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("mongo: open: connect: %w", err)
	}
	s, err := newStore(ctx, client, cfg)
	if err != nil {
		disconnectCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		_ = client.Disconnect(disconnectCtx)
		return nil, err
	}
	return s, nil
}

func newStore(ctx context.Context, client *mongo.Client, cfg config) (*Store, error) {
	top, err := readTopology(ctx, client)
	if err != nil {
		return nil, err
	}
	if top.maxWireVersion < minWireVersion {
		return nil, fmt.Errorf("mongo: open: server wire version %d is older than MongoDB 6.0 (wire version %d): upgrade the server",
			top.maxWireVersion, minWireVersion)
	}
	if !top.transactions && !cfg.withoutTransactions {
		return nil, fmt.Errorf("mongo: open: the server is a standalone mongod: %w; run it as a replica set "+
			"(one member is enough: start mongod with --replSet and run rs.initiate()) or open the store WithoutTransactions",
			ErrTransactionsUnsupported)
	}

	// A standalone server has no replication, so read concern majority adds
	// nothing there, and write concern majority is one acknowledgement.
	journal := true
	wc := &writeconcern.WriteConcern{W: "majority", Journal: &journal}
	rc := readconcern.Majority()
	if !top.transactions {
		wc = &writeconcern.WriteConcern{W: 1, Journal: &journal}
		rc = readconcern.Local()
	}
	database := client.Database(cfg.database, options.Database().
		SetWriteConcern(wc).
		SetReadConcern(rc).
		SetReadPreference(readpref.Primary()))

	s := &Store{
		client:       client,
		database:     database,
		resources:    database.Collection(resourcesCollection),
		history:      database.Collection(historyCollection),
		counters:     database.Collection(countersCollection),
		snapshots:    database.Collection(snapshotsCollection),
		results:      database.Collection(resultsCollection),
		transactions: !cfg.withoutTransactions,
		writeLock:    make(chan struct{}, 1),
		transactionOptions: options.Transaction().
			SetReadConcern(readconcern.Snapshot()).
			SetWriteConcern(wc).
			SetReadPreference(readpref.Primary()),
		limits:      cfg.limits,
		snapshotTTL: cfg.snapshotTTL,
		now:         cfg.now,
	}
	if err := s.ensureSchema(ctx); err != nil {
		return nil, fmt.Errorf("mongo: open database %q: %w", cfg.database, err)
	}
	return s, nil
}

// topology is the kind and wire version of the deployment, from hello.
type topology struct {
	maxWireVersion int32
	transactions   bool // a replica set member or a mongos
}

func readTopology(ctx context.Context, client *mongo.Client) (topology, error) {
	var hello struct {
		SetName        string `bson:"setName"`
		Msg            string `bson:"msg"`
		MaxWireVersion int32  `bson:"maxWireVersion"`
	}
	err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello)
	if err != nil {
		return topology{}, fmt.Errorf("mongo: open: hello: %w", err)
	}
	return topology{
		maxWireVersion: hello.MaxWireVersion,
		transactions:   hello.SetName != "" || hello.Msg == "isdbgrid",
	}, nil
}

// databaseFromURI returns the percent-decoded database name of a mongodb://
// or mongodb+srv:// URI, or "" when the URI has no path. It does not use
// the driver's parser, because that resolves SRV records through DNS.
func databaseFromURI(uri string) (string, error) {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "", errors.New("connection string has no scheme, want mongodb:// or mongodb+srv://")
	}

	// The URI format requires '/' and '?' inside credentials and host names
	// to be percent-encoded, so the first '/' starts the database name.
	_, path, ok := strings.Cut(rest, "/")
	if !ok {
		return "", nil
	}
	path, _, _ = strings.Cut(path, "?")
	name, err := url.PathUnescape(path)
	if err != nil {
		return "", fmt.Errorf("database name %q in the connection string is not valid percent-encoding: %w", path, err)
	}
	return name, nil
}

// Database returns the name of the database the store uses.
func (s *Store) Database() string { return s.database.Name() }

// Transactions reports whether writes run as multi-document transactions,
// which is false only for a store opened WithoutTransactions.
func (s *Store) Transactions() bool { return s.transactions }

// Ping checks that the primary responds.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("mongo: ping database %q: %w", s.database.Name(), err)
	}
	return nil
}

// Close disconnects from the deployment, waiting up to 10 seconds for
// operations in progress. Other methods called after Close fail; a second
// Close returns nil.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := s.client.Disconnect(ctx)
	if err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("mongo: close database %q: %w", s.database.Name(), err)
	}
	return nil
}
