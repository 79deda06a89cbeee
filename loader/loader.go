// Package loader sends FHIR R4 data from files to a FHIR server through its
// RESTful API: JSON Bundles (transaction, batch, collection and others),
// single resources, NDJSON files, gzip-compressed files, tar archives and
// directories of them.
//
// Every write is an HTTP request to POST [base] with a transaction or
// batch Bundle, sent through an *http.Client. The client may reach a
// server over the network or, with HandlerTransport, call an http.Handler
// in the same process, so both paths run the same code.
//
// Reference data is loaded before the data that refers to it: files and
// Bundles that contain only Organization, Location, Practitioner and
// PractitionerRole resources (Synthea's hospitalInformation and
// practitionerInformation files) go first, in two steps, and the rest
// follows once they have been stored. See Rank.
package loader

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultConcurrency = 3
	DefaultBatchSize   = 500
)

// Options configure a Loader. BaseURL is required.
type Options struct {
	// Client sends the requests; nil means a client with no overall
	// timeout, because a large transaction may take minutes.
	Client *http.Client

	// BaseURL is the FHIR base, such as http://127.0.0.1:8080.
	BaseURL string

	// Header is added to every request, for example Authorization.
	Header http.Header

	// Concurrency is the number of Bundles in flight at once; zero means
	// DefaultConcurrency.
	Concurrency int

	// BatchSize is the number of NDJSON lines or single-resource files
	// sent in one Bundle; zero means DefaultBatchSize.
	BatchSize int

	// OnFailure, when set, is called once for every failure as it
	// happens, from the goroutine that saw it. Load also returns them all
	// in Summary.Failures.
	OnFailure func(Failure)
}

// Loader loads files into one FHIR server. Its methods are safe for
// concurrent use, but each Load call runs its own schedule.
type Loader struct {
	opts    Options
	client  *http.Client
	base    string
	counter counter
}

// New checks opts and returns a Loader.
func New(opts Options) (*Loader, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("loader: Options.BaseURL is required")
	}
	if opts.Concurrency < 0 || opts.BatchSize < 0 {
		return nil, fmt.Errorf("loader: concurrency %d and batch size %d must not be negative", opts.Concurrency, opts.BatchSize)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{}
	}
	return &Loader{opts: opts, client: client, base: strings.TrimRight(opts.BaseURL, "/")}, nil
}

// Summary is the result of one Load.
type Summary struct {
	// Files is the number of JSON and NDJSON files read, archive members
	// included.
	Files int
	// Loaded counts the entries the server accepted, by resource type.
	Loaded map[string]int64
	// Failures lists every entry or file that failed, in the order seen.
	Failures []Failure
	// Requests is the number of Bundles sent.
	Requests int64
	// Elapsed is the wall time of the Load.
	Elapsed time.Duration
}

// Total returns the number of entries the server accepted.
func (s Summary) Total() int64 {
	var n int64
	for _, count := range s.Loaded {
		n += count
	}
	return n
}

// Progress is a snapshot of a running Load for progress displays.
type Progress struct {
	Files     int64 // files finished
	Resources int64 // entries accepted
	Failed    int64 // failures
	Elapsed   time.Duration
}

// Progress returns the counters of the Load in progress, or of the last
// one.
func (l *Loader) Progress() Progress {
	start, _ := l.counter.start.Load().(time.Time)
	var elapsed time.Duration
	if !start.IsZero() {
		elapsed = time.Since(start)
	}
	return Progress{
		Files:     l.counter.files.Load(),
		Resources: l.counter.resources.Load(),
		Failed:    l.counter.failed.Load(),
		Elapsed:   elapsed,
	}
}

type counter struct {
	start     atomic.Value // time.Time
	files     atomic.Int64
	resources atomic.Int64
	failed    atomic.Int64
}

// Load reads the files and directories at paths on the local file system
// and sends their resources to the server. See LoadFS.
func (l *Loader) Load(ctx context.Context, paths ...string) (Summary, error) {
	return l.LoadFS(ctx, osFS{}, paths...)
}

// LoadFS loads the files and directories at paths in fsys.
//
// A directory is walked recursively in lexical order. Files are taken by
// name: *.json (a Bundle or one resource; several JSON values one after
// the other are read as NDJSON), *.ndjson and *.jsonl (one resource per
// line), any of these ending in .gz, and tar archives (*.tar, *.tar.gz,
// *.tgz) whose members follow the same rules. Other files in a directory
// are skipped; a path named explicitly must be one of these kinds.
//
// Failed entries do not stop the load: they are counted, passed to
// Options.OnFailure and returned in Summary.Failures. The error is non-nil
// only when the load could not run to its end, for example when a path is
// missing, a file cannot be read or ctx is cancelled.
func (l *Loader) LoadFS(ctx context.Context, fsys fs.FS, paths ...string) (Summary, error) {
	if len(paths) == 0 {
		return Summary{}, errors.New("loader: no paths to load")
	}
	started := time.Now()
	l.counter = counter{}
	l.counter.start.Store(started)

	run := &run{loader: l, loaded: map[string]int64{}}
	sources, err := listSources(fsys, paths)
	if err != nil {
		return Summary{}, err
	}
	ranks, err := rankSources(ctx, fsys, sources)
	if err != nil {
		return run.summary(started), err
	}

	// Each rank is loaded completely before the next starts, so that
	// conditional references in later files find the resources of earlier
	// ranks.
	for rank := RankOrganizations; rank <= RankOther; rank++ {
		if err := run.loadRank(ctx, fsys, sources, ranks, rank); err != nil {
			return run.summary(started), err
		}
	}
	return run.summary(started), nil
}

// run is the state of one LoadFS call.
type run struct {
	loader *Loader

	mu       sync.Mutex
	files    int
	loaded   map[string]int64
	failures []Failure
	requests int64
}

func (r *run) summary(started time.Time) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	loaded := make(map[string]int64, len(r.loaded))
	for t, n := range r.loaded {
		loaded[t] = n
	}
	return Summary{
		Files:    r.files,
		Loaded:   loaded,
		Failures: append([]Failure(nil), r.failures...),
		Requests: r.requests,
		Elapsed:  time.Since(started),
	}
}

func (r *run) fail(f Failure) {
	r.mu.Lock()
	r.failures = append(r.failures, f)
	r.mu.Unlock()
	r.loader.counter.failed.Add(1)
	if r.loader.opts.OnFailure != nil {
		r.loader.opts.OnFailure(f)
	}
}

func (r *run) accept(resourceType string) {
	r.mu.Lock()
	r.loaded[resourceType]++
	r.mu.Unlock()
	r.loader.counter.resources.Add(1)
}

func (r *run) fileDone() {
	r.mu.Lock()
	r.files++
	r.mu.Unlock()
	r.loader.counter.files.Add(1)
}
