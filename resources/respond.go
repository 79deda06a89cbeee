package resources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/storage"
)

// writeError sends err as an OperationOutcome with its status. Errors that
// are not part of the API's vocabulary are logged and sent as a bare 500,
// so that no internal detail reaches the client.
func (a *API) writeError(c *gin.Context, err error) {
	api, ok := toAPIError(err)
	if !ok {
		requestID := c.GetString(requestIDKey)
		a.log.Error("request failed", "request_id", requestID, "error", err)
		api = newAPIError(http.StatusInternalServerError, "exception", nil,
			"internal server error; quote request id %s when reporting it", requestID)
	}

	// A negotiation failure must not stop the error itself from being sent.
	f, ferr := negotiate(c)
	if ferr != nil {
		f = format{mediaType: mediaFHIRJSON}
	}
	a.writeJSON(c, api.status, f, fhir.Outcome(api.issues...))
}

// writeJSON marshals a FHIR object (OperationOutcome, Bundle,
// CapabilityStatement) and sends it.
func (a *API) writeJSON(c *gin.Context, status int, f format, obj map[string]any) {
	body, err := fhir.Marshal(obj)
	if err != nil {
		a.log.Error("marshal response", "request_id", c.GetString(requestIDKey), "error", err)
		status = http.StatusInternalServerError
		body = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"internal server error"}]}`)
	}
	a.writeBody(c, status, f, body)
}

// writeBody sends JSON bytes, indented when _pretty=true. HEAD requests get
// the headers only.
func (a *API) writeBody(c *gin.Context, status int, f format, body []byte) {
	if f.pretty {
		var out bytes.Buffer
		if err := json.Indent(&out, body, "", "  "); err == nil {
			body = out.Bytes()
		}
	}
	c.Header("Content-Type", f.mediaType+"; charset=utf-8")
	if c.Request.Method == http.MethodHead {
		c.Header("Content-Length", strconv.Itoa(len(body)))
		c.Status(status)
		return
	}
	c.Data(status, f.mediaType+"; charset=utf-8", body)
}

// setVersionHeaders sets ETag and Last-Modified for one version.
func setVersionHeaders(c *gin.Context, r storage.Resource) {
	c.Header("ETag", etag(r.VersionID))
	c.Header("Last-Modified", r.LastUpdated.UTC().Format(http.TimeFormat))
}

func etag(version int64) string {
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

// parseETag reads a version from an ETag as FHIR clients send it in
// If-Match: W/"3", or "3" from clients that drop the weak marker.
func parseETag(value string) (int64, bool) {
	value = strings.TrimSpace(value)
	value = strings.TrimPrefix(value, "W/")
	if len(value) < 3 || value[0] != '"' || value[len(value)-1] != '"' {
		return 0, false
	}
	digits := value[1 : len(value)-1]
	version, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || version < 1 || strconv.FormatInt(version, 10) != digits {
		return 0, false
	}
	return version, true
}

func (a *API) resourceURL(resourceType, id string) string {
	return a.base + "/" + resourceType + "/" + id
}

func (a *API) versionURL(r storage.Resource) string {
	return fmt.Sprintf("%s/_history/%d", a.resourceURL(r.Type, r.ID), r.VersionID)
}

// formatInstant writes a time as a FHIR instant in UTC with milliseconds,
// the precision Ward stores.
func formatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
