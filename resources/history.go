package resources

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
)

// historyParams are the query parameters the history interactions take,
// besides the ones every interaction takes (_format, _pretty).
var historyParams = map[string]bool{"_count": true, "_since": true, "_at": true, "_page": true}

// commonParams apply to every interaction and never appear in self links.
var commonParams = map[string]bool{"_format": true, "_pretty": true}

func (a *API) historyInstance(c *gin.Context) error {
	resourceType, id, err := pathTypeAndID(c)
	if err != nil {
		return err
	}
	// The history of a deleted resource is still served; one that never
	// existed is 404.
	_, err = a.store.Read(c.Request.Context(), resourceType, id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("%s/%s is not known", resourceType, id)
	}
	if err != nil && !errors.Is(err, storage.ErrGone) {
		return err
	}
	return a.history(c, storage.HistoryQuery{Type: resourceType, ID: id}, "/"+resourceType+"/"+id+"/_history")
}

func (a *API) historyType(c *gin.Context) error {
	resourceType, err := pathType(c)
	if err != nil {
		return err
	}
	return a.history(c, storage.HistoryQuery{Type: resourceType}, "/"+resourceType+"/_history")
}

func (a *API) historySystem(c *gin.Context) error {
	return a.history(c, storage.HistoryQuery{}, "/_history")
}

// history serves one page of a history Bundle for q.
func (a *API) history(c *gin.Context, q storage.HistoryQuery, path string) error {
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	query := c.Request.URL.Query()
	if err := checkParams(c.Request, query, historyParams); err != nil {
		return err
	}

	applied := url.Values{}
	q.Count, err = a.count(query)
	if err != nil {
		return err
	}
	applied.Set("_count", strconv.Itoa(q.Count))
	countOnly := q.Count == 0
	if countOnly {
		// _count=0 requests the total alone; the store pages by at least one.
		q.Count = 1
	}

	if since := query.Get("_since"); since != "" {
		low, _, err := search.ParseDateRange(since)
		if err != nil {
			return badParameter("_since", "the _since value is invalid: %v", err)
		}
		q.Since = low
		applied.Set("_since", since)
	}
	if at := query.Get("_at"); at != "" {
		low, high, err := search.ParseDateRange(at)
		if err != nil {
			return badParameter("_at", "the _at value is invalid: %v", err)
		}
		q.AtLow, q.AtHigh = low, high
		applied.Set("_at", at)
	}
	q.Cursor = query.Get("_page")

	page, err := a.store.History(c.Request.Context(), q)
	if err != nil {
		return err
	}

	if countOnly {
		page.Versions, page.NextCursor, page.PrevCursor = nil, "", ""
	}
	bundle, err := a.historyBundle(page)
	if err != nil {
		return err
	}
	bundle["link"] = a.pageLinks(path, applied, q.Cursor, page.NextCursor, page.PrevCursor)
	a.writeJSON(c, http.StatusOK, f, bundle)
	return nil
}

// historyBundle builds a Bundle of type history. Each entry carries the
// request that made the version and the response that request got.
func (a *API) historyBundle(page storage.HistoryPage) (map[string]any, error) {
	entries := make([]any, 0, len(page.Versions))
	for _, v := range page.Versions {
		entry := map[string]any{"fullUrl": a.resourceURL(v.Type, v.ID)}
		if !v.Deleted {
			entry["resource"] = json.RawMessage(v.JSON)
		}

		request := map[string]any{"url": v.Type + "/" + v.ID}
		response := map[string]any{
			"etag":         etag(v.VersionID),
			"lastModified": formatInstant(v.LastUpdated),
		}
		switch v.Op {
		case storage.OpCreate:
			request["method"] = "POST"
			request["url"] = v.Type
			response["status"] = "201 Created"
		case storage.OpDelete:
			request["method"] = "DELETE"
			response["status"] = "204 No Content"
		case storage.OpPatch:
			request["method"] = "PATCH"
			response["status"] = "200 OK"
		default:
			request["method"] = "PUT"
			response["status"] = "200 OK"
		}
		entry["request"] = request
		entry["response"] = response
		entries = append(entries, entry)
	}

	bundle := map[string]any{
		"resourceType": "Bundle",
		"type":         "history",
		"total":        page.Total,
	}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	return bundle, nil
}

// pageLinks returns the self, next and previous links of a paged Bundle.
// Only parameters that were applied appear, as the spec requires of self links.
func (a *API) pageLinks(path string, applied url.Values, cursor, next, prev string) []any {
	link := func(relation, cursor string) map[string]any {
		values := url.Values{}
		for name, v := range applied {
			values[name] = v
		}
		if cursor != "" {
			values.Set("_page", cursor)
		}
		u := a.base + path
		if encoded := values.Encode(); encoded != "" {
			u += "?" + encoded
		}
		return map[string]any{"relation": relation, "url": u}
	}

	links := []any{link("self", cursor)}
	if next != "" {
		links = append(links, link("next", next))
	}
	if prev != "" {
		links = append(links, link("previous", prev))
	}
	return links
}

// count reads _count: the default when absent, capped at MaxCount, and 400
// when it is not a non-negative integer.
func (a *API) count(query url.Values) (int, error) {
	value := query.Get("_count")
	if value == "" {
		return a.cfg.DefaultCount, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 {
		return 0, badParameter("_count", "the _count value %q is invalid; it must be a non-negative integer", value)
	}
	if n > a.cfg.MaxCount {
		n = a.cfg.MaxCount
	}
	return n, nil
}

// checkParams rejects parameters the interaction does not know when the
// client asked for strict handling; otherwise they are ignored, as
// Prefer: handling=lenient (the default) allows.
func checkParams(r *http.Request, query url.Values, known map[string]bool) error {
	if !preferStrict(r) {
		return nil
	}
	for name := range query {
		if !known[name] && !commonParams[name] {
			return badParameter(name, "the parameter %q is not supported here (Prefer: handling=strict)", name)
		}
	}
	return nil
}
