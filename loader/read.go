package loader

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// entry is one Bundle entry to send, with the place in a file it came
// from.
type entry struct {
	file  string
	index int // Bundle.entry index in the file, or -1
	line  int // NDJSON line, or 0

	resourceType string
	id           string
	fullURL      string
	method       string
	url          string
	// resource is the resource's JSON, or nil for entries of a
	// transaction or batch Bundle that is sent as read.
	resource json.RawMessage
}

// label names the entry's resource for messages: Type/id, or Type.
func (e entry) label() string {
	if e.id != "" {
		return e.resourceType + "/" + e.id
	}
	return e.resourceType
}

// writes reports whether the entry creates or updates a resource, which
// is what Summary.Loaded counts.
func (e entry) writes() bool {
	return e.method == "POST" || e.method == "PUT" || e.method == "PATCH"
}

// unit is one Bundle to POST to [base].
type unit struct {
	bundleType string // "transaction" or "batch"
	// body is the Bundle as read from a file, or nil to build it from
	// entries.
	body    []byte
	entries []entry
	// retryAsBatch sends the entries again as a batch when the
	// transaction fails, so that the valid ones are stored and each
	// invalid one is reported on its own. Only entries that do not refer
	// to each other through fullUrl may be split this way.
	retryAsBatch bool
}

// file returns the name of the file the unit came from, for failures that
// concern the whole unit.
func (u *unit) file() string {
	if len(u.entries) == 0 {
		return ""
	}
	first := u.entries[0].file
	others := map[string]bool{}
	for _, e := range u.entries {
		if e.file != first {
			others[e.file] = true
		}
	}
	if len(others) > 0 {
		return fmt.Sprintf("%s and %d other files", first, len(others))
	}
	return first
}

// resourceHeader is the part of a resource the loader reads itself.
type resourceHeader struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

// requestDoc is Bundle.entry.request.
type requestDoc struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// headDoc is the part of a JSON file that the loader decodes first: the
// type and id of a resource, or the fields that name a Bundle's entries.
// Decoding it copies no resource.
type headDoc struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource *resourceHeader `json:"resource"`
		Request  *requestDoc     `json:"request"`
	} `json:"entry"`
}

// entriesDoc holds the resources of a Bundle whose entries the loader
// sends in a Bundle of its own.
type entriesDoc struct {
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// readJSON turns a JSON file into units: transaction and batch Bundles as
// they are, the entries of collections (and of searchsets and histories)
// as one transaction, and single resources, documents and messages
// through the batcher. A JSON file of several values is read as NDJSON.
func (r *run) readJSON(name string, content io.Reader, b *batcher, emit func(*unit) error) error {
	data, err := io.ReadAll(content)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}

	decoder := json.NewDecoder(bytes.NewReader(data))
	var doc headDoc
	if err := decoder.Decode(&doc); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			r.fail(Failure{File: name, Entry: -1, Diagnostics: "invalid JSON: " + err.Error()})
		} else {
			r.fail(Failure{File: name, Entry: -1, Diagnostics: "not a FHIR resource: " + err.Error()})
		}
		return nil
	}
	if decoder.More() {
		return r.readNDJSON(name, bytes.NewReader(data), b)
	}

	switch {
	case doc.ResourceType == "":
		r.fail(Failure{File: name, Entry: -1, Diagnostics: `missing "resourceType": not a FHIR resource`})
		return nil
	case doc.ResourceType != "Bundle" || storesBundleItself(doc.Type):
		return b.add(newEntry(name, -1, 0, resourceHeader{doc.ResourceType, doc.ID}, data))
	case len(doc.Entry) == 0:
		return nil
	case doc.Type == "transaction" || doc.Type == "batch":
		return emit(&unit{bundleType: doc.Type, body: data, entries: entriesAsRead(name, doc)})
	case doc.Type != "collection" && doc.Type != "searchset" && doc.Type != "history":
		r.fail(Failure{File: name, Entry: -1, Diagnostics: fmt.Sprintf(
			"Bundle.type %q is not loadable; expected transaction, batch, collection, searchset, history, document or message", doc.Type),
			NotLoaded: len(doc.Entry)})
		return nil
	}

	var full entriesDoc
	if err := json.Unmarshal(data, &full); err != nil {
		return fmt.Errorf("read %s again: %w", name, err)
	}
	entries := make([]entry, 0, len(doc.Entry))
	for i, raw := range full.Entry {
		header := doc.Entry[i].Resource
		if header == nil {
			r.fail(Failure{File: name, Entry: i, Diagnostics: "the entry has no resource to store", NotLoaded: 1})
			continue
		}
		e := newEntry(name, i, 0, *header, raw.Resource)
		e.fullURL = raw.FullURL
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil
	}
	return emit(&unit{bundleType: "transaction", entries: entries})
}

