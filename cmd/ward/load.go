package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/loader"
	"github.com/ward-fhir/ward/resources"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// loadConfig holds the settings of ward load.
type loadConfig struct {
	url            string
	dataDir        string
	baseURL        string
	concurrency    int
	batchSize      int
	headers        headerFlag
	requestTimeout time.Duration
	paths          []string
}

// maxPrintedFailures bounds the failure lines printed during one load, so
// that a file of a million bad lines does not flood the terminal. The
// summary still counts them all.
const maxPrintedFailures = 100

func parseLoadFlags(args []string, stderr io.Writer) (loadConfig, error) {
	var cfg loadConfig
	fs := flag.NewFlagSet("ward load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), `Usage: ward load (--url URL | --data-dir DIR) [flags] PATH...

Loads FHIR R4 JSON into a running server (--url) or straight into the
embedded store of a data directory that no server has open (--data-dir).
PATH is a JSON Bundle (transaction, batch, collection, searchset, history,
document, message), a single resource, an NDJSON file (.ndjson, .jsonl),
any of these compressed as .gz, a tar archive (.tar, .tar.gz, .tgz) or a
directory of them. Files of Organization, Location, Practitioner and
PractitionerRole resources (such as Synthea's hospitalInformation and
practitionerInformation files) are loaded before the others.

Flags:
`)
		fs.PrintDefaults()
	}

	fs.StringVar(&cfg.url, "url", env("WARD_URL", ""), "FHIR base URL of a running server, such as http://127.0.0.1:8080")
	fs.StringVar(&cfg.dataDir, "data-dir", env("WARD_DATA_DIR", ""), "data directory of the embedded store to load into, with no server running on it")
	fs.StringVar(&cfg.baseURL, "base-url", env("WARD_BASE_URL", "http://127.0.0.1:8080"), "with --data-dir: the server's public base URL, used to resolve absolute references")
	fs.IntVar(&cfg.concurrency, "concurrency", int(envInt64("WARD_CONCURRENCY", loader.DefaultConcurrency)), "Bundles sent at once")
	fs.IntVar(&cfg.batchSize, "batch-size", int(envInt64("WARD_BATCH_SIZE", loader.DefaultBatchSize)), "NDJSON lines or single-resource files per Bundle")
	fs.Var(&cfg.headers, "header", `HTTP header for every request, as "Name: value"; repeatable`)
	fs.DurationVar(&cfg.requestTimeout, "request-timeout", 10*time.Minute, "time one Bundle may take, request and response")

	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.paths = fs.Args()

	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	switch {
	case explicit["url"] && explicit["data-dir"]:
		return cfg, errors.New("give either --url or --data-dir, not both")
	case explicit["url"]:
		cfg.dataDir = ""
	case explicit["data-dir"]:
		cfg.url = ""
	case cfg.url != "" && cfg.dataDir != "":
		return cfg, errors.New("WARD_URL and WARD_DATA_DIR are both set; choose one with --url or --data-dir")
	case cfg.url == "" && cfg.dataDir == "":
		return cfg, errors.New("missing target: give --url of a running server or --data-dir of a stopped one")
	}

	if len(cfg.paths) == 0 {
		return cfg, errors.New("missing PATH: name the files or directories to load")
	}
	if cfg.concurrency <= 0 || cfg.batchSize <= 0 {
		return cfg, fmt.Errorf("--concurrency %d and --batch-size %d must be positive", cfg.concurrency, cfg.batchSize)
	}
	if cfg.requestTimeout <= 0 {
		return cfg, fmt.Errorf("--request-timeout %s must be positive", cfg.requestTimeout)
	}
	return cfg, nil
}

// headerFlag collects repeated --header "Name: value" flags.
type headerFlag http.Header

func (h *headerFlag) String() string {
	names := make([]string, 0, len(*h))
	for name := range *h {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (h *headerFlag) Set(value string) error {
	name, content, ok := strings.Cut(value, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("the header %q is invalid; write it as \"Name: value\"", value)
	}
	if *h == nil {
		*h = headerFlag{}
	}
	http.Header(*h).Add(name, strings.TrimSpace(content))
	return nil
}

// load runs ward load: it sends the files to the target and prints each
// failure, progress on a terminal and a summary. It returns an error when
// anything failed to load.
func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseLoadFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	target, err := openLoadTarget(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := target.close(); err != nil {
			_, _ = fmt.Fprintln(stderr, "ward load:", err)
		}
	}()

	out := &loadOutput{stderr: stderr, terminal: isTerminal(stderr)}
	l, err := loader.New(loader.Options{
		Client:      target.client,
		BaseURL:     target.baseURL,
		Header:      http.Header(cfg.headers),
		Concurrency: cfg.concurrency,
		BatchSize:   cfg.batchSize,
		OnFailure:   out.failure,
	})
	if err != nil {
		return err
	}

	stopProgress := out.startProgress(l)
	summary, err := l.Load(ctx, cfg.paths...)
	stopProgress()
	if err == nil || summary.Files > 0 {
		printLoadSummary(stdout, summary)
	}
	if err != nil {
		return fmt.Errorf("load stopped: %w", err)
	}
	if n := len(summary.Failures); n > 0 {
		return fmt.Errorf("%s; %s not loaded", count(int64(n), "failure"), count(int64(notLoaded(summary)), "entry"))
	}
	return nil
}

// loadTarget is the client and base URL that ward load sends Bundles to.
type loadTarget struct {
	client  *http.Client
	baseURL string
	close   func() error
}

// openLoadTarget returns an HTTP client for --url, or, for --data-dir,
// opens the embedded store and serves the same API in process.
func openLoadTarget(ctx context.Context, cfg loadConfig, stderr io.Writer) (loadTarget, error) {
	if cfg.url != "" {
		client := &http.Client{Timeout: cfg.requestTimeout}
		return loadTarget{client: client, baseURL: cfg.url, close: func() error { return nil }}, nil
	}

	inUse, err := dataDirInUse(cfg.dataDir)
	if err != nil {
		return loadTarget{}, err
	}
	if inUse {
		return loadTarget{}, fmt.Errorf("the data directory %s is open in another process, probably a running "+
			"ward serve; stop it, or load through it with --url", cfg.dataDir)
	}
	release, err := lockDataDir(cfg.dataDir)
	if err != nil {
		return loadTarget{}, err
	}

	store, err := sqlite.Open(ctx, cfg.dataDir)
	if err != nil {
		release()
		return loadTarget{}, fmt.Errorf("open the embedded store in %s: %w", cfg.dataDir, err)
	}
	// Request lines are noise during a load; warnings and errors still
	// reach standard error.
	logger, err := newLogger("warn", "text", stderr)
	if err != nil {
		_ = store.Close()
		release()
		return loadTarget{}, err
	}
	api, err := resources.New(resources.Config{
		Backend: store,
		BaseURL: cfg.baseURL,
		Limits:  fhir.DefaultLimits(),
		Logger:  logger,
		Version: buildVersion(),
	})
	if err != nil {
		_ = store.Close()
		release()
		return loadTarget{}, err
	}
	client := &http.Client{Transport: loader.HandlerTransport{Handler: api}, Timeout: cfg.requestTimeout}
	closeStore := func() error {
		defer release()
		return store.Close()
	}
	return loadTarget{client: client, baseURL: cfg.baseURL, close: closeStore}, nil
}

// loadOutput writes failures and the progress line to standard error. On
// a terminal the progress line is redrawn in place, and failure lines
// are printed above it.
type loadOutput struct {
	stderr   io.Writer
	terminal bool

	mu       sync.Mutex
	printed  int
	progress string // the progress line now shown, or ""
}

func (o *loadOutput) failure(f loader.Failure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.printed++
	switch {
	case o.printed > maxPrintedFailures+1:
		return
	case o.printed == maxPrintedFailures+1:
		o.writeAbove(fmt.Sprintf("ward load: more than %d failures; the rest are only counted", maxPrintedFailures))
		return
	}
	o.writeAbove("ward load: " + f.Error())
}

// writeAbove prints a line, keeping the progress line below it.
func (o *loadOutput) writeAbove(line string) {
	if o.progress != "" {
		_, _ = fmt.Fprint(o.stderr, "\r\033[K")
	}
	_, _ = fmt.Fprintln(o.stderr, line)
	if o.progress != "" {
		_, _ = fmt.Fprint(o.stderr, o.progress)
	}
}

func (o *loadOutput) showProgress(p loader.Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.progress = formatProgress(p)
	_, _ = fmt.Fprint(o.stderr, "\r\033[K"+o.progress)
}

func (o *loadOutput) clearProgress() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.progress != "" {
		_, _ = fmt.Fprint(o.stderr, "\r\033[K")
		o.progress = ""
	}
}

// startProgress redraws the progress line every 200 ms while stderr is a
// terminal, and returns the function that stops it.
func (o *loadOutput) startProgress(l *loader.Loader) func() {
	if !o.terminal {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(200 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				o.clearProgress()
				return
			case <-ticker.C:
				o.showProgress(l.Progress())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func formatProgress(p loader.Progress) string {
	return fmt.Sprintf("loaded %s resources from %s files, %s/s, %s failed",
		groupDigits(p.Resources), groupDigits(p.Files), groupDigits(perSecond(p.Resources, p.Elapsed)), groupDigits(p.Failed))
}

func printLoadSummary(w io.Writer, s loader.Summary) {
	_, _ = fmt.Fprintf(w, "Loaded %s from %s in %s (%s resources/s, %s sent); %s.\n",
		count(s.Total(), "resource"), count(int64(s.Files), "file"), s.Elapsed.Round(time.Millisecond),
		groupDigits(perSecond(s.Total(), s.Elapsed)), count(s.Requests, "Bundle"), count(int64(len(s.Failures)), "failure"))

	types := make([]string, 0, len(s.Loaded))
	width := 0
	for t := range s.Loaded {
		types = append(types, t)
		width = max(width, len(t))
	}
	slices.Sort(types)
	for _, t := range types {
		_, _ = fmt.Fprintf(w, "  %-*s %10s\n", width, t, groupDigits(s.Loaded[t]))
	}
}

func notLoaded(s loader.Summary) int {
	n := 0
	for _, f := range s.Failures {
		n += f.NotLoaded
	}
	return n
}

func perSecond(n int64, elapsed time.Duration) int64 {
	if elapsed <= 0 {
		return 0
	}
	return int64(float64(n) / elapsed.Seconds())
}

// count formats n with a noun in singular or plural: "1 file", "2 files",
// "3 entries".
func count(n int64, noun string) string {
	if n != 1 {
		if base, ok := strings.CutSuffix(noun, "y"); ok {
			noun = base + "ies"
		} else {
			noun += "s"
		}
	}
	return groupDigits(n) + " " + noun
}

// groupDigits formats n with commas between groups of three digits.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// isTerminal reports whether w is a character device such as a terminal,
// where a progress line redrawn in place is readable.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
