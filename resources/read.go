package resources

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

// validID is the FHIR id rule: 1 to 64 letters, digits, '-' and '.'.
var validID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// pathType returns the :type path segment when it names a concrete R4
// resource type, and a 404 OperationOutcome otherwise.
func pathType(c *gin.Context) (string, error) {
	resourceType := c.Param("type")
	if !definitions.IsResourceType(resourceType) {
		return "", newAPIError(http.StatusNotFound, "not-supported", nil,
			"%q is not a FHIR R4 resource type", resourceType)
	}
	return resourceType, nil
}

// pathTypeAndID returns the :type and :id path segments, checked.
func pathTypeAndID(c *gin.Context) (string, string, error) {
	resourceType, err := pathType(c)
	if err != nil {
		return "", "", err
	}
	id := c.Param("id")
	if !validID.MatchString(id) || id == "." || id == ".." {
		return "", "", badRequest("the id %q is invalid: a FHIR id is 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.', and not . or ..", truncate(id, 80))
	}
	return resourceType, id, nil
}

// read serves GET [base]/[type]/[id], with If-None-Match and
// If-Modified-Since answered with 304 Not Modified.
func (a *API) read(c *gin.Context) error {
	resourceType, id, err := pathTypeAndID(c)
	if err != nil {
		return err
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}

	r, err := a.store.Read(c.Request.Context(), resourceType, id)
	if errors.Is(err, storage.ErrGone) {
		setVersionHeaders(c, r)
		return newAPIError(http.StatusGone, "deleted", nil, "%s/%s was deleted in version %d", resourceType, id, r.VersionID)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("%s/%s is not known", resourceType, id)
	}
	if err != nil {
		return err
	}

	if notModified(c.Request, r) {
		setVersionHeaders(c, r)
		c.Status(http.StatusNotModified)
		return nil
	}
	return a.sendVersion(c, http.StatusOK, f, r)
}

// vread serves GET [base]/[type]/[id]/_history/[vid].
func (a *API) vread(c *gin.Context) error {
	resourceType, id, err := pathTypeAndID(c)
	if err != nil {
		return err
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	vid := c.Param("vid")
	version, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || version < 1 || strconv.FormatInt(version, 10) != vid {
		return notFound("%s/%s has no version %q: Ward's version ids are positive integers without leading zeros or signs", resourceType, id, truncate(vid, 40))
	}

	r, err := a.store.ReadVersion(c.Request.Context(), resourceType, id, version)
	if errors.Is(err, storage.ErrGone) {
		setVersionHeaders(c, r)
		return newAPIError(http.StatusGone, "deleted", nil, "version %d of %s/%s is a deletion", version, resourceType, id)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("%s/%s has no version %d", resourceType, id, version)
	}
	if err != nil {
		return err
	}
	if notModified(c.Request, r) {
		setVersionHeaders(c, r)
		c.Status(http.StatusNotModified)
		return nil
	}
	return a.sendVersion(c, http.StatusOK, f, r)
}

// sendVersion sends a stored version with its ETag and Last-Modified. The
// stored bytes go out as they are unless _summary or _elements ask for a
// subset.
func (a *API) sendVersion(c *gin.Context, status int, f format, r storage.Resource) error {
	body, err := subset(c, r.JSON)
	if err != nil {
		return err
	}
	setVersionHeaders(c, r)
	a.writeBody(c, status, f, body)
	return nil
}

// subset applies _summary and _elements to a resource's JSON.
func subset(c *gin.Context, stored []byte) ([]byte, error) {
	summary := c.Query("_summary")
	elements := c.Query("_elements")
	if (summary == "" || summary == "false") && elements == "" {
		return stored, nil
	}

	obj, err := fhir.Decode(stored)
	if err != nil {
		return nil, err
	}
	switch summary {
	case "", "false":
	case "true", "text", "data":
		obj, err = fhir.Summary(obj, summary)
		if err != nil {
			return nil, err
		}
	case "count":
		return nil, badParameter("_summary", "_summary=count applies to searches, not to reads")
	default:
		return nil, badParameter("_summary", "the _summary value %q is invalid; use true, text, data, count or false", summary)
	}
	if elements != "" && summary == "" {
		var names []string
		for _, name := range strings.Split(elements, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, name)
			}
		}
		obj = fhir.Elements(obj, names)
	}
	return fhir.Marshal(obj)
}

// notModified reports whether a conditional read gets 304:
// If-None-Match names the current version, or, without If-None-Match, the
// resource has not changed since If-Modified-Since (HTTP compares whole
// seconds).
func notModified(r *http.Request, res storage.Resource) bool {
	if header := r.Header.Get("If-None-Match"); header != "" {
		for _, tag := range strings.Split(header, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true
			}
			if version, ok := parseETag(tag); ok && version == res.VersionID {
				return true
			}
		}
		return false
	}
	if header := r.Header.Get("If-Modified-Since"); header != "" {
		since, err := http.ParseTime(header)
		if err != nil {
			return false
		}
		return !res.LastUpdated.Truncate(time.Second).After(since)
	}
	return false
}

// truncate shortens a client-supplied value before it is echoed in a
// message, so that a huge value cannot inflate the response.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
