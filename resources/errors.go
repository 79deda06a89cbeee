package resources

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/storage"
)

// apiError is an error that carries its HTTP status and the
// OperationOutcome issue a client should see.
type apiError struct {
	status int
	issues []fhir.Issue
}

func (e *apiError) Error() string {
	if len(e.issues) == 0 {
		return http.StatusText(e.status)
	}
	return e.issues[0].Diagnostics
}

func newAPIError(status int, code string, expression []string, format string, args ...any) *apiError {
	return &apiError{
		status: status,
		issues: []fhir.Issue{{
			Severity:    "error",
			Code:        code,
			Diagnostics: fmt.Sprintf(format, args...),
			Expression:  expression,
		}},
	}
}

func badRequest(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "invalid", nil, format, args...)
}

func badParameter(name, format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "invalid", []string{name}, format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newAPIError(http.StatusNotFound, "not-found", nil, format, args...)
}

func notAcceptable(format string, args ...any) *apiError {
	return newAPIError(http.StatusNotAcceptable, "not-supported", nil, format, args...)
}

func unsupportedMediaType(format string, args ...any) *apiError {
	return newAPIError(http.StatusUnsupportedMediaType, "not-supported", nil, format, args...)
}

func preconditionFailed(format string, args ...any) *apiError {
	return newAPIError(http.StatusPreconditionFailed, "conflict", nil, format, args...)
}

// toAPIError is the one place that turns an error from parsing, storage or
// a handler into the status and OperationOutcome a client receives. Errors it
// does not recognise become 500 with no internal detail; the caller logs
// them.
func toAPIError(err error) (*apiError, bool) {
	var api *apiError
	if errors.As(err, &api) {
		return api, true
	}

	var invalid *fhir.InvalidError
	if errors.As(err, &invalid) {
		return &apiError{status: http.StatusBadRequest, issues: invalid.Issues}, true
	}

	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge), errors.Is(err, fhir.ErrTooLarge):
		return newAPIError(http.StatusRequestEntityTooLarge, "too-costly", nil, "%s", err.Error()), true
	// Handlers name the resource in their own messages; these are the
	// fallbacks, worded without the backend's internal detail.
	case errors.Is(err, storage.ErrNotFound):
		return newAPIError(http.StatusNotFound, "not-found", nil, "the resource is not known"), true
	case errors.Is(err, storage.ErrGone):
		return newAPIError(http.StatusGone, "deleted", nil, "the resource was deleted"), true
	case errors.Is(err, storage.ErrVersionConflict):
		return newAPIError(http.StatusConflict, "conflict", nil,
			"another client changed the resource while this request was processed; read it again and retry"), true
	case errors.Is(err, storage.ErrInvalidCursor):
		return newAPIError(http.StatusBadRequest, "invalid", []string{"_page"},
			"the _page cursor is invalid or belongs to another query; start again from the first page"), true
	}
	return nil, false
}
