package fhir

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// scanCeiling bounds the scanner's stack when no depth limit is set. It is
// the depth past which encoding/json (Go 1.26, maxNestingDepth) rejects a
// document, so the decoder reports a body that nests deeper.
const scanCeiling = 10000

// keySetThreshold is how many keys of one object the duplicate check
// compares one by one before it moves them into a map. Most FHIR objects
// have fewer keys, and comparing a few byte slices is cheaper than hashing.
const keySetThreshold = 16

// jsonScan is the result of scanJSON on the bytes of a body. The checks
// work on the bytes because encoding/json and jsonformat both keep the
// last of duplicate keys and turn a lone surrogate escape into U+FFFD
// without a word. A depth limit also has to be checked before a decoder
// recurses.
type jsonScan struct {
	// tooDeep is true when an object or array nests deeper than the limit,
	// and tooDeepPath is the JSON-key path of the first one, under the root
	// (".extension[0].extension[0]"). As in jsonformat's paths, a resource
	// under contained, resource or outcome gets its type as a step of its
	// own (".contained[0].Organization.name") when its resourceType came
	// before the deep part.
	tooDeep     bool
	tooDeepPath string
	// rootType is the resourceType of the top-level object, when it came
	// before the place where the scan stopped.
	rootType string
	problems []scanProblem
	// unlisted counts the problems found after maxIssues were recorded.
	unlisted int
	// complete is true when the scan reached the end of the top-level
	// value, which it does for every well-formed body within the limits.
	complete bool
}

type scanProblemKind int

const (
	duplicateKey scanProblemKind = iota
	loneSurrogateValue
	loneSurrogateKey
	numberOutOfRange
)

type scanProblem struct {
	kind scanProblemKind
	// path is the JSON-key path under the root: ".name[0].family". For a
	// lone surrogate in a key it is the path of the object.
	path string
	// detail is the duplicate key, the lone escape as written (\ud800), or
	// the number as written.
	detail string
}

// scanJSON checks body, without decoding it, for nesting deeper than
// maxDepth (when maxDepth > 0), object keys that occur twice in the same
// object, lone UTF-16 surrogate escapes, and numbers outside the range of
// a float64. It stops at the first object or array past maxDepth, so it
// never holds more than maxDepth levels.
//
// It accepts malformed JSON: it stops where the syntax breaks and reports
// what it found before, so the caller must still decode the body and trust
// the decoder's verdict on syntax.
func scanJSON(body []byte, maxDepth int) *jsonScan {
	s := &jsonScanner{data: body, maxDepth: maxDepth}
	s.run()
	return &s.result
}

// depthIssue reports the depth limit that scan found exceeded, with its
// location in the resource whose type is root.
func (scan *jsonScan) depthIssue(root string, maxDepth int) Issue {
	path := root + scan.tooDeepPath
	return Issue{
		Severity:    "error",
		Code:        "too-costly",
		Diagnostics: fmt.Sprintf("JSON nesting depth exceeds the limit of %d at %s", maxDepth, path),
		Expression:  expressionList(locate(nil, path).expression),
	}
}

// issues translates the problems found into issues located in object, the
// decoded body, whose paths start with root.
func (scan *jsonScan) issues(root string, object map[string]any) []Issue {
	issues := make([]Issue, 0, len(scan.problems))
	for _, p := range scan.problems {
		path := root + p.path
		if root == "" {
			path = strings.TrimPrefix(p.path, ".")
		}
		expression := locate(object, path).expression
		issue := Issue{Severity: "error", Expression: expressionList(expression)}

		switch p.kind {
		case duplicateKey:
			issue.Code = "structure"
			issue.Diagnostics = fmt.Sprintf("duplicate JSON key %q at %s; each element may occur only once per object", p.detail, path)
		case loneSurrogateValue:
			issue.Code = "value"
			issue.Diagnostics = fmt.Sprintf("invalid string at %s: the escape %s is half of a UTF-16 surrogate pair without the other half, so it encodes no character", expression, p.detail)
		case loneSurrogateKey:
			issue.Code = "structure"
			issue.Diagnostics = fmt.Sprintf("invalid object key in %s: the escape %s is half of a UTF-16 surrogate pair without the other half, so it encodes no character", expression, p.detail)
		case numberOutOfRange:
			issue.Code = "value"
			issue.Diagnostics = fmt.Sprintf("invalid number %s at %s: number out of range; Ward accepts numbers of magnitude up to about 1.8e308, the range of a 64-bit IEEE 754 float", truncate(p.detail, 60), expression)
		}
		issues = append(issues, issue)
	}
	return issues
}

type jsonScanner struct {
	data     []byte
	pos      int
	maxDepth int
	// frames holds one entry per open object or array, outermost first.
	frames []scanFrame
	result jsonScan
}

