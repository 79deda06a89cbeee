package resources

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/ward-fhir/ward/fhir"
)

// response builds the batch-response or transaction-response Bundle:
// one entry per request entry, in the request's order.
func (p *bundleProcess) response(kind string, entries []*entry) map[string]any {
	bundle := map[string]any{
		"resourceType": "Bundle",
		"id":           uuid.NewString(),
		"type":         kind,
	}
	if len(entries) == 0 {
		return bundle
	}
	list := make([]any, len(entries))
	for i, e := range entries {
		list[i] = p.responseEntry(e)
	}
	bundle["entry"] = list
	return bundle
}

// responseEntry reports one entry's outcome. A write reports status,
// location (the version's relative URL with _history), etag and
// lastModified, plus what Prefer: return= asks for: the resource
// (representation, the default), nothing (minimal) or an
// OperationOutcome in response.outcome. Reads and searches always return
// their resource, except for HEAD and 304.
func (p *bundleProcess) responseEntry(e *entry) map[string]any {
	if e.failure != nil {
		return map[string]any{"response": map[string]any{
			"status":  statusLine(e.failure.status),
			"outcome": fhir.Outcome(e.failure.issues...),
		}}
	}

	result := e.result
	v := result.version
	response := map[string]any{"status": statusLine(result.status)}
	out := map[string]any{"response": response}
	if v.VersionID != 0 {
		if e.writes() && e.method != http.MethodDelete {
			response["location"] = v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.VersionID, 10)
		}
		response["etag"] = etag(v.VersionID)
		response["lastModified"] = formatInstant(v.LastUpdated)
	}

	switch {
	case !e.writes():
		if e.method == http.MethodHead || e.notModified {
			break
		}
		if e.searchset != nil {
			out["resource"] = e.searchset
		} else if v.JSON != nil {
			out["fullUrl"] = p.api.resourceURL(v.Type, v.ID)
			out["resource"] = json.RawMessage(v.JSON)
		}
	case p.prefer == "minimal":
	case p.prefer == "OperationOutcome":
		if result.message != "" {
			response["outcome"] = fhir.Outcome(result.issue())
		}
	default:
		if v.JSON != nil && !v.Deleted {
			out["fullUrl"] = p.api.resourceURL(v.Type, v.ID)
			out["resource"] = json.RawMessage(v.JSON)
		}
	}
	return out
}

// writes reports whether the entry is a write interaction.
func (e *entry) writes() bool {
	switch e.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// statusLine is the HTTP status as Bundle.entry.response.status has it:
// the code and its reason phrase, such as "201 Created".
func statusLine(status int) string {
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}
