package resources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/storage"
)

// create serves POST [base]/[type], and conditional create when the
// request has an If-None-Exist header. The server assigns the id; an id in
// the body is ignored, as R4 requires.
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
	res, err := a.parseBody(c, resourceType)
	if err != nil {
		return err
	}

	// The search for a match and the create run in one storage
	// transaction, so two clients with the same criteria create one
	// resource between them.
	criteria := c.GetHeader("If-None-Exist")
	ctx := c.Request.Context()
	at := a.now()
	var result writeResult
	err = a.transact(ctx, criteria != "", func(tx storage.Tx) error {
		if criteria != "" {
			existing, found, err := a.matchForCreate(ctx, tx, resourceType, criteria)
			if err != nil {
				return err
			}
			if found {
				result = matchedResult(existing)
				return nil
			}
		}
		var err error
		result, err = a.createResource(ctx, tx, resourceType, uuid.NewString(), res.Object, at)
		return err
	})
	if err != nil {
		return err
	}
	return a.sendWritten(c, f, result)
}

// createResource stores obj as version 1 of resourceType/id.
func (a *API) createResource(ctx context.Context, tx storage.Tx, resourceType, id string, obj map[string]any, at time.Time) (writeResult, error) {
	saved, err := a.save(ctx, tx, storage.Write{
		Type:          resourceType,
		ID:            id,
		VersionID:     1,
		LastUpdated:   at,
		Op:            storage.OpCreate,
		ExpectVersion: 0,
	}, obj)
	if err != nil {
		return writeResult{}, err
	}
	return writtenResult(http.StatusCreated, saved, "created"), nil
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
	ctx := c.Request.Context()
	for attempt := 1; ; attempt++ {
		var result writeResult
		err := a.transact(ctx, false, func(tx storage.Tx) error {
			var err error
			result, err = a.updateResource(ctx, tx, resourceType, id, res.Object, ifMatch, a.now())
			return err
		})
		if errors.Is(err, storage.ErrVersionConflict) && ifMatch == 0 && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return err
		}
		return a.sendWritten(c, f, result)
	}
}

// updateResource stores obj as the next version of resourceType/id, or as
// its first version when it does not exist (update as create). An ifMatch
// other than 0 is the version that must be current.
func (a *API) updateResource(ctx context.Context, tx storage.Tx, resourceType, id string, obj map[string]any, ifMatch int64, at time.Time) (writeResult, error) {
	current, exists, err := currentVersion(ctx, tx, resourceType, id)
	if err != nil {
		return writeResult{}, err
	}
	if err := checkIfMatch(ifMatch, current.VersionID, resourceType, id); err != nil {
		return writeResult{}, err
	}

	w := storage.Write{
		Type:          resourceType,
		ID:            id,
		VersionID:     current.VersionID + 1,
		LastUpdated:   notBefore(at, current),
		Op:            storage.OpUpdate,
		ExpectVersion: current.VersionID,
	}
	status, what := http.StatusOK, "updated"
	if !exists {
		w.Op, status, what = storage.OpCreate, http.StatusCreated, "created"
	}
	saved, err := a.save(ctx, tx, w, obj)
	if err != nil {
		return writeResult{}, conflictAsPrecondition(err, ifMatch)
	}
	return writtenResult(status, saved, what), nil
}

// maxUpdateAttempts bounds the retries of an update without If-Match, so
// that a resource under constant contention still gets a response.
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

	ctx := c.Request.Context()
	var result writeResult
	err = a.transact(ctx, false, func(tx storage.Tx) error {
		var err error
		result, err = a.deleteResource(ctx, tx, resourceType, id, ifMatch, a.now())
		return err
	})
	if err != nil {
		return err
	}
	return a.sendDeleted(c, result)
}

