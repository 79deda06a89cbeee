package fhirpath

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdentifier
	tokDelimitedIdentifier
	tokString
	tokNumber
	tokLongNumber
	tokDate
	tokDateTime
	tokTime
	tokOperator
	tokExternal // %name or %'name' or %`name`
	tokSpecial  // $this, $index, $total
)

type token struct {
	kind tokenKind
	text string // operator or identifier text, decoded string value, or literal source
	pos  int    // byte offset in the expression
	src  string // the source text of the token, for error messages
}

// lexer turns an expression into tokens. Comments and white space are
// dropped; a keyword such as "and" stays an identifier so that the parser
// can accept it where the grammar allows keywords as names.
type lexer struct {
	src    string
	pos    int
	tokens []token
}

func tokenize(src string) ([]token, error) {
	lx := &lexer{src: src}
	for {
		if err := lx.skipSpaceAndComments(); err != nil {
			return nil, err
		}
		if lx.pos >= len(lx.src) {
			lx.tokens = append(lx.tokens, token{kind: tokEOF, pos: lx.pos})
			return lx.tokens, nil
		}
		if err := lx.next(); err != nil {
			return nil, err
		}
	}
}

func (lx *lexer) errorf(pos int, tok string, msg string) error {
	return &SyntaxError{Pos: pos, Token: tok, Msg: msg}
}

func (lx *lexer) skipSpaceAndComments() error {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			lx.pos++
		case strings.HasPrefix(lx.src[lx.pos:], "//"):
			end := strings.IndexByte(lx.src[lx.pos:], '\n')
			if end < 0 {
				lx.pos = len(lx.src)
			} else {
				lx.pos += end + 1
			}
		case strings.HasPrefix(lx.src[lx.pos:], "/*"):
			end := strings.Index(lx.src[lx.pos+2:], "*/")
			if end < 0 {
				return lx.errorf(lx.pos, "/*", "unterminated comment")
			}
			lx.pos += end + 4
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || isDigit(c)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (lx *lexer) emit(kind tokenKind, text string, start int) {
	lx.tokens = append(lx.tokens, token{kind: kind, text: text, pos: start, src: lx.src[start:lx.pos]})
}

func (lx *lexer) next() error {
	start := lx.pos
	c := lx.src[lx.pos]
	switch {
	case isIdentStart(c):
		for lx.pos < len(lx.src) && isIdentPart(lx.src[lx.pos]) {
			lx.pos++
		}
		lx.emit(tokIdentifier, lx.src[start:lx.pos], start)
		return nil
	case isDigit(c):
		return lx.number()
	case c == '\'':
		s, err := lx.quoted('\'')
		if err != nil {
			return err
		}
		lx.emit(tokString, s, start)
		return nil
	case c == '`':
		s, err := lx.quoted('`')
		if err != nil {
			return err
		}
		if s == "" {
			return lx.errorf(start, "``", "empty delimited identifier")
		}
		lx.emit(tokDelimitedIdentifier, s, start)
		return nil
	case c == '@':
		return lx.temporal()
	case c == '%':
		lx.pos++
		if lx.pos >= len(lx.src) {
			return lx.errorf(start, "%", "missing variable name after %")
		}
		switch d := lx.src[lx.pos]; {
		case d == '\'' || d == '`':
			s, err := lx.quoted(d)
			if err != nil {
				return err
			}
			if s == "" {
				return lx.errorf(start, lx.src[start:lx.pos], "empty variable name")
			}
			lx.emit(tokExternal, s, start)
		case isIdentStart(d):
			nameStart := lx.pos
			for lx.pos < len(lx.src) && (isIdentPart(lx.src[lx.pos]) || lx.src[lx.pos] == '-') {
				lx.pos++
			}
			lx.emit(tokExternal, lx.src[nameStart:lx.pos], start)
		default:
			return lx.errorf(start, lx.src[start:lx.pos+1], "invalid variable name after %")
		}
		return nil
	case c == '$':
		lx.pos++
		for lx.pos < len(lx.src) && isIdentPart(lx.src[lx.pos]) {
			lx.pos++
		}
		name := lx.src[start:lx.pos]
		switch name {
		case "$this", "$index", "$total":
			lx.emit(tokSpecial, name, start)
			return nil
		}
		return lx.errorf(start, name, "unknown special variable, expected $this, $index or $total")
	}

	for _, op := range operators {
		if strings.HasPrefix(lx.src[lx.pos:], op) {
			lx.pos += len(op)
			lx.emit(tokOperator, op, start)
			return nil
		}
	}
	r, size := utf8.DecodeRuneInString(lx.src[lx.pos:])
	if r == utf8.RuneError && size <= 1 {
		return lx.errorf(start, lx.src[start:start+1], "invalid UTF-8 in expression")
	}
	return lx.errorf(start, string(r), "unexpected character")
}

// operators lists the symbols longest first so that "<=" wins over "<".
var operators = []string{"<=", ">=", "!=", "!~", "=", "~", "<", ">", "+", "-", "*", "/", "&", "|", "(", ")", "[", "]", "{", "}", ",", "."}

func (lx *lexer) number() error {
	start := lx.pos
	for lx.pos < len(lx.src) && isDigit(lx.src[lx.pos]) {
		lx.pos++
	}
	// A dot belongs to the number only when a digit follows, so that
	// "1.convertsToInteger()" is an invocation on the integer 1.
	if lx.pos+1 < len(lx.src) && lx.src[lx.pos] == '.' && isDigit(lx.src[lx.pos+1]) {
		lx.pos++
		for lx.pos < len(lx.src) && isDigit(lx.src[lx.pos]) {
			lx.pos++
		}
	} else if lx.pos < len(lx.src) && lx.src[lx.pos] == 'L' && (lx.pos+1 >= len(lx.src) || !isIdentPart(lx.src[lx.pos+1])) {
		lx.pos++
		lx.emit(tokLongNumber, lx.src[start:lx.pos-1], start)
		return nil
	}
	lx.emit(tokNumber, lx.src[start:lx.pos], start)
	return nil
}

// quoted reads a string or delimited identifier with FHIRPath escapes.
func (lx *lexer) quoted(q byte) (string, error) {
	start := lx.pos
	lx.pos++
	var b strings.Builder
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		if c == q {
			lx.pos++
			return b.String(), nil
		}
		if c != '\\' {
			b.WriteByte(c)
			lx.pos++
			continue
		}
		if lx.pos+1 >= len(lx.src) {
			break
		}
		e := lx.src[lx.pos+1]
		lx.pos += 2
		switch e {
		case '\'', '"', '`', '\\', '/':
			b.WriteByte(e)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if lx.pos+4 > len(lx.src) {
				return "", lx.errorf(lx.pos-2, lx.src[lx.pos-2:], "invalid \\u escape, expected four hex digits")
			}
			v, err := strconv.ParseUint(lx.src[lx.pos:lx.pos+4], 16, 32)
			if err != nil {
				return "", lx.errorf(lx.pos-2, lx.src[lx.pos-2:lx.pos+4], "invalid \\u escape, expected four hex digits")
			}
			b.WriteRune(rune(v)) // #nosec G115 -- v comes from four hex digits, so it is at most 0xFFFF
			lx.pos += 4
		default:
			return "", lx.errorf(lx.pos-2, lx.src[lx.pos-2:lx.pos], "invalid escape sequence")
		}
	}
	return "", lx.errorf(start, lx.src[start:], "unterminated quoted text")
}

