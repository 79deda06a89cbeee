package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// stringInput returns the single String the function is invoked on. ok is
// false for an empty input; other types are an error.
func stringInput(call *callExpr, input Collection) (string, bool, error) {
	n, ok, err := singleInput(call, input)
	if err != nil || !ok {
		return "", false, err
	}
	v, ok := n.systemValue()
	s, isString := v.(string)
	if !ok || !isString {
		return "", false, evalErrorf(call, "%s() needs a String input, got %s", call.name, typeLabel(n))
	}
	return s, true, nil
}

// stringFunction adapts a function of the input string and its evaluated
// string arguments; an empty input or argument gives an empty result.
func stringFunction(nargs int, fn func(call *callExpr, s string, args []string) (any, bool, error)) *function {
	return &function{minArgs: nargs, maxArgs: nargs, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		s, ok, err := stringInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		args := make([]string, nargs)
		for i := range nargs {
			a, present, err := stringArg(c, call, i, focus)
			if err != nil || !present {
				return nil, err
			}
			args[i] = a
		}
		r, ok, err := fn(call, s, args)
		if err != nil || !ok {
			return nil, err
		}
		return Collection{newSystem(r)}, nil
	}}
}

var regexCache sync.Map // pattern -> *regexp.Regexp

// compileRegex compiles a FHIRPath regular expression, in which "." also
// matches line breaks.
func compileRegex(call *callExpr, pattern string) (*regexp.Regexp, error) {
	if re, ok := regexCache.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile("(?s)" + pattern)
	if err != nil {
		return nil, evalErrorf(call, "invalid regular expression %q: %v", pattern, err)
	}
	regexCache.Store(pattern, re)
	return re, nil
}