// entriesAsRead describes the entries of a transaction or batch Bundle
// that is sent as read: the server checks them, and the loader only needs
// to name each one in failures and counts.
func entriesAsRead(name string, doc headDoc) []entry {
	entries := make([]entry, len(doc.Entry))
	for i, raw := range doc.Entry {
		e := entry{file: name, index: i, fullURL: raw.FullURL}
		if raw.Resource != nil {
			e.resourceType, e.id = raw.Resource.ResourceType, raw.Resource.ID
		}
		if raw.Request != nil {
			e.method, e.url = raw.Request.Method, raw.Request.URL
		}
		if e.resourceType == "" {
			e.resourceType = typeFromURL(e.url)
		}
		entries[i] = e
	}
	return entries
}

// newEntry makes an entry that stores a resource: PUT when it has an id,
// so that the id is kept, POST otherwise.
func newEntry(file string, index, line int, header resourceHeader, resource json.RawMessage) entry {
	e := entry{file: file, index: index, line: line, resourceType: header.ResourceType, id: header.ID, resource: resource}
	if header.ID != "" {
		e.method, e.url = "PUT", header.ResourceType+"/"+header.ID
	} else {
		e.method, e.url = "POST", header.ResourceType
	}
	return e
}

// typeFromURL returns the resource type of a request URL such as
// Patient/123 or Patient?identifier=x.
func typeFromURL(url string) string {
	end := strings.IndexAny(url, "/?")
	if end < 0 {
		return url
	}
	return url[:end]
}

// maxLineBytes bounds one NDJSON line, which is one resource.
const maxLineBytes = 256 << 20

// readNDJSON sends each non-blank line of content as one resource through
// the batcher.
func (r *run) readNDJSON(name string, content io.Reader, b *batcher) error {
	reader := bufio.NewReaderSize(content, 1<<20)
	for line := 1; ; line++ {
		text, err := readLine(reader)
		if errors.Is(err, io.EOF) && len(text) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s line %d: %w", name, line, err)
		}

		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		var header resourceHeader
		if err := json.Unmarshal(text, &header); err != nil {
			r.fail(Failure{File: name, Entry: -1, Line: line, Diagnostics: "invalid JSON: " + err.Error(), NotLoaded: 1})
			continue
		}
		if header.ResourceType == "" {
			r.fail(Failure{File: name, Entry: -1, Line: line, Diagnostics: `missing "resourceType": not a FHIR resource`, NotLoaded: 1})
			continue
		}
		if err := b.add(newEntry(name, -1, line, header, text)); err != nil {
			return err
		}
	}
}

// readLine returns the next line without its end, failing on lines longer
// than maxLineBytes.
func readLine(reader *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := reader.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLineBytes {
			return nil, fmt.Errorf("line longer than %d bytes", maxLineBytes)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// batcher collects resources from NDJSON lines and single-resource files
// into Bundles of up to size entries.
type batcher struct {
	size    int
	pending []entry
	emit    func(*unit) error
}

func (b *batcher) add(e entry) error {
	b.pending = append(b.pending, e)
	if len(b.pending) >= b.size {
		return b.flush()
	}
	return nil
}

// flush sends the pending entries as one transaction, which commits them
// at once, and falls back to a batch when any of them fails.
func (b *batcher) flush() error {
	if len(b.pending) == 0 {
		return nil
	}
	u := &unit{bundleType: "transaction", entries: b.pending, retryAsBatch: true}
	b.pending = nil
	return b.emit(u)
}

// buildBundle builds a transaction or batch Bundle of entries.
func buildBundle(bundleType string, entries []entry) ([]byte, error) {
	type request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	type outEntry struct {
		FullURL  string          `json:"fullUrl,omitempty"`
		Resource json.RawMessage `json:"resource,omitempty"`
		Request  request         `json:"request"`
	}
	out := struct {
		ResourceType string     `json:"resourceType"`
		Type         string     `json:"type"`
		Entry        []outEntry `json:"entry"`
	}{ResourceType: "Bundle", Type: bundleType, Entry: make([]outEntry, len(entries))}
	for i, e := range entries {
		out.Entry[i] = outEntry{FullURL: e.fullURL, Resource: e.resource, Request: request{Method: e.method, URL: e.url}}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("build %s Bundle: %w", bundleType, err)
	}
	return body, nil
}
