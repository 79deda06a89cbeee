package resources

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/storage"
)

// create serves POST [base]/[type]. The server assigns the id; an id in
// the body is ignored, as the spec says.
func (a *API) create(c *gin.Context) error {
	resourceType, err := pathType(c)
	if err != nil {
		return err
	}
	if err := checkContentType(c.Request, mediaFHIRJSON, mediaJSON); err != nil {
		return err
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	if c.GetHeader("If-None-Exist") != "" {
		// TODO: conditional create needs search; until then, refusing is
		// safer than creating a duplicate the client meant to avoid.
		return newAPIError(http.StatusBadRequest, "not-supported", nil, "conditional create (If-None-Exist) is not supported yet")
	}

	res, err := a.parseBody(c, resourceType)
	if err != nil {
		return err
	}

	w := storage.Write{
		Type:          resourceType,
		ID:            uuid.NewString(),
		VersionID:     1,
		LastUpdated:   a.now(),
		Op:            storage.OpCreate,
		ExpectVersion: 0,
	}
	saved, err := a.save(c, w, res.Object)
	if err != nil {
		return err
	}
	return a.sendWritten(c, http.StatusCreated, f, saved, "created")
}

// update serves PUT [base]/[type]/[id]. A client may create a resource
// with an id of its choosing this way (update as create).
func (a *API) update(c *gin.Context) error {
	resourceType, id, err := pathTypeAndID(c)
	if err != nil {
		return err
	}
	if err := checkContentType(c.Request, mediaFHIRJSON, mediaJSON); err != nil {
		return err
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	ifMatch, err := ifMatchVersion(c.Request)
	if err != nil {
		return err
	}

	res, err := a.parseBody(c, resourceType)
	if err != nil {
		return err
	}
	switch res.ID {
	case "":
		return newAPIError(http.StatusBadRequest, "required", []string{resourceType + ".id"},
			"the resource has no id; an update must carry the id %q from the URL", id)
	case id:
	default:
		return newAPIError(http.StatusBadRequest, "invalid", []string{resourceType + ".id"},
			"the resource id %q differs from the id %q in the URL", res.ID, id)
	}

	// A client that sent no If-Match asked for its body to become the
	// current version whatever came before, so a lost race is retried on
	// the new current version instead of being reported as 409.
	for attempt := 1; ; attempt++ {
		current, exists, err := a.currentVersion(c, resourceType, id)
		if err != nil {
			return err
		}
		if ifMatch != 0 && ifMatch != current.VersionID {
			if current.VersionID == 0 {
				return preconditionFailed("If-Match names version %d but %s/%s does not exist", ifMatch, resourceType, id)
			}
			return preconditionFailed("If-Match names version %d but the current version of %s/%s is %d", ifMatch, resourceType, id, current.VersionID)
		}

		w := storage.Write{
			Type:          resourceType,
			ID:            id,
			VersionID:     current.VersionID + 1,
			LastUpdated:   a.nextInstant(current),
			Op:            storage.OpUpdate,
			ExpectVersion: current.VersionID,
		}
		status, outcome := http.StatusOK, "updated"
		if !exists {
			w.Op, status, outcome = storage.OpCreate, http.StatusCreated, "created"
		}
		saved, err := a.save(c, w, res.Object)
		if errors.Is(err, storage.ErrVersionConflict) && ifMatch == 0 && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return conflictAsPrecondition(err, ifMatch)
		}
		return a.sendWritten(c, status, f, saved, outcome)
	}
}

// maxUpdateAttempts bounds the retries of an update without If-Match, so
// that a resource under constant contention still gets an answer.
const maxUpdateAttempts = 5

// delete serves DELETE [base]/[type]/[id]. Deleting a resource that is
// already deleted changes nothing and succeeds; deleting one that never
// existed is 404.
func (a *API) delete(c *gin.Context) error {
	resourceType, id, err := pathTypeAndID(c)
	if err != nil {
		return err
	}
	ifMatch, err := ifMatchVersion(c.Request)
	if err != nil {
		return err
	}

	current, err := a.store.Read(c.Request.Context(), resourceType, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return notFound("%s/%s is not known, so there is nothing to delete", resourceType, id)
	case errors.Is(err, storage.ErrGone):
		if ifMatch != 0 && ifMatch != current.VersionID {
			return preconditionFailed("If-Match names version %d but the current version of %s/%s is %d", ifMatch, resourceType, id, current.VersionID)
		}
		setVersionHeaders(c, current)
		return a.sendDeleted(c, current, "was already deleted")
	case err != nil:
		return err
	}
	if ifMatch != 0 && ifMatch != current.VersionID {
		return preconditionFailed("If-Match names version %d but the current version of %s/%s is %d", ifMatch, resourceType, id, current.VersionID)
	}

	saved, err := a.store.Write(c.Request.Context(), storage.Write{
		Type:          resourceType,
		ID:            id,
		VersionID:     current.VersionID + 1,
		LastUpdated:   a.nextInstant(current),
		Op:            storage.OpDelete,
		ExpectVersion: current.VersionID,
	})
	if err != nil {
		return conflictAsPrecondition(err, ifMatch)
	}
	setVersionHeaders(c, saved)
	return a.sendDeleted(c, saved, "deleted")
}

func (a *API) sendDeleted(c *gin.Context, r storage.Resource, what string) error {
	if preferReturn(c.Request) != "OperationOutcome" {
		c.Status(http.StatusNoContent)
		return nil
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	a.writeJSON(c, http.StatusOK, f, fhir.Outcome(fhir.Issue{
		Severity:    "information",
		Code:        "informational",
		Diagnostics: fmt.Sprintf("%s/%s %s", r.Type, r.ID, what),
	}))
	return nil
}

// parseBody reads and validates a request body that must hold a resource
// of resourceType.
func (a *API) parseBody(c *gin.Context, resourceType string) (*fhir.Resource, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, newAPIError(http.StatusRequestEntityTooLarge, "too-costly", nil,
				"the request body exceeds the limit of %d bytes", tooLarge.Limit)
		}
		return nil, badRequest("reading the request body failed: %v", err)
	}

	res, err := fhir.ParseResource(body, a.cfg.Limits)
	if err != nil {
		return nil, err
	}
	if res.Type != resourceType {
		return nil, newAPIError(http.StatusBadRequest, "invalid", []string{"resourceType"},
			"the body's resourceType %q does not match the URL's resource type %q", res.Type, resourceType)
	}
	return res, nil
}

