package resources

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/conformance"
)

// released is the date the CapabilityStatement carries. It changes when
// what the server supports changes, not on every start.
var released = time.Date(2026, time.December, 4, 0, 0, 0, 0, time.UTC)

// capabilities serves GET [base]/metadata.
func (a *API) capabilities(c *gin.Context) error {
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	statement := conformance.CapabilityStatement(conformance.Server{
		BaseURL:  a.base,
		Version:  a.cfg.Version,
		Released: released,
		TypeInteractions: []string{
			"read", "vread", "update", "patch", "delete",
			"history-instance", "history-type", "create",
		},
		SystemInteractions: []string{"history-system"},
		PatchFormats:       []string{mediaJSONPatch},
		ConditionalRead:    "full-support",
	})
	a.writeJSON(c, http.StatusOK, f, statement)
	return nil
}

// searchType answers GET and POST searches until search is implemented.
func (a *API) searchType(c *gin.Context) error {
	if _, err := pathType(c); err != nil {
		return err
	}
	// TODO: search is not implemented; the CapabilityStatement does not
	// list search-type, so conformance clients do not expect it.
	return newAPIError(http.StatusNotImplemented, "not-supported", nil, "search is not supported yet")
}
