package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Marshal writes obj as compact canonical JSON. At the top level the keys
// resourceType, id and meta come first and the rest follow sorted, and every
// nested object has sorted keys. Strings are not HTML-escaped. A json.Number
// is written exactly as it was read, so 1.50 stays 1.50.
//
// Values may be what ParseResource produces (map[string]any, []any, string,
// json.Number, bool, nil) and also float64, int and int64 for values a
// caller sets. Anything else, an invalid json.Number, or a non-finite float
// is an error.
func Marshal(obj map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024)
	if err := writeObject(&buf, obj, true); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// leadingKeys come first in a resource, in this order, so that stored bytes
// start with the resource's type and identity.
var leadingKeys = [...]string{"resourceType", "id", "meta"}

func writeObject(buf *bytes.Buffer, obj map[string]any, top bool) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		if top && (k == "resourceType" || k == "id" || k == "meta") {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if top {
		var first []string
		for _, k := range leadingKeys {
			if _, ok := obj[k]; ok {
				first = append(first, k)
			}
		}
		keys = append(first, keys...)
	}

	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, k)
		buf.WriteByte(':')
		if err := writeValue(buf, obj[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	buf.WriteByte('}')
	return nil
}

func writeValue(buf *bytes.Buffer, value any) error {
	switch v := value.(type) {
	case nil:
		buf.WriteString("null")
	case string:
		writeString(buf, v)
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case json.Number:
		if !isJSONNumber(string(v)) {
			return fmt.Errorf("invalid json.Number %q", string(v))
		}
		buf.WriteString(string(v))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("unsupported number %v", v)
		}
		buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case int:
		buf.WriteString(strconv.Itoa(v))
	case int64:
		buf.WriteString(strconv.FormatInt(v, 10))
	case json.RawMessage:
		// Stored resources embedded in a Bundle: they were marshalled by
		// this package when written, so they are copied as they are.
		buf.Write(v)
	case map[string]any:
		return writeObject(buf, v, false)
	case []any:
		buf.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeValue(buf, item); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		buf.WriteByte(']')
	default:
		return fmt.Errorf("unsupported type %T", value)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string the way encoding/json does with
// SetEscapeHTML(false): quotes, backslashes and control characters are
// escaped, U+2028 and U+2029 too (JavaScript treats them as line ends),
// and invalid UTF-8 becomes U+FFFD.
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch b {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(b)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[b>>4])
				buf.WriteByte(hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// isJSONNumber reports whether s is a number literal by RFC 8259's grammar.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	if s[i] == '-' {
		i++
	}
	if i == len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		digits := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == digits {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		digits := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == digits {
			return false
		}
	}
	return i == len(s)
}