var stringFunctions = map[string]*function{
	"indexOf": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		i := strings.Index(s, a[0])
		if i < 0 {
			return int64(-1), true, nil
		}
		return int64(utf8.RuneCountInString(s[:i])), true, nil
	}),
	"lastIndexOf": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		i := strings.LastIndex(s, a[0])
		if i < 0 {
			return int64(-1), true, nil
		}
		return int64(utf8.RuneCountInString(s[:i])), true, nil
	}),
	"substring": {minArgs: 1, maxArgs: 2, impl: substring},
	"startsWith": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		return strings.HasPrefix(s, a[0]), true, nil
	}),
	"endsWith": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		return strings.HasSuffix(s, a[0]), true, nil
	}),
	"contains": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		return strings.Contains(s, a[0]), true, nil
	}),
	"upper": stringFunction(0, func(_ *callExpr, s string, _ []string) (any, bool, error) {
		return strings.ToUpper(s), true, nil
	}),
	"lower": stringFunction(0, func(_ *callExpr, s string, _ []string) (any, bool, error) {
		return strings.ToLower(s), true, nil
	}),
	"replace": stringFunction(2, func(_ *callExpr, s string, a []string) (any, bool, error) {
		return strings.ReplaceAll(s, a[0], a[1]), true, nil
	}),
	"matches": stringFunction(1, func(call *callExpr, s string, a []string) (any, bool, error) {
		re, err := compileRegex(call, a[0])
		if err != nil {
			return nil, false, err
		}
		return re.MatchString(s), true, nil
	}),
	"matchesFull": stringFunction(1, func(call *callExpr, s string, a []string) (any, bool, error) {
		re, err := compileRegex(call, "^(?:"+a[0]+")$")
		if err != nil {
			return nil, false, err
		}
		return re.MatchString(s), true, nil
	}),
	"replaceMatches": stringFunction(2, func(call *callExpr, s string, a []string) (any, bool, error) {
		if a[0] == "" {
			return s, true, nil
		}
		re, err := compileRegex(call, a[0])
		if err != nil {
			return nil, false, err
		}
		return re.ReplaceAllString(s, braceGroupReferences(a[1])), true, nil
	}),
	"length": stringFunction(0, func(_ *callExpr, s string, _ []string) (any, bool, error) {
		return int64(utf8.RuneCountInString(s)), true, nil
	}),
	"trim": stringFunction(0, func(_ *callExpr, s string, _ []string) (any, bool, error) {
		return strings.TrimSpace(s), true, nil
	}),
	"encode": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		switch a[0] {
		case "base64":
			return base64.StdEncoding.EncodeToString([]byte(s)), true, nil
		case "urlbase64":
			return base64.URLEncoding.EncodeToString([]byte(s)), true, nil
		case "hex":
			return hex.EncodeToString([]byte(s)), true, nil
		}
		return nil, false, nil
	}),
	"decode": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		var b []byte
		var err error
		switch a[0] {
		case "base64":
			b, err = base64.StdEncoding.DecodeString(s)
		case "urlbase64":
			b, err = base64.URLEncoding.DecodeString(s)
		case "hex":
			b, err = hex.DecodeString(s)
		default:
			return nil, false, nil
		}
		if err != nil {
			return nil, false, nil
		}
		return string(b), true, nil
	}),
	"escape": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		switch a[0] {
		case "html":
			return htmlEscaper.Replace(s), true, nil
		case "json":
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			out := strings.TrimSuffix(b.String(), "\n")
			return out[1 : len(out)-1], true, nil
		}
		return nil, false, nil
	}),
	"unescape": stringFunction(1, func(_ *callExpr, s string, a []string) (any, bool, error) {
		switch a[0] {
		case "html":
			return html.UnescapeString(s), true, nil
		case "json":
			out, ok := unescapeJSON(s)
			return out, ok, nil
		case "url":
			out, err := url.QueryUnescape(s)
			return out, err == nil, nil
		}
		return nil, false, nil
	}),
	"toChars": {impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		s, ok, err := stringInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		out := make(Collection, 0, len(s))
		for _, r := range s {
			out = append(out, newSystem(string(r)))
		}
		return out, nil
	}},
	"split": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		s, ok, err := stringInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		sep, ok, err := stringArg(c, call, 0, focus)
		if err != nil || !ok {
			return nil, err
		}
		var out Collection
		for _, part := range strings.Split(s, sep) {
			out = append(out, newSystem(part))
		}
		return out, nil
	}},
	"join": {maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		sep := ""
		if len(call.args) == 1 {
			s, _, err := stringArg(c, call, 0, focus)
			if err != nil {
				return nil, err
			}
			sep = s
		}
		parts := make([]string, 0, len(input))
		for _, n := range input {
			v, _ := n.systemValue()
			s, ok := v.(string)
			if !ok {
				return nil, evalErrorf(call, "join() needs String items, got %s", typeLabel(n))
			}
			parts = append(parts, s)
		}
		return Collection{newSystem(strings.Join(parts, sep))}, nil
	}},
}

// braceGroupReferences rewrites $1 in a substitution as ${1}, so that a
// following letter is not read as part of the group name.
func braceGroupReferences(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && isDigit(s[i+1]) {
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func substring(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
	s, ok, err := stringInput(call, input)
	if err != nil || !ok {
		return nil, err
	}
	start, ok, err := integerArg(c, call, 0, focus)
	if err != nil || !ok {
		return nil, err
	}
	runes := []rune(s)
	if start < 0 || start >= int64(len(runes)) {
		return nil, nil
	}
	end := int64(len(runes))
	if len(call.args) == 2 {
		length, ok, err := integerArg(c, call, 1, focus)
		if err != nil {
			return nil, err
		}
		if ok {
			if length < 0 {
				length = 0
			}
			end = min(end, start+length)
		}
	}
	return Collection{newSystem(string(runes[start:end]))}, nil
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// unescapeJSON resolves the backslash escapes of a JSON string body; an
// unescaped quote is kept as it is.
func unescapeJSON(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+5 > len(s) {
				return "", false
			}
			var r rune
			if _, err := fmt.Sscanf(s[i+1:i+5], "%04x", &r); err != nil {
				return "", false
			}
			b.WriteRune(r)
			i += 4
		default:
			return "", false
		}
	}
	return b.String(), true
}
