package loader

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxResponseBytes bounds a response body. With Prefer: return=minimal a
// batch-response carries a status and location per entry, far below it.
const maxResponseBytes = 256 << 20

// issue is an OperationOutcome.issue as the loader reads it.
type issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics"`
	Expression  []string `json:"expression"`
	Location    []string `json:"location"`
}

// responseDoc is the part of a response body the loader reads: a
// transaction-response or batch-response Bundle, or an OperationOutcome.
type responseDoc struct {
	ResourceType string  `json:"resourceType"`
	Type         string  `json:"type"`
	Issue        []issue `json:"issue"`
	Entry        []struct {
		Response struct {
			Status  string `json:"status"`
			Outcome *struct {
				Issue []issue `json:"issue"`
			} `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

// send posts one unit and records what the server stored and rejected.
// It returns an error only when the load cannot go on: the context ended
// or the server could not be reached.
func (r *run) send(ctx context.Context, u *unit) error {
	body := u.body
	if body == nil {
		var err error
		if body, err = buildBundle(u.bundleType, u.entries); err != nil {
			return err
		}
	}

	status, doc, err := r.post(ctx, body)
	if err != nil {
		return fmt.Errorf("send %s %s: %w", u.file(), u.bundleType, err)
	}

	if status/100 == 2 {
		r.recordEntries(u, doc)
		return nil
	}
	if u.retryAsBatch && u.bundleType == "transaction" && retryableAsBatch(status) {
		return r.send(ctx, &unit{bundleType: "batch", entries: u.entries})
	}
	r.recordRejected(u, status, doc)
	return nil
}

// retryableAsBatch reports whether a transaction that failed with status
// may succeed in part as a batch. Authorization, size and media type
// failures would fail the batch the same way.
func retryableAsBatch(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusMethodNotAllowed,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusTooManyRequests:
		return false
	}
	return status/100 == 4 || status/100 == 5
}

func (r *run) post(ctx context.Context, body []byte) (int, responseDoc, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.loader.base+"/", bytes.NewReader(body))
	if err != nil {
		return 0, responseDoc{}, err
	}
	for name, values := range r.loader.opts.Header {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	// The loader reads only each entry's status and outcome, so the
	// server need not send the stored resources back.
	req.Header.Set("Prefer", "return=minimal")

	r.mu.Lock()
	r.requests++
	r.mu.Unlock()
	resp, err := r.loader.client.Do(req)
	if err != nil {
		return 0, responseDoc{}, err
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, responseDoc{}, fmt.Errorf("read the response (HTTP %d): %w", resp.StatusCode, err)
	}
	var doc responseDoc
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &doc); err != nil && resp.StatusCode/100 == 2 {
			return 0, responseDoc{}, fmt.Errorf("the response (HTTP %d) is not FHIR JSON: %w", resp.StatusCode, err)
		}
	}
	if doc.ResourceType == "" && resp.StatusCode/100 != 2 {
		doc.Issue = []issue{{Severity: "error", Diagnostics: strings.TrimSpace(truncate(string(data), 500))}}
	}
	return resp.StatusCode, doc, nil
}

// recordEntries counts the entries of a successful transaction-response or
// batch-response and records each failed batch entry.
func (r *run) recordEntries(u *unit, doc responseDoc) {
	if doc.ResourceType != "Bundle" || len(doc.Entry) != len(u.entries) {
		r.fail(Failure{File: u.file(), Entry: -1, Diagnostics: fmt.Sprintf(
			"the server returned %s with %d entries for a %s of %d entries; the outcome of each entry is unknown",
			describeResponse(doc), len(doc.Entry), u.bundleType, len(u.entries)), NotLoaded: len(u.entries)})
		return
	}

	for i, e := range u.entries {
		response := doc.Entry[i].Response
		status := parseStatus(response.Status)
		if status/100 == 2 {
			if e.writes() {
				r.accept(e.resourceType)
			}
			continue
		}
		f := entryFailure(e, status)
		if response.Outcome != nil {
			f.Diagnostics, f.Expression = describeIssues(response.Outcome.Issue)
		}
		if u.body == nil {
			relocate(&f, e, i)
		}
		if f.Diagnostics == "" {
			f.Diagnostics = "the server rejected the entry with status " + strconv.Quote(response.Status)
		}
		r.fail(f)
	}
}

// recordRejected records a request that failed as a whole. Issues whose
// expression starts with Bundle.entry[n] are reported for that entry;
// the first failure carries the count of entries that were not stored.
func (r *run) recordRejected(u *unit, status int, doc responseDoc) {
	// A transaction that fails stores none of its entries, and a batch
	// that fails as a whole was not processed at all.
	notLoaded := len(u.entries)

	var general []issue
	reported := 0
	for _, is := range doc.Issue {
		if is.Severity != "" && is.Severity != "error" && is.Severity != "fatal" {
			continue
		}
		index, ok := entryIndex(is)
		if !ok || index >= len(u.entries) {
			general = append(general, is)
			continue
		}
		f := entryFailure(u.entries[index], status)
		f.Diagnostics, f.Expression = describeIssues([]issue{is})
		if u.body == nil {
			relocate(&f, u.entries[index], index)
		}
		if reported == 0 {
			f.NotLoaded = notLoaded
		}
		r.fail(f)
		reported++
	}
	if reported > 0 && len(general) == 0 {
		return
	}

	f := Failure{File: u.file(), Entry: -1, Status: status}
	if reported == 0 {
		f.NotLoaded = notLoaded
	}
	if len(u.entries) == 1 {
		f = entryFailure(u.entries[0], status)
		f.NotLoaded = 1
	}
	f.Diagnostics, f.Expression = describeIssues(general)
	if f.Diagnostics == "" {
		f.Diagnostics = fmt.Sprintf("the server rejected the %s of %d entries", u.bundleType, len(u.entries))
	}
	r.fail(f)
}

// relocate rewrites the paths of a failure in a Bundle that the loader
// built itself, whose entry positions mean nothing to the user: the
// expression Bundle.entry[3].resource.gender becomes Patient.gender, and a
// leading "Bundle.entry[3] (PUT Patient/a2): " in the diagnostics goes.
func relocate(f *Failure, e entry, index int) {
	prefix := fmt.Sprintf("Bundle.entry[%d]", index)
	for i, path := range f.Expression {
		if rest, ok := strings.CutPrefix(path, prefix+".resource"); ok {
			f.Expression[i] = e.resourceType + rest
		}
	}
	if rest, ok := strings.CutPrefix(f.Diagnostics, prefix+" ("); ok {
		if _, message, found := strings.Cut(rest, "): "); found {
			f.Diagnostics = message
		}
	}
}

func entryFailure(e entry, status int) Failure {
	f := Failure{File: e.file, Entry: e.index, Line: e.line, Resource: e.label(), Status: status, NotLoaded: 1}
	if e.line > 0 {
		f.Entry = -1
	}
	return f
}

// entryPath matches the start of a FHIRPath expression or location that
// points into one Bundle entry.
var entryPath = regexp.MustCompile(`^Bundle\.entry\[(\d+)\]`)

func entryIndex(is issue) (int, bool) {
	for _, paths := range [][]string{is.Expression, is.Location} {
		for _, p := range paths {
			if m := entryPath.FindStringSubmatch(p); m != nil {
				n, err := strconv.Atoi(m[1])
				return n, err == nil
			}
		}
	}
	return 0, false
}

// describeIssues joins the diagnostics and expressions of the error
// issues, or of all issues when none is an error.
func describeIssues(issues []issue) (string, []string) {
	errorsOnly := issues[:0:0]
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			errorsOnly = append(errorsOnly, is)
		}
	}
	if len(errorsOnly) > 0 {
		issues = errorsOnly
	}

	var texts, expressions []string
	for _, is := range issues {
		text := is.Diagnostics
		if text == "" {
			text = is.Code
		}
		if text != "" {
			texts = append(texts, text)
		}
		expressions = append(expressions, is.Expression...)
		if len(is.Expression) == 0 {
			expressions = append(expressions, is.Location...)
		}
	}
	return strings.Join(texts, "; "), expressions
}

// parseStatus reads the code from Bundle.entry.response.status, such as
// "201 Created", returning 0 when there is none.
func parseStatus(status string) int {
	code, _, _ := strings.Cut(strings.TrimSpace(status), " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0
	}
	return n
}

func describeResponse(doc responseDoc) string {
	switch {
	case doc.ResourceType == "":
		return "no resource"
	case doc.Type != "":
		return "a " + doc.ResourceType + " of type " + doc.Type
	}
	return "a " + doc.ResourceType
}

func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit] + "..."
}
