package resources

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
)

// transact runs fn on a storage.Tx. With atomic set, fn runs inside one
// storage Transaction: its searches and writes do not interleave with
// other clients' writes, and either all of its writes land or none does.
// Otherwise fn works on the Backend directly and each write stands alone,
// which keeps the store's write lock free while fn prepares a write.
func (a *API) transact(ctx context.Context, atomic bool, fn func(tx storage.Tx) error) error {
	if !atomic {
		return fn(backendTx{a.store})
	}
	transactor, ok := a.store.(storage.Transactor)
	if !ok {
		return newAPIError(http.StatusNotImplemented, "not-supported", nil,
			"the storage backend of this server cannot run transactions, which conditional interactions and transaction Bundles need")
	}
	return transactor.Transaction(ctx, fn)
}

// backendTx is the Backend seen through the storage.Tx interface, for
// interactions that need no atomicity.
type backendTx struct {
	store storage.Backend
}

func (b backendTx) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	return b.store.Write(ctx, w)
}

func (b backendTx) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	return b.store.Read(ctx, resourceType, id)
}

func (b backendTx) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	searcher, ok := b.store.(storage.Searcher)
	if !ok {
		return storage.SearchPage{}, errSearchUnsupported
	}
	return searcher.Search(ctx, q)
}

var errSearchUnsupported = newAPIError(http.StatusNotImplemented, "not-supported", nil,
	"the storage backend of this server cannot search, which conditional interactions need")

// match runs conditional criteria, a query string such as
// "identifier=http://hospital.example/mrn|12345", over the current
// resources of resourceType and returns at most two matches: enough to
// tell none, one and several apart. Criteria may start with the type and a
// question mark, as clients write them in If-None-Exist.
//
// Unknown or unsupported parameters are rejected rather than ignored, as
// Prefer: handling=strict would do, because ignoring one widens the match
// and a conditional update or delete would then act on the wrong resource.
func (a *API) match(ctx context.Context, tx storage.Tx, resourceType, criteria string) ([]storage.Resource, error) {
	query, err := criteriaQuery(resourceType, criteria)
	if err != nil {
		return nil, err
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, badRequest("the search criteria %q are not a valid query string: %v", criteria, err)
	}
	plan, err := search.Parse([]string{resourceType}, params, search.Options{
		BaseURL:       a.base,
		MaxChainDepth: a.cfg.MaxChainDepth,
		DefaultCount:  2,
		MaxCount:      2,
		Strict:        true,
	})
	if err != nil {
		return nil, searchError(err)
	}
	if len(plan.Query.Filter) == 0 {
		return nil, badRequest("the search criteria %q select every %s; a conditional interaction needs at least one search parameter that filters", criteria, resourceType)
	}

	q := plan.Query
	q.Count = 2
	q.Cursor = ""
	q.Sort = nil
	q.Total = storage.TotalNone
	page, err := tx.Search(ctx, q)
	if err != nil {
		return nil, searchError(err)
	}
	return page.Matches, nil
}

// criteriaQuery returns the query string of conditional criteria, without
// a leading "Type?" when the client wrote one.
func criteriaQuery(resourceType, criteria string) (string, error) {
	prefix, query, found := strings.Cut(criteria, "?")
	if !found {
		return criteria, nil
	}
	if prefix != resourceType {
		if strings.Contains(prefix, "=") {
			// A question mark inside a parameter value, not a type prefix.
			return criteria, nil
		}
		return "", badRequest("the search criteria %q name the type %q, but the interaction is on %s", criteria, prefix, resourceType)
	}
	return query, nil
}

// matchForCreate runs the If-None-Exist criteria of a conditional create:
// no match means the create goes ahead, one match is returned, and
// several are 412.
func (a *API) matchForCreate(ctx context.Context, tx storage.Tx, resourceType, criteria string) (storage.Resource, bool, error) {
	matches, err := a.match(ctx, tx, resourceType, criteria)
	if err != nil {
		return storage.Resource{}, false, err
	}
	switch len(matches) {
	case 0:
		return storage.Resource{}, false, nil
	case 1:
		return matches[0], true, nil
	default:
		return storage.Resource{}, false, preconditionFailed(
			"the If-None-Exist criteria %q match more than one %s, so the server cannot tell which one the client meant; make the criteria more selective", criteria, resourceType)
	}
}

// matchedResult is the result of a conditional create whose criteria
// matched an existing resource: 200 with that resource, and nothing
// written.
func matchedResult(existing storage.Resource) writeResult {
	return writeResult{
		status:  http.StatusOK,
		version: existing,
		message: existing.Type + "/" + existing.ID + " matches the If-None-Exist criteria, so nothing was created",
	}
}

// updateTarget returns the id that a conditional update writes: the one
// resource that matches, or, when none does, the id in the body (update as
// create) or a new one. Several matches are 412.
func (a *API) updateTarget(ctx context.Context, tx storage.Tx, resourceType, criteria, bodyID string) (string, error) {
	matches, err := a.match(ctx, tx, resourceType, criteria)
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		if bodyID != "" {
			return bodyID, nil
		}
		return uuid.NewString(), nil
	case 1:
		if bodyID != "" && bodyID != matches[0].ID {
			return "", newAPIError(http.StatusBadRequest, "invalid", []string{resourceType + ".id"},
				"the resource id %q differs from the id of %s/%s, which the criteria %q match", bodyID, resourceType, matches[0].ID, criteria)
		}
		return matches[0].ID, nil
	default:
		return "", preconditionFailed("the criteria %q match more than one %s, so the server cannot tell which one to update; make the criteria more selective", criteria, resourceType)
	}
}

