package fhir

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// scanStructure walks well-formed JSON and reports the first place that
// nests deeper than maxDepth (when maxDepth > 0) or, failing that, every
// object key that occurs twice in the same object. encoding/json and
// jsonformat both keep the last of duplicate keys without a word, so the
// check has to work on the bytes. root names the top-level object in the
// reported paths.
func scanStructure(body []byte, root string, maxDepth int) []Issue {
	return scanResourceStructure(body, root, nil, maxDepth)
}

// scanResourceStructure is scanStructure for a body already decoded into
// object, which lets the reported paths name choice elements and elements
// of nested resources in FHIRPath form.
func scanResourceStructure(body []byte, root string, object map[string]any, maxDepth int) []Issue {
	s := &structureScanner{data: body, maxDepth: maxDepth, resource: object}
	s.value(root, 1)
	if s.tooDeep != "" {
		return []Issue{{
			Severity:    "error",
			Code:        "too-costly",
			Diagnostics: fmt.Sprintf("JSON nesting depth exceeds the limit of %d at %s", maxDepth, s.tooDeep),
			Expression:  expressionList(locate(s.resource, s.tooDeep).expression),
		}}
	}
	return s.duplicates
}

type structureScanner struct {
	data       []byte
	pos        int
	maxDepth   int
	tooDeep    string // path of the first value past maxDepth
	duplicates []Issue
	resource   map[string]any // the decoded body, or nil
}

// value scans the value at s.pos, which sits at nesting depth depth when it
// is an object or array.
func (s *structureScanner) value(path string, depth int) {
	s.skipSpace()
	switch s.data[s.pos] {
	case '{':
		if s.tooDeepAt(path, depth) {
			return
		}
		s.object(path, depth)
	case '[':
		if s.tooDeepAt(path, depth) {
			return
		}
		s.array(path, depth)
	case '"':
		s.skipString()
	default:
		for s.pos < len(s.data) && !strings.ContainsRune(",]} \t\r\n", rune(s.data[s.pos])) {
			s.pos++
		}
	}
}

func (s *structureScanner) tooDeepAt(path string, depth int) bool {
	if s.tooDeep != "" {
		return true
	}
	if s.maxDepth > 0 && depth > s.maxDepth {
		s.tooDeep = path
		return true
	}
	return false
}

func (s *structureScanner) object(path string, depth int) {
	s.pos++ // {
	var seen []string
	for s.tooDeep == "" {
		s.skipSpace()
		if s.data[s.pos] == '}' {
			s.pos++
			return
		}
		if s.data[s.pos] == ',' {
			s.pos++
			s.skipSpace()
		}

		key := s.key()
		childPath := joinJSONPath(path, key)
		for _, k := range seen {
			if k == key {
				s.duplicates = append(s.duplicates, Issue{
					Severity:    "error",
					Code:        "structure",
					Diagnostics: fmt.Sprintf("duplicate JSON key %q at %s; each element may occur only once per object", key, childPath),
					Expression:  expressionList(locate(s.resource, childPath).expression),
				})
				break
			}
		}
		seen = append(seen, key)

		s.skipSpace()
		s.pos++ // :
		s.value(childPath, depth+1)
		s.skipSpace()
	}
}

func (s *structureScanner) array(path string, depth int) {
	s.pos++ // [
	for index := 0; s.tooDeep == ""; index++ {
		s.skipSpace()
		if s.data[s.pos] == ']' {
			s.pos++
			return
		}
		if s.data[s.pos] == ',' {
			s.pos++
		}
		s.value(path+"["+strconv.Itoa(index)+"]", depth+1)
		s.skipSpace()
	}
}

// key returns the decoded object key at s.pos and moves past it.
func (s *structureScanner) key() string {
	start := s.pos
	escaped := s.skipString()
	raw := s.data[start:s.pos]
	if !escaped {
		return string(raw[1 : len(raw)-1])
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		// Unreachable while callers pass bodies that encoding/json decoded.
		// The raw text still identifies the key.
		return string(raw)
	}
	return key
}

// skipString moves past the string literal at s.pos and reports whether it
// contains escapes.
func (s *structureScanner) skipString() bool {
	escaped := false
	s.pos++ // opening quote
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '\\':
			escaped = true
			s.pos += 2
			continue
		case '"':
			s.pos++
			return escaped
		}
		s.pos++
	}
	return escaped
}

func (s *structureScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

func joinJSONPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func expressionList(path string) []string {
	if path == "" {
		return nil
	}
	return []string{path}
}