// currentVersion returns the current version of a resource (the zero
// Resource when it never existed) and whether it exists now, not deleted.
func (a *API) currentVersion(c *gin.Context, resourceType, id string) (storage.Resource, bool, error) {
	r, err := a.store.Read(c.Request.Context(), resourceType, id)
	switch {
	case err == nil:
		return r, true, nil
	case errors.Is(err, storage.ErrGone):
		return r, false, nil
	case errors.Is(err, storage.ErrNotFound):
		return storage.Resource{}, false, nil
	default:
		return storage.Resource{}, false, err
	}
}

// save sets id and meta on the resource, computes its search index
// entries, serialises it and writes it.
func (a *API) save(c *gin.Context, w storage.Write, obj map[string]any) (storage.Resource, error) {
	stamp(obj, w.ID, w.VersionID, w.LastUpdated)
	index, err := a.indexer.Extract(w.Type, obj)
	if err != nil {
		return storage.Resource{}, fmt.Errorf("index %s/%s: %w", w.Type, w.ID, err)
	}
	w.Index = index
	body, err := fhir.Marshal(obj)
	if err != nil {
		return storage.Resource{}, fmt.Errorf("marshal %s/%s: %w", w.Type, w.ID, err)
	}
	w.JSON = body
	return a.store.Write(c.Request.Context(), w)
}

// stamp sets the server-owned elements: id, meta.versionId and
// meta.lastUpdated. The rest of meta (profile, tag, security, source)
// stays as the client sent it.
func stamp(obj map[string]any, id string, version int64, lastUpdated time.Time) {
	obj["id"] = id
	meta, ok := obj["meta"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		obj["meta"] = meta
	}
	meta["versionId"] = strconv.FormatInt(version, 10)
	meta["lastUpdated"] = formatInstant(lastUpdated)
}

// sendWritten answers a create, update or patch as Prefer: return= asks.
func (a *API) sendWritten(c *gin.Context, status int, f format, r storage.Resource, what string) error {
	c.Header("Location", a.versionURL(r))
	setVersionHeaders(c, r)

	switch preferReturn(c.Request) {
	case "minimal":
		c.Status(status)
	case "OperationOutcome":
		a.writeJSON(c, status, f, fhir.Outcome(fhir.Issue{
			Severity:    "information",
			Code:        "informational",
			Diagnostics: fmt.Sprintf("%s/%s %s as version %d", r.Type, r.ID, what, r.VersionID),
		}))
	default:
		a.writeBody(c, status, f, r.JSON)
	}
	return nil
}

// ifMatchVersion returns the version an If-Match header names, or 0 when
// the header is absent.
func ifMatchVersion(r *http.Request) (int64, error) {
	header := r.Header.Get("If-Match")
	if header == "" {
		return 0, nil
	}
	version, ok := parseETag(header)
	if !ok {
		return 0, badRequest(`the If-Match header %q is invalid; send the ETag of the version you read, such as W/"3"`, header)
	}
	return version, nil
}

// conflictAsPrecondition reports a lost race as 412 when the client sent
// If-Match, since the version it named is no longer current.
func conflictAsPrecondition(err error, ifMatch int64) error {
	if ifMatch != 0 && errors.Is(err, storage.ErrVersionConflict) {
		return preconditionFailed("If-Match names version %d, which is no longer current: %v", ifMatch, err)
	}
	return err
}

func (a *API) now() time.Time {
	return a.cfg.Now().UTC().Truncate(time.Millisecond)
}

// nextInstant returns the lastUpdated for the version after current: now,
// or current's own time if the clock stepped back, because versions of one
// resource must not go back in time.
func (a *API) nextInstant(current storage.Resource) time.Time {
	now := a.now()
	if now.Before(current.LastUpdated) {
		return current.LastUpdated
	}
	return now
}
