package resources

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/fhir/definitions"
	"github.com/ward-fhir/ward/storage"
)

// DefaultMaxBundleEntries is the entry limit of a batch or transaction
// Bundle when Config.MaxBundleEntries is zero. The largest Synthea patient
// Bundle in the project's test data has 781 entries, so the limit leaves
// room for patients with far longer histories.
const DefaultMaxBundleEntries = 10000

// bundle serves POST [base] with a batch or transaction Bundle
// (http://hl7.org/fhir/R4/http.html#transaction). docs/transactions.md
// describes the processing.
func (a *API) bundle(c *gin.Context) error {
	if err := checkContentType(c.Request, mediaFHIRJSON, mediaJSON); err != nil {
		return err
	}
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	body, err := readBody(c.Request)
	if err != nil {
		return err
	}
	b, err := a.parseBundle(body)
	if err != nil {
		return err
	}
	// Logs and metrics tell batches from transactions.
	c.Set(interactionKey, b.kind)

	p := bundleProcess{
		api:       a,
		prefer:    preferReturn(c.Request),
		strict:    preferStrict(c.Request),
		requestID: c.GetString(requestIDKey),
		at:        a.now(),
	}
	var response map[string]any
	if b.kind == "transaction" {
		response, err = p.transaction(c.Request.Context(), b.entries)
	} else {
		response = p.batch(c.Request.Context(), b.entries)
	}
	if err != nil {
		return err
	}
	a.writeJSON(c, http.StatusOK, f, response)
	return nil
}

// bundleRequest is a parsed batch or transaction Bundle.
type bundleRequest struct {
	kind    string // "batch" or "transaction"
	entries []*entry
}

// entry is one Bundle entry: its request, what processing resolved, and
// its outcome.
type entry struct {
	index   int
	fullURL string
	method  string // GET, HEAD, POST, PUT, PATCH or DELETE
	url     string // request.url as sent

	// The request.url, parsed. criteria is the query string of a
	// conditional update, patch or delete, and params those of a search.
	resourceType string
	id           string
	version      int64 // vread
	criteria     string
	search       bool
	params       url.Values

	ifMatch         int64
	ifNoneExist     string
	ifNoneMatch     string
	ifModifiedSince string

	// bodyType is the resourceType of entry.resource; resource is the
	// validated resource of a POST or PUT, and patch the JSON Patch of a
	// PATCH.
	bodyType string
	resource *fhir.Resource
	patch    jsonpatch.Patch

	// target is the resource the entry acts on once processing resolved
	// it; matched marks a conditional create that found its resource.
	target  storage.Ref
	matched bool

	// result is the entry's outcome; searchset is the Bundle a search
	// returned; notModified marks a read served as 304. failure is
	// set when the entry failed.
	result      writeResult
	searchset   map[string]any
	notModified bool
	failure     *apiError

	// internal is the error behind a failure that is no part of the API's
	// vocabulary; it is logged, not sent.
	internal error
}

// parseBundle decodes and checks a batch or transaction Bundle and each
// of its entries. Problems with the Bundle itself are returned as errors.
// A problem with one entry fails the whole transaction; in a batch it
// becomes that entry's failure.
func (a *API) parseBundle(body []byte) (*bundleRequest, error) {
	if err := fhir.CheckJSON(body, a.cfg.Limits); err != nil {
		return nil, err
	}
	obj, err := fhir.Decode(body)
	if err != nil {
		return nil, badRequest("the body is not a JSON object: %v", err)
	}
	if resourceType, _ := obj["resourceType"].(string); resourceType != "Bundle" {
		return nil, newAPIError(http.StatusBadRequest, "invalid", []string{"resourceType"},
			"POST [base] takes a Bundle of type batch or transaction, not %s", describeType(obj["resourceType"]))
	}
	kind, _ := obj["type"].(string)
	if kind != "batch" && kind != "transaction" {
		return nil, newAPIError(http.StatusBadRequest, "invalid", []string{"Bundle.type"},
			"POST [base] processes Bundles of type batch or transaction, not %q; store other Bundles with POST [base]/Bundle", kind)
	}

	rawEntries, _ := obj["entry"].([]any)
	maxEntries := a.cfg.MaxBundleEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxBundleEntries
	}
	if len(rawEntries) > maxEntries {
		return nil, newAPIError(http.StatusRequestEntityTooLarge, "too-costly", []string{"Bundle.entry"},
			"the Bundle has %d entries, over this server's limit of %d; split it into several Bundles", len(rawEntries), maxEntries)
	}
	if err := checkBundleShell(obj, rawEntries, a.cfg.Limits); err != nil {
		return nil, err
	}

	b := &bundleRequest{kind: kind}
	fullURLs := map[string]int{}
	for i, raw := range rawEntries {
		e := a.parseEntry(i, raw.(map[string]any))
		if e.failure != nil && kind == "transaction" {
			return nil, e.failure
		}
		if e.fullURL != "" && kind == "transaction" {
			if first, dup := fullURLs[e.fullURL]; dup {
				return nil, newAPIError(http.StatusBadRequest, "invalid", []string{fmt.Sprintf("Bundle.entry[%d].fullUrl", i)},
					"Bundle.entry[%d] and Bundle.entry[%d] have the same fullUrl %q; each entry of a transaction needs its own", first, i, e.fullURL)
			}
			fullURLs[e.fullURL] = i
		}
		b.entries = append(b.entries, e)
	}
	return b, nil
}