// deleteByCriteria deletes the one resource that criteria match. No match
// succeeds with nothing deleted, since R4 lets a server report success for
// a delete of a resource that does not exist. Several matches are 412,
// because Ward deletes one resource per conditional delete.
func (a *API) deleteByCriteria(ctx context.Context, tx storage.Tx, resourceType, criteria string, ifMatch int64, at time.Time) (writeResult, storage.Ref, error) {
	matches, err := a.match(ctx, tx, resourceType, criteria)
	if err != nil {
		return writeResult{}, storage.Ref{}, err
	}
	switch len(matches) {
	case 0:
		return writeResult{
			status:  http.StatusNoContent,
			message: fmt.Sprintf("no %s matches the criteria %q, so nothing was deleted", resourceType, criteria),
		}, storage.Ref{}, nil
	case 1:
		ref := storage.Ref{Type: resourceType, ID: matches[0].ID}
		result, err := a.deleteResource(ctx, tx, resourceType, ref.ID, ifMatch, at)
		return result, ref, err
	default:
		return writeResult{}, storage.Ref{}, preconditionFailed(
			"the criteria %q match more than one %s; Ward deletes one resource per conditional delete, so make the criteria more selective", criteria, resourceType)
	}
}

// patchTarget returns the id of the one resource that a conditional
// patch's criteria match. No match is 404 and several are 412.
func (a *API) patchTarget(ctx context.Context, tx storage.Tx, resourceType, criteria string) (string, error) {
	matches, err := a.match(ctx, tx, resourceType, criteria)
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		return "", notFound("no %s matches the criteria %q, so there is nothing to patch", resourceType, criteria)
	case 1:
		return matches[0].ID, nil
	default:
		return "", preconditionFailed("the criteria %q match more than one %s, so the server cannot tell which one to patch; make the criteria more selective", criteria, resourceType)
	}
}

// conditionalTarget returns the resource type and the criteria of a
// conditional update, patch or delete. Without criteria the request is an
// update, patch or delete of a whole type, which no interaction is: 405.
func conditionalTarget(c *gin.Context) (string, string, error) {
	criteria := c.Request.URL.RawQuery
	if criteria == "" {
		return "", "", newAPIError(http.StatusMethodNotAllowed, "not-supported", nil,
			"%s is not supported on %s without search criteria; use [type]/[id], or [type]?[criteria] for a conditional interaction",
			c.Request.Method, c.Request.URL.Path)
	}
	resourceType, err := pathType(c)
	if err != nil {
		return "", "", err
	}
	return resourceType, criteria, nil
}

// conditionalUpdate serves PUT [base]/[type]?[criteria].
func (a *API) conditionalUpdate(c *gin.Context) error {
	resourceType, criteria, err := conditionalTarget(c)
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

	ctx := c.Request.Context()
	at := a.now()
	var result writeResult
	err = a.transact(ctx, true, func(tx storage.Tx) error {
		id, err := a.updateTarget(ctx, tx, resourceType, criteria, res.ID)
		if err != nil {
			return err
		}
		result, err = a.updateResource(ctx, tx, resourceType, id, res.Object, ifMatch, at)
		return err
	})
	if err != nil {
		return err
	}
	return a.sendWritten(c, f, result)
}

// conditionalDelete serves DELETE [base]/[type]?[criteria].
func (a *API) conditionalDelete(c *gin.Context) error {
	resourceType, criteria, err := conditionalTarget(c)
	if err != nil {
		return err
	}
	ifMatch, err := ifMatchVersion(c.Request)
	if err != nil {
		return err
	}

	ctx := c.Request.Context()
	at := a.now()
	var result writeResult
	err = a.transact(ctx, true, func(tx storage.Tx) error {
		var err error
		result, _, err = a.deleteByCriteria(ctx, tx, resourceType, criteria, ifMatch, at)
		return err
	})
	if err != nil {
		return err
	}
	return a.sendDeleted(c, result)
}

// conditionalPatch serves PATCH [base]/[type]?[criteria].
func (a *API) conditionalPatch(c *gin.Context) error {
	resourceType, criteria, err := conditionalTarget(c)
	if err != nil {
		return err
	}
	if err := checkPatchType(c.Request); err != nil {
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
	body, err := readBody(c.Request)
	if err != nil {
		return err
	}
	if err := fhir.CheckJSON(body, a.cfg.Limits); err != nil {
		return err
	}
	operations, err := decodePatch(body)
	if err != nil {
		return err
	}

	ctx := c.Request.Context()
	at := a.now()
	var result writeResult
	err = a.transact(ctx, true, func(tx storage.Tx) error {
		id, err := a.patchTarget(ctx, tx, resourceType, criteria)
		if err != nil {
			return err
		}
		result, err = a.patchResource(ctx, tx, resourceType, id, operations, ifMatch, at)
		return err
	})
	if err != nil {
		return err
	}
	return a.sendWritten(c, f, result)
}

// conditionalReference reports whether a Reference.reference is a search,
// such as "Patient?identifier=http://hospital.example/mrn|12345", and
// returns its type and criteria.
func conditionalReference(reference string) (resourceType, criteria string, ok bool) {
	resourceType, criteria, found := strings.Cut(reference, "?")
	if !found || !definitions.IsResourceType(resourceType) {
		return "", "", false
	}
	return resourceType, criteria, true
}
