package resources

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
)

// searchType serves GET and POST [base]/[type] and [base]/[type]/_search.
func (a *API) searchType(c *gin.Context) error {
	resourceType, err := pathType(c)
	if err != nil {
		return err
	}
	return a.search(c, []string{resourceType}, nil, "/"+resourceType)
}

// searchSystem serves GET [base]?_type=... and POST [base]/_search. POST
// [base] itself is batch and transaction, not search.
func (a *API) searchSystem(c *gin.Context) error {
	return a.search(c, nil, nil, "")
}

// searchCompartment serves GET [base]/Patient/[id]/[type]: the resources
// of type whose compartment parameters refer to Patient/[id].
func (a *API) searchCompartment(c *gin.Context) error {
	compartmentType, id, err := pathTypeAndID(c)
	if err != nil {
		return err
	}
	resourceType := c.Param("compartment")
	if compartmentType != "Patient" {
		return notFound("only the Patient compartment is supported, not %s", compartmentType)
	}
	if _, ok := search.CompartmentParams(compartmentType, resourceType); !ok {
		return notFound("%q is not a resource type of the Patient compartment", resourceType)
	}
	compartment := &search.Compartment{Type: compartmentType, ID: id}
	return a.search(c, []string{resourceType}, compartment, "/"+compartmentType+"/"+id+"/"+resourceType)
}

// search parses and runs one search and sends its Bundle; path is the search's URL
// path under the base, for the Bundle's links.
func (a *API) search(c *gin.Context, types []string, compartment *search.Compartment, path string) error {
	f, err := negotiate(c)
	if err != nil {
		return err
	}
	if a.runner == nil {
		return newAPIError(http.StatusNotImplemented, "not-supported", nil, "the storage backend of this server cannot search")
	}
	params, err := searchParams(c.Request)
	if err != nil {
		return err
	}

	plan, err := search.Parse(types, params, search.Options{
		BaseURL:       a.base,
		MaxChainDepth: a.cfg.MaxChainDepth,
		DefaultCount:  a.cfg.DefaultCount,
		MaxCount:      a.cfg.MaxCount,
		Strict:        preferStrict(c.Request),
	})
	if err != nil {
		return searchError(err)
	}
	plan.Compartment = compartment

	result, err := a.runner.Run(c.Request.Context(), plan)
	if err != nil {
		return searchError(err)
	}
	bundle, err := a.searchBundle(plan, result)
	if err != nil {
		return err
	}
	next, previous := result.Page.NextCursor, result.Page.PrevCursor
	if plan.CountOnly {
		// A count-only Bundle has no entries to page through.
		next, previous = "", ""
	}
	bundle["link"] = a.pageLinks(path, plan.Applied, plan.Query.Cursor, next, previous)
	a.writeJSON(c, http.StatusOK, f, bundle)
	return nil
}

// searchParams returns the URL's query parameters merged with a POST's
// form body, as the spec defines for POST _search.
func searchParams(r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Method != http.MethodPost {
		return params, nil
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return params, nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, unsupportedMediaType("a POST search takes its parameters as application/x-www-form-urlencoded; got %q", r.Header.Get("Content-Type"))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("the form body of the search is invalid: %v", err)
	}
	for name, values := range form {
		params[name] = append(params[name], values...)
	}
	return params, nil
}

// searchError turns parse and run errors into API errors. Other errors
// pass through to toAPIError.
func searchError(err error) error {
	var param *search.ParamError
	if errors.As(err, &param) {
		return newAPIError(http.StatusBadRequest, param.Code, []string{param.Param}, "%s", param.Message)
	}
	if errors.Is(err, storage.ErrTooCostly) {
		// R4 lists 400 for a search that cannot be processed; the issue
		// type too-costly gives the reason.
		return newAPIError(http.StatusBadRequest, "too-costly", nil, "%s; narrow the search", err.Error())
	}
	return err
}

// searchBundle builds a searchset Bundle from one page.
func (a *API) searchBundle(plan *search.Plan, result *search.Result) (map[string]any, error) {
	page := result.Page
	bundle := map[string]any{
		"resourceType": "Bundle",
		"type":         "searchset",
	}
	switch {
	case plan.Query.Total != storage.TotalNone && page.Total >= 0:
		bundle["total"] = page.Total
	case plan.Query.Cursor == "" && page.NextCursor == "" && !plan.CountOnly:
		// One page holds every match, so the total costs nothing.
		bundle["total"] = len(page.Matches)
	}
	if plan.CountOnly {
		return bundle, nil
	}

	var entries []any
	for _, group := range []struct {
		mode      string
		resources []storage.Resource
	}{{"match", page.Matches}, {"include", result.Included}} {
		for _, r := range group.resources {
			body, err := shapeResource(plan, r.JSON)
			if err != nil {
				return nil, err
			}
			entries = append(entries, map[string]any{
				"fullUrl":  a.resourceURL(r.Type, r.ID),
				"resource": json.RawMessage(body),
				"search":   map[string]any{"mode": group.mode},
			})
		}
	}

	warnings := slices.Concat(plan.Warnings, result.Warnings)
	if len(warnings) > 0 {
		issues := make([]fhir.Issue, 0, len(warnings))
		for _, w := range warnings {
			issues = append(issues, fhir.Issue{Severity: "warning", Code: w.Code, Diagnostics: w.Message, Expression: []string{w.Param}})
		}
		entries = append(entries, map[string]any{
			"resource": fhir.Outcome(issues...),
			"search":   map[string]any{"mode": "outcome"},
		})
	}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	return bundle, nil
}

// shapeResource applies _summary and _elements to one resource of a page.
func shapeResource(plan *search.Plan, stored []byte) ([]byte, error) {
	summary := plan.Summary
	if (summary == "" || summary == "false") && len(plan.Elements) == 0 {
		return stored, nil
	}
	obj, err := fhir.Decode(stored)
	if err != nil {
		return nil, err
	}
	if summary != "" && summary != "false" {
		if obj, err = fhir.Summary(obj, summary); err != nil {
			return nil, err
		}
	} else if len(plan.Elements) > 0 {
		obj = fhir.Elements(obj, plan.Elements)
	}
	return fhir.Marshal(obj)
}
