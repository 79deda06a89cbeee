package resources

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/conformance"
	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
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
	server := conformance.Server{
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
	}
	if a.runner != nil {
		server.TypeInteractions = append(server.TypeInteractions, "search-type")
		server.SystemInteractions = append(server.SystemInteractions, "search-system")
		server.Search, server.SystemSearchParams = searchCapabilities()
	}
	// Batch needs nothing from the backend. Transactions and conditional
	// interactions need its transactions, and the conditional ones its
	// search too.
	server.SystemInteractions = append(server.SystemInteractions, "batch")
	if _, ok := a.store.(storage.Transactor); ok {
		server.SystemInteractions = append(server.SystemInteractions, "transaction")
		if a.runner != nil {
			server.ConditionalCreate = true
			server.ConditionalUpdate = true
			server.ConditionalDelete = "single"
		}
	}
	a.writeJSON(c, http.StatusOK, f, conformance.CapabilityStatement(server))
	return nil
}

// searchCapabilities lists the search parameters, _include and
// _revinclude values of every resource type. They follow from the R4
// definitions alone, so they are computed once.
var searchCapabilities = sync.OnceValues(func() (map[string]conformance.ResourceSearch, []conformance.SearchParam) {
	byType := map[string]conformance.ResourceSearch{}
	revIncludes := map[string][]string{}
	for _, resourceType := range definitions.ResourceTypes() {
		params := search.ParamsFor(resourceType)
		rs := conformance.ResourceSearch{Includes: []string{"*"}}
		for _, code := range slices.Sorted(maps.Keys(params)) {
			p := params[code]
			rs.Params = append(rs.Params, conformance.SearchParam{Name: code, Type: string(p.Type), Definition: p.URL})
			if p.Type != storage.TypeReference {
				continue
			}
			rs.Includes = append(rs.Includes, resourceType+":"+code)
			for _, target := range p.Targets {
				revIncludes[target] = append(revIncludes[target], resourceType+":"+code)
			}
		}
		byType[resourceType] = rs
	}
	for resourceType, rs := range byType {
		rs.RevIncludes = revIncludes[resourceType]
		byType[resourceType] = rs
	}

	var system []conformance.SearchParam
	for _, p := range byType[definitions.ResourceTypes()[0]].Params {
		if def, ok := search.LookupParam(definitions.ResourceTypes()[0], p.Name); ok && slices.Contains(def.Base, "Resource") {
			system = append(system, p)
		}
	}
	return byType, system
})
