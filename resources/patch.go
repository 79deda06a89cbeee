package resources

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/storage"
)

// patch serves PATCH [base]/[type]/[id] with a JSON Patch (RFC 6902)
// document. The patched resource is validated like an update; a patch that
// cannot be applied, or whose result is invalid, is 422 and changes
// nothing.
func (a *API) patch(c *gin.Context) error {
	resourceType, id, err := pathTypeAndID(c)
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
	var result writeResult
	err = a.transact(ctx, false, func(tx storage.Tx) error {
		var err error
		result, err = a.patchResource(ctx, tx, resourceType, id, operations, ifMatch, a.now())
		return err
	})
	if err != nil {
		return err
	}
	return a.sendWritten(c, f, result)
}

func decodePatch(body []byte) (jsonpatch.Patch, error) {
	operations, err := jsonpatch.DecodePatch(body)
	if err != nil {
		return nil, badRequest("the JSON Patch document is invalid: %v", err)
	}
	return operations, nil
}

// patchResource applies a JSON Patch to the current version of
// resourceType/id and stores the result, validated like an update, as the
// next version. An ifMatch other than 0 is the version that must be
// current.
func (a *API) patchResource(ctx context.Context, tx storage.Tx, resourceType, id string, operations jsonpatch.Patch, ifMatch int64, at time.Time) (writeResult, error) {
	current, err := tx.Read(ctx, resourceType, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return writeResult{}, notFound("%s/%s is not known", resourceType, id)
	case errors.Is(err, storage.ErrGone):
		return writeResult{}, newAPIError(http.StatusGone, "deleted", nil, "%s/%s was deleted in version %d", resourceType, id, current.VersionID)
	case err != nil:
		return writeResult{}, err
	}
	if err := checkIfMatch(ifMatch, current.VersionID, resourceType, id); err != nil {
		return writeResult{}, err
	}

	// Copy and add operations can grow a document exponentially from a
	// small patch, so growth is capped at the body limit.
	options := jsonpatch.NewApplyOptions()
	options.AccumulatedCopySizeLimit = a.cfg.Limits.MaxBytes
	patched, err := operations.ApplyWithOptions(current.JSON, options)
	if err != nil {
		return writeResult{}, newAPIError(http.StatusUnprocessableEntity, "processing", nil, "the JSON Patch could not be applied: %v", err)
	}
	if limit := a.cfg.Limits.MaxBytes; limit > 0 && int64(len(patched)) > limit {
		return writeResult{}, newAPIError(http.StatusUnprocessableEntity, "too-costly", nil,
			"the patched resource would be %d bytes, over the limit of %d", len(patched), limit)
	}
	res, err := fhir.ParseResource(patched, a.cfg.Limits)
	if err != nil {
		var invalid *fhir.InvalidError
		if errors.As(err, &invalid) {
			return writeResult{}, &apiError{status: http.StatusUnprocessableEntity, issues: invalid.Issues}
		}
		return writeResult{}, err
	}
	if res.Type != resourceType || res.ID != id {
		return writeResult{}, newAPIError(http.StatusUnprocessableEntity, "processing", []string{resourceType + ".id"},
			"a patch must not change the resourceType or id of %s/%s", resourceType, id)
	}

	saved, err := a.save(ctx, tx, storage.Write{
		Type:          resourceType,
		ID:            id,
		VersionID:     current.VersionID + 1,
		LastUpdated:   notBefore(at, current),
		Op:            storage.OpPatch,
		ExpectVersion: current.VersionID,
	}, res.Object)
	if err != nil {
		return writeResult{}, conflictAsPrecondition(err, ifMatch)
	}
	return writtenResult(http.StatusOK, saved, "patched"), nil
}

// checkPatchType accepts only JSON Patch. FHIRPath Patch (a Parameters
// resource) and XML Patch get 415 with a message naming what is supported.
func checkPatchType(r *http.Request) error {
	header := r.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(header)
	if err != nil {
		return unsupportedMediaType("PATCH needs Content-Type %s; got %q", mediaJSONPatch, header)
	}
	if mediaType != mediaJSONPatch {
		return unsupportedMediaType("PATCH supports only JSON Patch (Content-Type %s); %q is not supported", mediaJSONPatch, mediaType)
	}
	return nil
}