func describeType(value any) string {
	if s, ok := value.(string); ok {
		return strconv.Quote(s)
	}
	return "a body without a resourceType"
}

// checkBundleShell validates the Bundle without its entries' resources,
// which are validated one by one so that a batch can fail only the entry
// whose resource is invalid. Every entry must be an object.
func checkBundleShell(obj map[string]any, rawEntries []any, limits fhir.Limits) error {
	shell := make(map[string]any, len(obj))
	for k, v := range obj {
		shell[k] = v
	}
	if len(rawEntries) > 0 {
		entries := make([]any, len(rawEntries))
		for i, raw := range rawEntries {
			e, ok := raw.(map[string]any)
			if !ok {
				return newAPIError(http.StatusBadRequest, "structure", []string{fmt.Sprintf("Bundle.entry[%d]", i)},
					"Bundle.entry[%d] is not a JSON object", i)
			}
			if _, ok := e["request"].(map[string]any); !ok {
				return newAPIError(http.StatusBadRequest, "required", []string{fmt.Sprintf("Bundle.entry[%d].request", i)},
					"Bundle.entry[%d] has no request; every entry of a batch or transaction needs request.method and request.url", i)
			}
			copied := make(map[string]any, len(e))
			for k, v := range e {
				if k != "resource" {
					copied[k] = v
				}
			}
			entries[i] = copied
		}
		shell["entry"] = entries
	}
	body, err := fhir.Marshal(shell)
	if err != nil {
		return fmt.Errorf("marshal Bundle without resources: %w", err)
	}
	_, err = fhir.ParseResource(body, fhir.Limits{MaxDepth: limits.MaxDepth})
	return err
}

// parseEntry reads one entry's request and resource. A problem is stored
// in the entry's failure.
func (a *API) parseEntry(i int, raw map[string]any) *entry {
	e := &entry{index: i}
	e.fullURL, _ = raw["fullUrl"].(string)
	if res, ok := raw["resource"].(map[string]any); ok {
		e.bodyType, _ = res["resourceType"].(string)
	}
	if err := a.parseEntryRequest(e, raw); err != nil {
		e.fail(err)
		return e
	}
	if err := a.parseEntryResource(e, raw["resource"]); err != nil {
		e.fail(err)
	}
	return e
}

func (a *API) parseEntryRequest(e *entry, raw map[string]any) error {
	request, _ := raw["request"].(map[string]any)
	if request == nil {
		return newAPIError(http.StatusBadRequest, "required", []string{e.path("request")},
			"the entry has no request; every entry of a batch or transaction needs request.method and request.url")
	}
	e.method, _ = request["method"].(string)
	e.url, _ = request["url"].(string)
	if e.method == "" || e.url == "" {
		return newAPIError(http.StatusBadRequest, "required", []string{e.path("request")},
			"the entry's request needs both method and url")
	}
	e.ifNoneExist, _ = request["ifNoneExist"].(string)
	e.ifNoneMatch, _ = request["ifNoneMatch"].(string)
	e.ifModifiedSince, _ = request["ifModifiedSince"].(string)
	if ifMatch, _ := request["ifMatch"].(string); ifMatch != "" {
		version, ok := parseETag(ifMatch)
		if !ok {
			return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("request.ifMatch")},
				`request.ifMatch %q is invalid; send the ETag of the version you read, such as W/"3"`, ifMatch)
		}
		e.ifMatch = version
	}
	if e.ifNoneExist != "" && e.method != http.MethodPost {
		return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("request.ifNoneExist")},
			"request.ifNoneExist applies to POST only, not to %s", e.method)
	}
	return a.parseEntryURL(e)
}

