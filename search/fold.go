package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// letterFolds maps letters that carry their mark in the letter itself, so
// that canonical decomposition leaves them whole, to the base letters a
// searcher types.
var letterFolds = map[rune]string{
	'ø': "o", 'Ø': "o",
	'ł': "l", 'Ł': "l",
	'đ': "d", 'Đ': "d",
	'ð': "d", 'Ð': "d",
	'ħ': "h", 'Ħ': "h",
	'ı': "i",
	'æ': "ae", 'Æ': "ae",
	'œ': "oe", 'Œ': "oe",
	'þ': "th", 'Þ': "th",
}

// Fold returns s accent- and case-folded, the form in which string search
// parameters are indexed and compared: compatibility decomposition (NFKD),
// combining marks removed, letters with a built-in stroke mapped to their
// base letter, then Unicode case folding. "Müller", "MULLER" and "müller"
// all fold to "muller". Query parsing must fold search values with this
// same function.
func Fold(s string) string {
	if isPlainASCII(s) {
		return strings.ToLower(s)
	}

	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if folded, ok := letterFolds[r]; ok {
			b.WriteString(folded)
			continue
		}
		b.WriteRune(r)
	}
	// A cases.Caser keeps state between calls, so each call makes its own.
	return cases.Fold().String(b.String())
}

// isPlainASCII reports whether s has only ASCII characters, for which
// folding is lower-casing.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
