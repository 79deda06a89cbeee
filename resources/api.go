// Package resources serves the FHIR R4 RESTful API
// (http://hl7.org/fhir/R4/http.html) over a storage.Backend: the routes,
// the handlers for each interaction, content negotiation, ETags and Prefer,
// and the operational endpoints (/healthz, /readyz, /metrics).
package resources

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
)

// Config sets up an API. Backend and BaseURL are required.
type Config struct {
	Backend storage.Backend

	// BaseURL is the public base of the FHIR endpoint, such as
	// https://fhir.example.org, used in Location, fullUrl and links.
	BaseURL string

	// Limits bound request bodies; the zero value means fhir.DefaultLimits.
	Limits fhir.Limits

	// DefaultCount and MaxCount bound the page size of history and search
	// Bundles; zero means 50 and 1000.
	DefaultCount int
	MaxCount     int

	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger

	// Registry receives the HTTP metrics and is served at /metrics; nil
	// means a new registry with the Go and process collectors.
	Registry *prometheus.Registry

	// MaxChainDepth bounds the chained and _has links of one search
	// parameter; zero means search.DefaultMaxChainDepth.
	MaxChainDepth int

	// MaxIncluded caps the resources that _include and _revinclude add to
	// one search page; zero means search.DefaultMaxIncluded.
	MaxIncluded int

	// MaxBundleEntries caps the entries of a batch or transaction Bundle;
	// zero means DefaultMaxBundleEntries.
	MaxBundleEntries int

	// MaxConcurrentBodies bounds the requests whose bodies are parsed at
	// once; zero means twice the number of CPUs.
	MaxConcurrentBodies int

	// Version is the software version shown in the CapabilityStatement.
	Version string

	// Now returns the current time; nil means time.Now. Tests set it to
	// make lastUpdated values predictable.
	Now func() time.Time
}

// API is the FHIR RESTful API as an http.Handler.
type API struct {
	cfg     Config
	store   storage.Backend
	base    string
	log     *slog.Logger
	metrics *metrics
	engine  *gin.Engine

	// bodySlots holds one token per request body being parsed.
	bodySlots chan struct{}

	// indexer computes the search index entries of every written version.
	indexer *search.Indexer
	// runner runs searches; nil when the backend cannot search.
	runner *search.Runner
}

// New builds the API and its routes.
func New(cfg Config) (*API, error) {
	if cfg.Backend == nil {
		return nil, errors.New("resources: Config.Backend is required")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("resources: Config.BaseURL is required")
	}
	if cfg.Limits == (fhir.Limits{}) {
		cfg.Limits = fhir.DefaultLimits()
	}
	if cfg.DefaultCount <= 0 {
		cfg.DefaultCount = 50
	}
	if cfg.MaxCount <= 0 {
		cfg.MaxCount = 1000
	}
	if cfg.DefaultCount > cfg.MaxCount {
		cfg.DefaultCount = cfg.MaxCount
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = newRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConcurrentBodies <= 0 {
		cfg.MaxConcurrentBodies = 2 * runtime.NumCPU()
	}

	a := &API{
		cfg:   cfg,
		store: cfg.Backend,
		base:  strings.TrimRight(cfg.BaseURL, "/"),
		log:   cfg.Logger,

		bodySlots: make(chan struct{}, cfg.MaxConcurrentBodies),
	}
	indexer, err := search.NewIndexer(a.base)
	if err != nil {
		return nil, fmt.Errorf("resources: compile search parameters: %w", err)
	}
	a.indexer = indexer
	if searcher, ok := cfg.Backend.(storage.Searcher); ok {
		a.runner = &search.Runner{Store: searcher, Indexer: indexer, MaxIncluded: cfg.MaxIncluded}
	}

	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	a.metrics = m
	a.engine = a.routes()
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.engine.ServeHTTP(w, r)
}

// routes registers every interaction. Handlers are wrapped by name so that
// logs and metrics label each request with its FHIR interaction.
func (a *API) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true

	r.Use(a.requestID, a.observe, a.recover, a.limitBody, a.limitConcurrentBodies)

	r.GET("/healthz", a.healthz)
	r.HEAD("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.HEAD("/readyz", a.readyz)
	r.GET("/metrics", a.serveMetrics())

	r.GET("/metadata", a.handle("capabilities", a.capabilities))
	r.HEAD("/metadata", a.handle("capabilities", a.capabilities))
	r.GET("/_history", a.handle("history-system", a.historySystem))
	r.GET("/", a.handle("search-system", a.searchSystem))
	r.POST("/_search", a.handle("search-system", a.searchSystem))
	r.POST("/", a.handle("transaction", a.bundle))

	r.GET("/:type", a.handle("search-type", a.searchType))
	r.POST("/:type", a.handle("create", a.create))
	r.PUT("/:type", a.handle("update", a.conditionalUpdate))
	r.PATCH("/:type", a.handle("patch", a.conditionalPatch))
	r.DELETE("/:type", a.handle("delete", a.conditionalDelete))
	r.GET("/:type/_search", a.handle("search-type", a.searchType))
	r.POST("/:type/_search", a.handle("search-type", a.searchType))
	r.GET("/:type/_history", a.handle("history-type", a.historyType))

	r.GET("/:type/:id", a.handle("read", a.read))
	r.HEAD("/:type/:id", a.handle("read", a.read))
	r.PUT("/:type/:id", a.handle("update", a.update))
	r.PATCH("/:type/:id", a.handle("patch", a.patch))
	r.DELETE("/:type/:id", a.handle("delete", a.delete))

	r.GET("/:type/:id/_history", a.handle("history-instance", a.historyInstance))
	r.GET("/:type/:id/:compartment", a.handle("search-compartment", a.searchCompartment))
	r.GET("/:type/:id/_history/:vid", a.handle("vread", a.vread))
	r.HEAD("/:type/:id/_history/:vid", a.handle("vread", a.vread))

	r.NoRoute(a.noRoute)
	r.NoMethod(a.noMethod)
	return r
}

// handlerFunc is a FHIR interaction handler: it returns an error instead of
// writing one, so that errors are turned into responses in one place.
type handlerFunc func(c *gin.Context) error

const interactionKey = "ward.interaction"

func (a *API) handle(name string, h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(interactionKey, name)
		if err := h(c); err != nil {
			a.writeError(c, err)
		}
	}
}

func (a *API) noRoute(c *gin.Context) {
	a.writeError(c, notFound("no FHIR interaction matches %s %s", c.Request.Method, c.Request.URL.Path))
}

func (a *API) noMethod(c *gin.Context) {
	a.writeError(c, newAPIError(http.StatusMethodNotAllowed, "not-supported", nil,
		"the method %s is not supported on %s", c.Request.Method, c.Request.URL.Path))
}

func (a *API) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.String(http.StatusOK, "ok\n")
}

// readyz reports ready only when the store answers, so that a load balancer
// stops sending traffic to an instance whose store is down.
func (a *API) readyz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if err := a.store.Ping(c.Request.Context()); err != nil {
		a.log.Warn("readiness check failed", "error", err)
		c.String(http.StatusServiceUnavailable, "store unavailable\n")
		return
	}
	c.String(http.StatusOK, "ready\n")
}