// parseEntryURL reads request.url, a URL relative to the base (an
// absolute URL under the base is accepted too), into what the entry acts
// on.
func (a *API) parseEntryURL(e *entry) error {
	raw := e.url
	if beforeQuery, _, _ := strings.Cut(raw, "?"); strings.Contains(beforeQuery, "://") {
		rest, ok := strings.CutPrefix(raw, a.base+"/")
		if !ok {
			return e.badURL("it is an absolute URL outside this server's base %s", a.base)
		}
		raw = rest
	}
	raw = strings.TrimPrefix(raw, "/")
	path, query, hasQuery := strings.Cut(raw, "?")
	var segments []string
	if path != "" {
		segments = strings.Split(path, "/")
	}

	if len(segments) > 0 {
		e.resourceType = segments[0]
		if !definitions.IsResourceType(e.resourceType) {
			return e.badURL("%q is not a FHIR R4 resource type", e.resourceType)
		}
	}
	if len(segments) > 1 && segments[1] != "_search" {
		e.id = segments[1]
		if !validID.MatchString(e.id) || e.id == "." || e.id == ".." {
			return e.badURL("the id %q is invalid: a FHIR id is 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.', and not . or ..", truncate(e.id, 80))
		}
	}

	switch e.method {
	case http.MethodPost:
		if len(segments) != 1 || hasQuery {
			return e.badURL("a POST entry creates a resource, so its url is the resource type alone, such as Patient")
		}
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		switch {
		case len(segments) == 2 && e.id != "" && !hasQuery:
		case len(segments) == 1 && hasQuery && query != "":
			e.criteria = query
		default:
			return e.badURL("a %s entry's url is [type]/[id], or [type]?[criteria] for a conditional %s", e.method, strings.ToLower(e.method))
		}
	case http.MethodGet, http.MethodHead:
		return e.parseReadURL(segments, query)
	default:
		return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("request.method")},
			"the request method %q is not one of GET, HEAD, POST, PUT, PATCH and DELETE", e.method)
	}
	return nil
}

// parseReadURL reads the url of a GET or HEAD entry: a read, a vread or a
// search.
func (e *entry) parseReadURL(segments []string, query string) error {
	params, err := url.ParseQuery(query)
	if err != nil {
		return e.badURL("its query string is invalid: %v", err)
	}
	switch {
	case len(segments) == 0, len(segments) == 1 && segments[0] == "_search":
		e.resourceType = ""
		e.search, e.params = true, params
	case len(segments) == 1, len(segments) == 2 && segments[1] == "_search":
		e.search, e.params = true, params
	case len(segments) == 2:
	case len(segments) == 4 && segments[2] == "_history":
		version, err := strconv.ParseInt(segments[3], 10, 64)
		if err != nil || version < 1 {
			return e.badURL("the version %q is invalid; Ward's version ids are positive integers", segments[3])
		}
		e.version = version
	default:
		return e.badURL("a GET entry in a Bundle may read ([type]/[id]), vread ([type]/[id]/_history/[vid]) or search ([type]?[params]); other interactions are not supported in Bundles")
	}
	return nil
}