// deleteResource stores a deletion as the next version of
// resourceType/id. A resource that is already deleted is left as it is.
func (a *API) deleteResource(ctx context.Context, tx storage.Tx, resourceType, id string, ifMatch int64, at time.Time) (writeResult, error) {
	current, err := tx.Read(ctx, resourceType, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return writeResult{}, notFound("%s/%s is not known, so there is nothing to delete", resourceType, id)
	case errors.Is(err, storage.ErrGone):
		if err := checkIfMatch(ifMatch, current.VersionID, resourceType, id); err != nil {
			return writeResult{}, err
		}
		return deletedResult(current, fmt.Sprintf("%s/%s was already deleted", resourceType, id)), nil
	case err != nil:
		return writeResult{}, err
	}
	if err := checkIfMatch(ifMatch, current.VersionID, resourceType, id); err != nil {
		return writeResult{}, err
	}

	saved, err := tx.Write(ctx, storage.Write{
		Type:          resourceType,
		ID:            id,
		VersionID:     current.VersionID + 1,
		LastUpdated:   notBefore(at, current),
		Op:            storage.OpDelete,
		ExpectVersion: current.VersionID,
	})
	if err != nil {
		return writeResult{}, conflictAsPrecondition(err, ifMatch)
	}
	return deletedResult(saved, fmt.Sprintf("%s/%s deleted", resourceType, id)), nil
}

// sendDeleted sends the response to a delete: 204, or 200 with an
// OperationOutcome when Prefer: return=OperationOutcome requests one.
func (a *API) sendDeleted(c *gin.Context, result writeResult) error {
	if result.version.VersionID != 0 {
		setVersionHeaders(c, result.version)
	}
	if preferReturn(c.Request) != "OperationOutcome" {
		c.Status(http.StatusNoContent)
		return nil
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	a.writeJSON(c, http.StatusOK, f, fhir.Outcome(result.issue()))
	return nil
}

// parseBody reads and validates a request body that must hold a resource
// of resourceType.
func (a *API) parseBody(c *gin.Context, resourceType string) (*fhir.Resource, error) {
	body, err := readBody(c.Request)
	if err != nil {
		return nil, err
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
func currentVersion(ctx context.Context, tx storage.Tx, resourceType, id string) (storage.Resource, bool, error) {
	r, err := tx.Read(ctx, resourceType, id)
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
func (a *API) save(ctx context.Context, tx storage.Tx, w storage.Write, obj map[string]any) (storage.Resource, error) {
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
	return tx.Write(ctx, w)
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

// writeResult is the outcome of a write interaction, for the HTTP
// response or for a Bundle entry's response.
type writeResult struct {
	// status is 201 for a create, 200 for an update, a patch or a
	// conditional create that matched, and 204 for a delete.
	status int

	// version is the version now current: the one written, the one a
	// conditional create matched, or the deletion. It is the zero value
	// when a conditional delete matched nothing.
	version storage.Resource

	// message is the diagnostics of the information issue that Prefer:
	// return=OperationOutcome requests.
	message string
}

func writtenResult(status int, r storage.Resource, what string) writeResult {
	return writeResult{status: status, version: r, message: fmt.Sprintf("%s/%s %s as version %d", r.Type, r.ID, what, r.VersionID)}
}

func deletedResult(r storage.Resource, message string) writeResult {
	return writeResult{status: http.StatusNoContent, version: r, message: message}
}

func (r writeResult) issue() fhir.Issue {
	return fhir.Issue{Severity: "information", Code: "informational", Diagnostics: r.message}
}

// sendWritten sends the response to a create, update or patch in the form
// that Prefer: return= requests.
func (a *API) sendWritten(c *gin.Context, f format, result writeResult) error {
	r := result.version
	c.Header("Location", a.versionURL(r))
	setVersionHeaders(c, r)

	switch preferReturn(c.Request) {
	case "minimal":
		c.Status(result.status)
	case "OperationOutcome":
		a.writeJSON(c, result.status, f, fhir.Outcome(result.issue()))
	default:
		a.writeBody(c, result.status, f, r.JSON)
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

// notBefore returns the lastUpdated for the version after current: at,
// or current's own time if the clock stepped back, because versions of one
// resource must not go back in time.
func notBefore(at time.Time, current storage.Resource) time.Time {
	if at.Before(current.LastUpdated) {
		return current.LastUpdated
	}
	return at
}
