// Package sqlite is Ward's embedded storage.Backend: one SQLite database
// file, ward.db, under a data directory, driven through database/sql by the
// pure-Go modernc.org/sqlite driver.
//
// The database runs in WAL mode with synchronous=FULL, so a Write that has
// returned without error survives a crash of the process, the operating
// system or the machine, as far as the disk honours fsync. All writes go
// through one connection, so they are serialized in this process. Reads use
// a small pool of read-only connections and, in WAL mode, do not wait for
// the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/ward-fhir/ward/storage"
)

// FileName is the name of the database file inside the data directory.
const FileName = "ward.db"

// Settings of the write connection; see dataSourceName.
const (
	// writerCacheKiB is its page cache in KiB, a maximum that SQLite
	// fills as pages are read. NOTE: the size is an estimate. 16 MiB
	// stored Synthea as fast, but its database is 60 MB, and a
	// hospital's is far larger.
	writerCacheKiB = 64 << 10
	// writerCheckpointPages is its wal_autocheckpoint, in pages.
	writerCheckpointPages = 4000
)

// Store is a storage.Backend on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	path   string
	writer *sql.DB // one connection, so writes are serialized
	reader *sql.DB // read-only connections

	limits      SearchLimits
	snapshotTTL time.Duration
	now         func() time.Time

	params paramCache
	stmts  *writeStatements
}

var (
	_ storage.Backend    = (*Store)(nil)
	_ storage.Searcher   = (*Store)(nil)
	_ storage.Transactor = (*Store)(nil)
)

type config struct {
	readConnections int
	busyTimeout     time.Duration
	limits          SearchLimits
	snapshotTTL     time.Duration
	now             func() time.Time
}

// Option changes how Open sets up a Store.
type Option func(*config)

// WithReadConnections sets the maximum number of read-only connections
// (default 4). Values below 1 are treated as 1.
func WithReadConnections(n int) Option {
	return func(c *config) { c.readConnections = max(n, 1) }
}

// WithBusyTimeout sets how long a statement waits for a lock that another
// process holds on the database file before it fails (default 5s). Writers
// in this process queue for the one write connection instead and are bound
// only by their context.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
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

// Open opens, or creates, the database file ward.db in dir and migrates its
// schema to the current version. It creates dir with mode 0o700 when it is
// missing. ctx bounds only the opening and the migration.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	cfg := config{
		readConnections: 4,
		busyTimeout:     5 * time.Second,
		limits:          DefaultSearchLimits,
		snapshotTTL:     DefaultSnapshotTTL,
		now:             time.Now,
	}
	for _, opt := range opts {
		opt(&cfg)
	}

	if dir == "" {
		return nil, errors.New("sqlite: open: data directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory %q: %w", dir, err)
	}
	path, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolve database path in %q: %w", dir, err)
	}

	writer, err := sql.Open("sqlite", dataSourceName(path, cfg, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)

	// The schema must exist before a reader looks at it, and the first
	// connection also switches the file to WAL mode.
	if err := migrate(ctx, writer); err != nil {
		_ = writer.Close() // the migration error is the one to report
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}

	stmts, err := prepareWriteStatements(ctx, writer)
	if err != nil {
		_ = writer.Close() // the prepare error is the one to report
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	reader, err := sql.Open("sqlite", dataSourceName(path, cfg, true))
	if err != nil {
		_ = stmts.close() // the open error is the one to report
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(cfg.readConnections)
	reader.SetMaxIdleConns(cfg.readConnections)

	s := &Store{
		path:        path,
		writer:      writer,
		reader:      reader,
		limits:      cfg.limits,
		snapshotTTL: cfg.snapshotTTL,
		now:         cfg.now,
		params:      paramCache{ids: map[paramKey]int64{}},
		stmts:       stmts,
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close() // the ping error is the one to report
		return nil, err
	}
	return s, nil
}

// dataSourceName builds the driver's DSN. Every connection gets the same
// pragmas because database/sql may open a new connection at any time.
func dataSourceName(path string, cfg config, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL on every commit; NORMAL, the usual WAL choice, may
	// lose the last commits on power loss, which an acknowledged clinical
	// write must not.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(0)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// IMMEDIATE takes the write lock at BEGIN, so a write transaction
		// does not fail with SQLITE_BUSY when its first write would
		// upgrade a read lock.
		q.Set("_txlock", "immediate")
		// A write changes pages all over the history and index B-trees.
		// With SQLite's default cache of 2 MiB the writer evicts them
		// between writes, reads them back, and spills dirty pages to the
		// WAL before the commit.
		q.Add("_pragma", "cache_size("+strconv.Itoa(-writerCacheKiB)+")")
		// The commit that fills the WAL past this many pages copies them
		// into the database file. Index pages change in commit after
		// commit, so a longer WAL copies each of them fewer times. With
		// 4000 pages (16 MiB) BenchmarkWriteSynthea ran about 10% faster
		// than with SQLite's default of 1000 (docs/benchmarks.md).
		q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(writerCheckpointPages)+")")
	}

	// A file: URI with an escaped path keeps a '?' or '#' in the directory
	// name from being read as the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that both the write and the read connections can reach the
// database file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer %s: %w", s.path, err)
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping reader %s: %w", s.path, err)
	}
	return nil
}

// Close closes the connections. Queries in progress finish first, on their
// own connections. Other methods called after Close fail; a second Close
// returns nil.
func (s *Store) Close() error {
	rerr := s.reader.Close()
	serr := s.stmts.close()
	werr := s.writer.Close()
	if err := errors.Join(rerr, serr, werr); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}
