package resources

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
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
// read more than Limits.MaxBytes.
func (a *API) limitBody(c *gin.Context) {
	if c.Request.Body != nil && a.cfg.Limits.MaxBytes > 0 {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.Limits.MaxBytes)
	}
	c.Next()
}