// parseEntryResource validates the resource of a POST or PUT, and reads
// the JSON Patch of a PATCH, which R4 sends as a Binary resource.
func (a *API) parseEntryResource(e *entry, raw any) error {
	switch e.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return newAPIError(http.StatusBadRequest, "required", []string{e.path("resource")},
			"a %s entry needs a resource", e.method)
	}
	body, err := fhir.Marshal(obj)
	if err != nil {
		return fmt.Errorf("marshal the resource of Bundle.entry[%d]: %w", e.index, err)
	}
	res, err := fhir.ParseResource(body, a.cfg.Limits)
	if err != nil {
		return err
	}

	if e.method == http.MethodPatch {
		return e.readPatch(res, a.cfg.Limits)
	}
	if res.Type != e.resourceType {
		return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("resource")},
			"the resource is a %s but the request url %q acts on %s", res.Type, e.url, e.resourceType)
	}
	if e.method == http.MethodPut && e.id != "" {
		switch res.ID {
		case e.id:
		case "":
			return newAPIError(http.StatusBadRequest, "required", []string{e.path("resource.id")},
				"the resource has no id; an update must carry the id %q from the request url", e.id)
		default:
			return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("resource.id")},
				"the resource id %q differs from the id %q in the request url", res.ID, e.id)
		}
	}
	e.resource = res
	return nil
}

// readPatch takes the JSON Patch out of the Binary resource of a PATCH
// entry.
func (e *entry) readPatch(res *fhir.Resource, limits fhir.Limits) error {
	contentType, _ := res.Object["contentType"].(string)
	data, _ := res.Object["data"].(string)
	if res.Type != "Binary" || contentType != mediaJSONPatch {
		return newAPIError(http.StatusUnsupportedMediaType, "not-supported", []string{e.path("resource")},
			"a PATCH entry needs a Binary resource with contentType %s that holds the JSON Patch; FHIRPath Patch is not supported", mediaJSONPatch)
	}
	body, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("resource.data")}, "the Binary data is not base64: %v", err)
	}
	if err := fhir.CheckJSON(body, limits); err != nil {
		return err
	}
	e.patch, err = decodePatch(body)
	return err
}

// path returns the FHIRPath of an element of this entry, such as
// Bundle.entry[3].request.
func (e *entry) path(element string) string {
	return fmt.Sprintf("Bundle.entry[%d].%s", e.index, element)
}

func (e *entry) badURL(format string, args ...any) error {
	return newAPIError(http.StatusBadRequest, "invalid", []string{e.path("request.url")},
		"the request url %q is invalid: %s", e.url, fmt.Sprintf(format, args...))
}

// describe names the entry in messages.
func (e *entry) describe() string {
	s := fmt.Sprintf("Bundle.entry[%d] (%s %s", e.index, e.method, e.url)
	if e.fullURL != "" {
		s += ", fullUrl " + e.fullURL
	}
	return s + ")"
}

// fail records err as the entry's failure, naming the entry.
func (e *entry) fail(err error) {
	if api, ok := e.apiError(err); ok {
		e.failure = api
		return
	}
	e.internal = err
	e.failure = newAPIError(http.StatusInternalServerError, "exception", []string{fmt.Sprintf("Bundle.entry[%d]", e.index)},
		"%s failed with an internal server error", e.describe())
}

// apiError returns err as an OperationOutcome that names the entry: each
// issue's diagnostics start with the entry, and expressions on the
// entry's resource are moved under Bundle.entry[i].resource. It returns
// false for errors that toAPIError does not know, which are internal.
func (e *entry) apiError(err error) (*apiError, bool) {
	api, ok := toAPIError(err)
	if !ok {
		return nil, false
	}
	prefix := e.describe() + ": "
	out := &apiError{status: api.status, issues: make([]fhir.Issue, 0, len(api.issues))}
	for _, issue := range api.issues {
		if !strings.HasPrefix(issue.Diagnostics, "Bundle.entry[") {
			issue.Diagnostics = prefix + issue.Diagnostics
		}
		issue.Expression = e.expressions(issue.Expression)
		out.issues = append(out.issues, issue)
	}
	return out, true
}

func (e *entry) expressions(list []string) []string {
	resourceType := e.bodyType
	if resourceType == "" {
		resourceType = e.resourceType
	}
	entryPath := fmt.Sprintf("Bundle.entry[%d]", e.index)
	out := make([]string, 0, len(list)+1)
	placed := false
	for _, expression := range list {
		switch {
		case strings.HasPrefix(expression, "Bundle.entry["):
			placed = true
		case resourceType != "" && (expression == resourceType || strings.HasPrefix(expression, resourceType+".") || strings.HasPrefix(expression, resourceType+"[")):
			expression = entryPath + ".resource" + strings.TrimPrefix(expression, resourceType)
			placed = true
		}
		out = append(out, expression)
	}
	if !placed {
		out = append([]string{entryPath}, out...)
	}
	return out
}
