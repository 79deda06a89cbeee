package resources

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/fhir/definitions"
)

const requestIDKey = "ward.request_id"

// validRequestID limits a client's X-Request-Id to characters that are safe
// in logs and headers.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID takes the client's X-Request-Id when it is well formed, or makes
// one, and echoes it so that a client can quote it when reporting a problem.
func (a *API) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !validRequestID.MatchString(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// observe logs one line per request and records its metrics. The query
// string is not logged because search parameters can carry patient data.
func (a *API) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)

	name := c.GetString(interactionKey)
	if name == "" {
		name = "other"
	}
	resourceType := c.Param("type")
	if !definitions.IsResourceType(resourceType) {
		// Unknown values would make the label set unbounded.
		resourceType = ""
	}
	status := c.Writer.Status()
	a.metrics.observe(name, resourceType, status, elapsed)

	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	a.log.LogAttrs(c.Request.Context(), level, "request",
		slog.String("request_id", c.GetString(requestIDKey)),
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.String("interaction", name),
		slog.Int("status", status),
		slog.Int("bytes", c.Writer.Size()),
		slog.Duration("duration", elapsed),
	)
}

// recover turns a panic into a 500 OperationOutcome. The stack goes to the
// log only, never to the client.
func (a *API) recover(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.Error("panic while serving request",
				"request_id", c.GetString(requestIDKey),
				"panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			a.writeError(c, fmt.Errorf("panic: %v", p))
			c.Abort()
		}
	}()
	c.Next()
}

// limitBody caps every request body, so that no handler can be made to
// read more than Limits.MaxBytes, and decodes a gzip Content-Encoding
// under the same cap. A declared length over the cap is rejected before
// any of the body is read, so a client that sent Expect: 100-continue
// never uploads it.
func (a *API) limitBody(c *gin.Context) {
	limit := a.cfg.Limits.MaxBytes
	if limit > 0 && c.Request.ContentLength > limit {
		a.writeError(c, newAPIError(http.StatusRequestEntityTooLarge, "too-costly", nil,
			"the request body is %d bytes, over the limit of %d", c.Request.ContentLength, limit))
		c.Abort()
		return
	}

	switch encoding := strings.ToLower(strings.TrimSpace(c.GetHeader("Content-Encoding"))); encoding {
	case "", "identity":
	case "gzip", "x-gzip":
		compressed := c.Request.Body
		if limit > 0 {
			compressed = http.MaxBytesReader(c.Writer, compressed, limit)
		}
		reader, err := gzip.NewReader(compressed)
		if err != nil {
			a.writeError(c, badRequest("the gzip-encoded request body is invalid: %v", err))
			c.Abort()
			return
		}
		c.Request.Body = reader
		c.Request.Header.Del("Content-Encoding")
		c.Request.ContentLength = -1
	default:
		a.writeError(c, unsupportedMediaType("the Content-Encoding %q is not supported; send the body uncompressed or with gzip", encoding))
		c.Abort()
		return
	}

	if c.Request.Body != nil && limit > 0 {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}

// limitConcurrentBodies bounds how many requests with a body are parsed at
// once. Parsing and validating a large body takes about a hundred times
// its size in memory, so without a bound a few concurrent large bodies can
// exhaust the machine. Requests wait for a slot until their context ends.
func (a *API) limitConcurrentBodies(c *gin.Context) {
	if c.Request.ContentLength == 0 || c.Request.Body == nil || c.Request.Body == http.NoBody {
		c.Next()
		return
	}
	select {
	case a.bodySlots <- struct{}{}:
	case <-c.Request.Context().Done():
		a.writeError(c, newAPIError(http.StatusServiceUnavailable, "transient", nil,
			"the server is busy with other uploads; retry later"))
		c.Abort()
		return
	}
	defer func() { <-a.bodySlots }()
	c.Next()
}