type scanFrame struct {
	array bool
	// index is the position, in an array, of the item being scanned.
	index int
	// key is the key, in an object, whose value is being scanned.
	key []byte
	// keys lists the keys seen so far in an object, until there are
	// keySetThreshold of them, and keySet holds them from then on.
	keys   [][]byte
	keySet map[string]struct{}
	// resourceType is the object's resourceType, once scanned.
	resourceType string
}

// run scans the top-level value. Each turn of the loop scans one value:
// a scalar, or the opening of an object or array, after which the next
// turn scans its first member.
func (s *jsonScanner) run() {
	for {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return
		}

		switch s.data[s.pos] {
		case '{', '[':
			if !s.open() {
				return
			}
			s.skipSpace()
			if s.pos < len(s.data) && s.data[s.pos] == s.closing() {
				s.pos++
				s.frames = s.frames[:len(s.frames)-1]
				break
			}
			if !s.frames[len(s.frames)-1].array && !s.readKey() {
				return
			}
			continue
		case '"':
			if !s.stringValue() {
				return
			}
		default:
			if !s.literal() {
				return
			}
		}

		if !s.afterValue() {
			return
		}
	}
}

// open enters the object or array at s.pos. It returns false, and the
// scan stops, when that would pass the depth limit.
func (s *jsonScanner) open() bool {
	depth := len(s.frames) + 1
	if s.maxDepth > 0 && depth > s.maxDepth {
		s.result.tooDeep = true
		s.result.tooDeepPath = s.pathOf(len(s.frames), true)
		return false
	}
	if depth > scanCeiling {
		return false
	}

	array := s.data[s.pos] == '['
	s.pos++
	if len(s.frames) < cap(s.frames) {
		// Reuse the key list of a frame that was closed earlier.
		s.frames = s.frames[:len(s.frames)+1]
		frame := &s.frames[len(s.frames)-1]
		*frame = scanFrame{array: array, keys: frame.keys[:0]}
	} else {
		s.frames = append(s.frames, scanFrame{array: array})
	}
	return true
}

func (s *jsonScanner) closing() byte {
	if s.frames[len(s.frames)-1].array {
		return ']'
	}
	return '}'
}

// afterValue moves past the commas and closing brackets after a complete
// value, up to the next value to scan. It returns false when the top-level
// value is complete or the JSON is malformed.
func (s *jsonScanner) afterValue() bool {
	for len(s.frames) > 0 {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return false
		}
		frame := &s.frames[len(s.frames)-1]

		switch c := s.data[s.pos]; {
		case c == ',':
			s.pos++
			if frame.array {
				frame.index++
				return true
			}
			s.skipSpace()
			return s.readKey()
		case c == s.closing():
			s.pos++
			s.frames = s.frames[:len(s.frames)-1]
		default:
			return false
		}
	}
	s.result.complete = true
	return false
}

// readKey scans an object key and the colon after it, and checks that the
// object has not had the key before.
func (s *jsonScanner) readKey() bool {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return false
	}
	key, lone, ok := s.scanString(true)
	if !ok {
		return false
	}
	if lone != "" {
		s.problem(loneSurrogateKey, lone, len(s.frames)-1)
	}

	frame := &s.frames[len(s.frames)-1]
	frame.key = key
	if s.seenBefore(frame, key) {
		s.problem(duplicateKey, string(key), len(s.frames))
	}

	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return false
	}
	s.pos++
	return true
}

// seenBefore reports whether the object of frame already had key, and
// records key. Keys go into a map once an object has many, so that the
// check stays linear in the number of keys.
func (s *jsonScanner) seenBefore(frame *scanFrame, key []byte) bool {
	if frame.keySet != nil {
		if _, seen := frame.keySet[string(key)]; seen {
			return true
		}
		frame.keySet[string(key)] = struct{}{}
		return false
	}

	for _, k := range frame.keys {
		if bytes.Equal(k, key) {
			return true
		}
	}
	if len(frame.keys) < keySetThreshold {
		frame.keys = append(frame.keys, key)
		return false
	}
	frame.keySet = make(map[string]struct{}, 4*keySetThreshold)
	for _, k := range frame.keys {
		frame.keySet[string(k)] = struct{}{}
	}
	frame.keySet[string(key)] = struct{}{}
	return false
}

// stringValue scans a string value and keeps it when it is the
// resourceType of the object.
func (s *jsonScanner) stringValue() bool {
	isResourceType := false
	if n := len(s.frames); n > 0 && !s.frames[n-1].array {
		isResourceType = string(s.frames[n-1].key) == "resourceType"
	}

	content, lone, ok := s.scanString(isResourceType)
	if !ok {
		return false
	}
	if lone != "" {
		s.problem(loneSurrogateValue, lone, len(s.frames))
	}
	if isResourceType {
		s.frames[len(s.frames)-1].resourceType = string(content)
		if len(s.frames) == 1 {
			s.result.rootType = string(content)
		}
	}
	return true
}

