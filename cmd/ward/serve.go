package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/resources"
	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// serveConfig holds the settings of ward serve.
type serveConfig struct {
	listen      string
	dataDir     string
	baseURL     string
	mongoURI    string
	logLevel    string
	logFormat   string
	tlsCert     string
	tlsKey      string
	maxBody     int64
	maxDepth    int
	maxCount    int
	allowRemote bool
	shutdown    time.Duration
	demo        bool
}

func parseServeFlags(args []string, stderr io.Writer) (serveConfig, error) {
	var cfg serveConfig
	fs := flag.NewFlagSet("ward serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaults := fhir.DefaultLimits()

	fs.StringVar(&cfg.listen, "listen", env("WARD_LISTEN", "127.0.0.1:8080"), "TCP address to listen on, host:port")
	fs.StringVar(&cfg.dataDir, "data-dir", env("WARD_DATA_DIR", "./ward-data"), "directory of the embedded store")
	fs.StringVar(&cfg.baseURL, "base-url", env("WARD_BASE_URL", ""), "public base URL used in Location, fullUrl and links (default http://LISTEN)")
	fs.StringVar(&cfg.mongoURI, "mongodb-uri", env("WARD_MONGODB_URI", ""), "MongoDB connection string; empty uses the embedded store")
	fs.StringVar(&cfg.logLevel, "log-level", env("WARD_LOG_LEVEL", "info"), "log level: debug, info, warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", env("WARD_LOG_FORMAT", "json"), "log format: json or text")
	fs.StringVar(&cfg.tlsCert, "tls-cert", env("WARD_TLS_CERT", ""), "PEM certificate file; with --tls-key, serve HTTPS")
	fs.StringVar(&cfg.tlsKey, "tls-key", env("WARD_TLS_KEY", ""), "PEM private key file for --tls-cert")
	fs.Int64Var(&cfg.maxBody, "max-body-bytes", envInt64("WARD_MAX_BODY_BYTES", defaults.MaxBytes), "largest request body accepted, in bytes")
	fs.IntVar(&cfg.maxDepth, "max-json-depth", int(envInt64("WARD_MAX_JSON_DEPTH", int64(defaults.MaxDepth))), "deepest JSON nesting accepted in a request body")
	fs.IntVar(&cfg.maxCount, "max-count", int(envInt64("WARD_MAX_COUNT", 1000)), "largest page size (_count) served")
	fs.BoolVar(&cfg.allowRemote, "allow-remote-without-auth", envBool("WARD_ALLOW_REMOTE_WITHOUT_AUTH"), "listen beyond loopback although no authorization is configured (unsafe with real data)")
	fs.DurationVar(&cfg.shutdown, "shutdown-timeout", 30*time.Second, "time allowed for in-flight requests to finish on SIGTERM")
	fs.BoolVar(&cfg.demo, "demo", envBool("WARD_DEMO"), "load the invented sample hospital (Kestrel Bay General) at start unless it is already stored")

	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; ward serve takes flags only", fs.Arg(0))
	}
	if cfg.baseURL == "" {
		scheme := "http"
		if cfg.tlsCert != "" {
			scheme = "https"
		}
		cfg.baseURL = scheme + "://" + cfg.listen
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, errors.New("--tls-cert and --tls-key must be given together")
	}
	if cfg.maxBody <= 0 || cfg.maxDepth <= 0 || cfg.maxCount <= 0 {
		return cfg, errors.New("--max-body-bytes, --max-json-depth and --max-count must be positive")
	}
	return cfg, nil
}

// serve runs the server until ctx ends or SIGINT/SIGTERM arrives, then
// lets in-flight requests finish.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.logLevel, cfg.logFormat, stderr)
	if err != nil {
		return err
	}
	if err := checkExposure(cfg.listen, cfg.allowRemote); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := closeStore(); err != nil {
			logger.Error("closing the store failed", "error", err)
		}
	}()

	api, err := resources.New(resources.Config{
		Backend:  store,
		BaseURL:  cfg.baseURL,
		Limits:   fhir.Limits{MaxBytes: cfg.maxBody, MaxDepth: cfg.maxDepth},
		MaxCount: cfg.maxCount,
		Logger:   logger,
		Version:  buildVersion(),
	})
	if err != nil {
		return err
	}
	if cfg.demo {
		if err := loadDemo(ctx, api, cfg.baseURL, logger); err != nil {
			return err
		}
	}

	listener, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	server := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	served := make(chan error, 1)
	go func() {
		if cfg.tlsCert != "" {
			served <- server.ServeTLS(listener, cfg.tlsCert, cfg.tlsKey)
			return
		}
		served <- server.Serve(listener)
	}()
	logger.Info("ward started", "listen", listener.Addr().String(), "base_url", cfg.baseURL,
		"store", storeName(cfg), "version", buildVersion())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", cfg.shutdown.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("ward stopped")
	return nil
}

// openStore opens the configured store. The returned close function
// closes it and, for the embedded store, releases the data directory's
// lock.
func openStore(ctx context.Context, cfg serveConfig) (storage.Backend, func() error, error) {
	if cfg.mongoURI != "" {
		store, err := openMongo(ctx, cfg.mongoURI)
		if err != nil {
			return nil, nil, err
		}
		return store, store.Close, nil
	}

	release, err := lockDataDir(cfg.dataDir)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlite.Open(ctx, cfg.dataDir)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("open the embedded store in %s: %w", cfg.dataDir, err)
	}
	closeStore := func() error {
		defer release()
		return store.Close()
	}
	return store, closeStore, nil
}

func storeName(cfg serveConfig) string {
	if cfg.mongoURI != "" {
		return "mongodb"
	}
	return "sqlite"
}

// checkExposure refuses to listen beyond loopback while no authorization
// is configured, unless the operator says so explicitly: an open FHIR
// server on a network leaks patient data.
func checkExposure(listen string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("the listen address %q is invalid: %w", listen, err)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q without authorization: use a loopback address such as 127.0.0.1, "+
		"or pass --allow-remote-without-auth if the network is trusted", listen)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("the log level %q is invalid; use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("the log format %q is invalid; use json or text", format)
}

func env(name, fallback string) string {
	if value, ok := os.LookupEnv(name); ok {
		return value
	}
	return fallback
}

// envInt64 reads an integer environment variable. A malformed value falls
// back to the default, and the flag's own parsing reports bad flag values.
func envInt64(name string, fallback int64) int64 {
	value, ok := os.LookupEnv(name)
	if !ok {
		return fallback
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ward: ignoring %s=%q: not an integer\n", name, value)
		return fallback
	}
	return n
}

func envBool(name string) bool {
	value, _ := strconv.ParseBool(os.Getenv(name))
	return value
}