// temporal reads a date, dateTime or time literal after '@'. The shapes
// are checked by the temporal parsers; here only the extent is found.
func (lx *lexer) temporal() error {
	start := lx.pos
	lx.pos++
	isTime := lx.pos < len(lx.src) && lx.src[lx.pos] == 'T'
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		if isDigit(c) || c == '-' || c == ':' || c == 'T' || c == 'Z' || c == '+' {
			lx.pos++
			continue
		}
		// A dot followed by a digit is a fraction of a second.
		if c == '.' && lx.pos+1 < len(lx.src) && isDigit(lx.src[lx.pos+1]) {
			lx.pos++
			continue
		}
		break
	}
	text := lx.src[start+1 : lx.pos]
	if isTime {
		if _, err := ParseTime(text[1:]); err != nil {
			return lx.errorf(start, lx.src[start:lx.pos], "invalid time literal")
		}
		lx.emit(tokTime, text[1:], start)
		return nil
	}
	if strings.Contains(text, "T") {
		dt := strings.TrimSuffix(text, "T")
		if _, err := ParseDateTime(dt); err != nil {
			return lx.errorf(start, lx.src[start:lx.pos], "invalid dateTime literal")
		}
		lx.emit(tokDateTime, dt, start)
		return nil
	}
	if _, err := ParseDate(text); err != nil {
		return lx.errorf(start, lx.src[start:lx.pos], "invalid date literal")
	}
	lx.emit(tokDate, text, start)
	return nil
}