// scanString moves past the string literal at s.pos. It returns the
// content when decode is true, decoded if it has escapes, and the first
// lone surrogate escape as written. ok is false when the literal is
// malformed.
func (s *jsonScanner) scanString(decode bool) (content []byte, lone string, ok bool) {
	s.pos++ // opening quote
	start, chunk := s.pos, s.pos
	var decoded []byte
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '"':
			end := s.pos
			s.pos++
			if decoded != nil {
				return append(decoded, s.data[chunk:end]...), lone, true
			}
			return s.data[start:end], lone, true
		case '\\':
			if decode {
				decoded = append(decoded, s.data[chunk:s.pos]...)
			}
			escapeStart := s.pos
			r, isLone, ok := s.escape()
			if !ok {
				return nil, "", false
			}
			if isLone && lone == "" {
				lone = string(s.data[escapeStart : escapeStart+6])
			}
			if decode {
				decoded = utf8.AppendRune(decoded, r)
			}
			chunk = s.pos
		default:
			s.pos++
		}
	}
	return nil, "", false
}

// escape decodes the escape sequence at s.pos and moves past it. A high
// surrogate escape followed by a low one is one character. Either half
// alone is reported as lone and decodes to U+FFFD.
func (s *jsonScanner) escape() (r rune, lone bool, ok bool) {
	if s.pos+1 >= len(s.data) {
		return 0, false, false
	}
	switch c := s.data[s.pos+1]; c {
	case '"', '\\', '/':
		s.pos += 2
		return rune(c), false, true
	case 'b':
		s.pos += 2
		return '\b', false, true
	case 'f':
		s.pos += 2
		return '\f', false, true
	case 'n':
		s.pos += 2
		return '\n', false, true
	case 'r':
		s.pos += 2
		return '\r', false, true
	case 't':
		s.pos += 2
		return '\t', false, true
	case 'u':
	default:
		return 0, false, false
	}

	first, ok := hex4(s.data, s.pos+2)
	if !ok {
		return 0, false, false
	}
	s.pos += 6
	if !utf16.IsSurrogate(first) {
		return first, false, true
	}
	if first >= 0xDC00 {
		return utf8.RuneError, true, true
	}
	if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
		if second, ok := hex4(s.data, s.pos+2); ok && second >= 0xDC00 && second <= 0xDFFF {
			s.pos += 6
			return utf16.DecodeRune(first, second), false, true
		}
	}
	return utf8.RuneError, true, true
}

// hex4 decodes the four hexadecimal digits at data[at:].
func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// literal moves past a number, true, false or null, and checks the range
// of a number.
func (s *jsonScanner) literal() bool {
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
		s.pos++
	}
	token := s.data[start:s.pos]
	if len(token) == 0 {
		return false
	}
	if token[0] == '-' || (token[0] >= '0' && token[0] <= '9') {
		s.checkNumber(token)
	}
	return true
}

// checkNumber reports a number whose magnitude a float64 cannot hold.
// jsonformat (google/fhir go v0.7.4) rejects such a number in an exponent
// form (1e999) with an error that names no element. A number that only
// underflows (1e-400) is accepted, because Ward stores it as written and
// jsonformat accepts it.
func (s *jsonScanner) checkNumber(token []byte) {
	// With no exponent and at most 300 characters, the value is below
	// 1e300, far inside the range.
	if len(token) <= 300 && !bytes.ContainsAny(token, "eE") {
		return
	}
	_, err := strconv.ParseFloat(string(token), 64)
	if errors.Is(err, strconv.ErrRange) {
		s.problem(numberOutOfRange, string(token), len(s.frames))
	}
}

// problem records a problem at the path that the first frames frames lead
// to, or only counts it once maxIssues problems are recorded.
func (s *jsonScanner) problem(kind scanProblemKind, detail string, frames int) {
	if len(s.result.problems) >= maxIssues {
		s.result.unlisted++
		return
	}
	s.result.problems = append(s.result.problems, scanProblem{kind: kind, path: s.pathOf(frames, false), detail: detail})
}

// pathOf returns the JSON-key path under the root of the value that the
// first n frames lead to, such as ".name[0].family". withTypes adds the
// type of each nested resource as a step, for paths that are located
// without the decoded body.
func (s *jsonScanner) pathOf(n int, withTypes bool) string {
	var b strings.Builder
	holder := "" // the key that holds the current object
	for i := range n {
		frame := &s.frames[i]
		if frame.array {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(frame.index))
			b.WriteByte(']')
			continue
		}
		if withTypes && i > 0 && isNestedResourceKey(holder) && definitions.IsResourceType(frame.resourceType) {
			b.WriteByte('.')
			b.WriteString(frame.resourceType)
		}
		b.WriteByte('.')
		b.Write(frame.key)
		holder = string(frame.key)
	}
	return b.String()
}

// isNestedResourceKey reports whether key is an R4 element of type
// Resource: DomainResource.contained, Bundle.entry.resource,
// Bundle.entry.response.outcome and Parameters.parameter.resource.
func isNestedResourceKey(key string) bool {
	return key == "contained" || key == "resource" || key == "outcome"
}

func (s *jsonScanner) skipSpace() {
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
