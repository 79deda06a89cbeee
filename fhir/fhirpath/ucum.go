package fhirpath

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
)

// UCUMSystem is the code system URL of UCUM units.
const UCUMSystem = "http://unitsofmeasure.org"

// dimension counts the powers of the base quantities of a unit: length,
// mass, time, current, temperature, amount of substance, luminous
// intensity, and arbitrary (international) units.
type dimension [8]int8

// ucumUnit is a unit reduced to a factor of the base units.
type ucumUnit struct {
	factor *big.Rat
	dim    dimension
}

// ucumAtom is a unit symbol from the subset of UCUM that the engine
// converts: SI base and derived units, common clinical units, and the
// customary units seen in US data. Special units with an offset (Cel,
// [degF]) and logarithmic units are not in it.
type ucumAtom struct {
	factor    string
	dim       dimension
	prefixing bool // whether metric prefixes apply
}

var ucumAtoms = map[string]ucumAtom{
	"m":        {"1", dimension{1}, true},
	"g":        {"1", dimension{0, 1}, true},
	"s":        {"1", dimension{0, 0, 1}, true},
	"A":        {"1", dimension{0, 0, 0, 1}, true},
	"K":        {"1", dimension{0, 0, 0, 0, 1}, true},
	"mol":      {"1", dimension{0, 0, 0, 0, 0, 1}, true},
	"cd":       {"1", dimension{0, 0, 0, 0, 0, 0, 1}, true},
	"eq":       {"1", dimension{0, 0, 0, 0, 0, 1}, true},
	"osm":      {"1", dimension{0, 0, 0, 0, 0, 1}, true},
	"[iU]":     {"1", dimension{0, 0, 0, 0, 0, 0, 0, 1}, true},
	"[IU]":     {"1", dimension{0, 0, 0, 0, 0, 0, 0, 1}, true},
	"U":        {"1/60000000", dimension{0, 0, -1, 0, 0, 1}, true}, // umol/min
	"kat":      {"1", dimension{0, 0, -1, 0, 0, 1}, true},
	"L":        {"1/1000", dimension{3}, true},
	"l":        {"1/1000", dimension{3}, true},
	"min":      {"60", dimension{0, 0, 1}, false},
	"h":        {"3600", dimension{0, 0, 1}, false},
	"d":        {"86400", dimension{0, 0, 1}, false},
	"wk":       {"604800", dimension{0, 0, 1}, false},
	"mo":       {"2629800", dimension{0, 0, 1}, false},  // mean Julian month
	"a":        {"31557600", dimension{0, 0, 1}, false}, // Julian year
	"Hz":       {"1", dimension{0, 0, -1}, true},
	"N":        {"1000", dimension{1, 1, -2}, true},
	"Pa":       {"1000", dimension{-1, 1, -2}, true},
	"bar":      {"100000000", dimension{-1, 1, -2}, true},
	"J":        {"1000", dimension{2, 1, -2}, true},
	"W":        {"1000", dimension{2, 1, -3}, true},
	"cal":      {"4184", dimension{2, 1, -2}, true},
	"t":        {"1000000", dimension{0, 1}, true},
	"%":        {"1/100", dimension{}, false},
	"[ppm]":    {"1/1000000", dimension{}, false},
	"[in_i]":   {"127/5000", dimension{1}, false},
	"[ft_i]":   {"381/1250", dimension{1}, false},
	"[yd_i]":   {"1143/1250", dimension{1}, false},
	"[mi_i]":   {"201168/125", dimension{1}, false},
	"[lb_av]":  {"45359237/100000", dimension{0, 1}, false},
	"[oz_av]":  {"45359237/1600000", dimension{0, 1}, false},
	"[foz_us]": {"473176473/16000000000000", dimension{3}, false},
	"[pt_us]":  {"473176473/1000000000000", dimension{3}, false},
	"mm[Hg]":   {"133322", dimension{-1, 1, -2}, false},
	"cm[H2O]":  {"98066.5", dimension{-1, 1, -2}, false},
	"[drp]":    {"1/20000000", dimension{3}, false},
}

var ucumPrefixes = map[string]string{
	"Y": "1000000000000000000000000", "Z": "1000000000000000000000", "E": "1000000000000000000",
	"P": "1000000000000000", "T": "1000000000000", "G": "1000000000", "M": "1000000",
	"k": "1000", "h": "100", "da": "10", "d": "1/10", "c": "1/100", "m": "1/1000",
	"u": "1/1000000", "n": "1/1000000000", "p": "1/1000000000000", "f": "1/1000000000000000",
	"a": "1/1000000000000000000",
}

var ucumCache sync.Map // unit text -> *ucumUnit or error

// parseUCUM reduces a UCUM unit expression to base units. It covers
// products and quotients (".", "/"), integer exponents, parentheses,
// ten-powers ("10*3"), plain integer factors, annotations ("{cells}")
// and the atoms in ucumAtoms with metric prefixes.
func parseUCUM(text string) (*ucumUnit, error) {
	if v, ok := ucumCache.Load(text); ok {
		if u, ok := v.(*ucumUnit); ok {
			return u, nil
		}
		return nil, v.(error)
	}
	p := &ucumParser{src: text}
	u, err := p.term()
	if err == nil && p.pos != len(p.src) {
		err = fmt.Errorf("unsupported UCUM unit %q at offset %d", text, p.pos)
	}
	if err != nil {
		ucumCache.Store(text, err)
		return nil, err
	}
	ucumCache.Store(text, u)
	return u, nil
}

type ucumParser struct {
	src string
	pos int
}

func (p *ucumParser) term() (*ucumUnit, error) {
	result := &ucumUnit{factor: big.NewRat(1, 1)}
	op := byte('.')
	if strings.HasPrefix(p.src[p.pos:], "/") {
		op = '/'
		p.pos++
	}
	for {
		c, err := p.component()
		if err != nil {
			return nil, err
		}
		result = combineUnits(result, c, op == '/')
		if p.pos >= len(p.src) || (p.src[p.pos] != '.' && p.src[p.pos] != '/') {
			return result, nil
		}
		op = p.src[p.pos]
		p.pos++
	}
}

func combineUnits(a, b *ucumUnit, divide bool) *ucumUnit {
	r := &ucumUnit{factor: new(big.Rat)}
	if divide {
		r.factor.Quo(a.factor, b.factor)
	} else {
		r.factor.Mul(a.factor, b.factor)
	}
	for i := range r.dim {
		if divide {
			r.dim[i] = a.dim[i] - b.dim[i]
		} else {
			r.dim[i] = a.dim[i] + b.dim[i]
		}
	}
	return r
}

func (p *ucumParser) component() (*ucumUnit, error) {
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("unsupported UCUM unit %q: missing unit at end", p.src)
	}
	if p.src[p.pos] == '{' {
		end := strings.IndexByte(p.src[p.pos:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unsupported UCUM unit %q: unterminated annotation", p.src)
		}
		p.pos += end + 1
		return &ucumUnit{factor: big.NewRat(1, 1)}, nil
	}
	if p.src[p.pos] == '(' {
		p.pos++
		u, err := p.term()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, fmt.Errorf("unsupported UCUM unit %q: missing ')'", p.src)
		}
		p.pos++
		return p.exponent(u)
	}
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != '.' && p.src[p.pos] != '/' && p.src[p.pos] != '(' && p.src[p.pos] != ')' && p.src[p.pos] != '{' {
		if p.src[p.pos] == '[' {
			end := strings.IndexByte(p.src[p.pos:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unsupported UCUM unit %q: missing ']'", p.src)
			}
			p.pos += end + 1
			continue
		}
		p.pos++
	}
	symbol := p.src[start:p.pos]
	// An annotation directly after a unit ("mL{total}") is ignored.
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		if _, err := p.component(); err != nil {
			return nil, err
		}
	}
	return parseUCUMSymbol(symbol, p.src)
}

func (p *ucumParser) exponent(u *ucumUnit) (*ucumUnit, error) {
	start := p.pos
	if p.pos < len(p.src) && (p.src[p.pos] == '-' || p.src[p.pos] == '+') {
		p.pos++
	}
	for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return u, nil
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil || n > 20 || n < -20 {
		return nil, fmt.Errorf("unsupported UCUM exponent in %q", p.src)
	}
	return powUnit(u, n), nil
}

func powUnit(u *ucumUnit, n int) *ucumUnit {
	r := &ucumUnit{factor: big.NewRat(1, 1)}
	for range abs(n) {
		r.factor.Mul(r.factor, u.factor)
	}
	if n < 0 {
		r.factor.Inv(r.factor)
	}
	for i := range r.dim {
		r.dim[i] = u.dim[i] * int8(n) // #nosec G115 -- every caller rejects exponents outside -30..30 before calling powUnit
	}
	return r
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// parseUCUMSymbol reads one unit symbol with an optional trailing
// integer exponent ("m2", "s-1") or a ten-power ("10*3", "10^-6").
func parseUCUMSymbol(symbol, full string) (*ucumUnit, error) {
	if symbol == "" {
		return nil, fmt.Errorf("unsupported UCUM unit %q: empty unit", full)
	}
	if rest, ok := strings.CutPrefix(symbol, "10*"); ok {
		return tenPower(rest, full)
	}
	if rest, ok := strings.CutPrefix(symbol, "10^"); ok {
		return tenPower(rest, full)
	}
	if n, err := strconv.Atoi(symbol); err == nil {
		if n <= 0 {
			return nil, fmt.Errorf("unsupported UCUM unit %q: factor %d", full, n)
		}
		return &ucumUnit{factor: big.NewRat(int64(n), 1)}, nil
	}
	i := len(symbol)
	for i > 0 && isDigit(symbol[i-1]) {
		i--
	}
	if i > 0 && i < len(symbol) && (symbol[i-1] == '-' || symbol[i-1] == '+') {
		i--
	}
	base, expText := symbol[:i], symbol[i:]
	u, err := lookupUCUMAtom(base, full)
	if err != nil {
		return nil, err
	}
	if expText == "" {
		return u, nil
	}
	n, err := strconv.Atoi(expText)
	if err != nil || n > 20 || n < -20 {
		return nil, fmt.Errorf("unsupported UCUM exponent in %q", full)
	}
	return powUnit(u, n), nil
}

func tenPower(exp, full string) (*ucumUnit, error) {
	n, err := strconv.Atoi(exp)
	if err != nil || n > 30 || n < -30 {
		return nil, fmt.Errorf("unsupported UCUM ten-power in %q", full)
	}
	ten := &ucumUnit{factor: big.NewRat(10, 1)}
	return powUnit(ten, n), nil
}

func lookupUCUMAtom(symbol, full string) (*ucumUnit, error) {
	if a, ok := ucumAtoms[symbol]; ok {
		return atomUnit(a, "1"), nil
	}
	for _, plen := range []int{2, 1} {
		if len(symbol) <= plen {
			continue
		}
		prefix, ok := ucumPrefixes[symbol[:plen]]
		if !ok {
			continue
		}
		if a, ok := ucumAtoms[symbol[plen:]]; ok && a.prefixing {
			return atomUnit(a, prefix), nil
		}
	}
	if symbol == "1" {
		return &ucumUnit{factor: big.NewRat(1, 1)}, nil
	}
	return nil, fmt.Errorf("unsupported UCUM unit %q: unknown symbol %q", full, symbol)
}

func atomUnit(a ucumAtom, prefix string) *ucumUnit {
	f, _ := new(big.Rat).SetString(a.factor)
	p, _ := new(big.Rat).SetString(prefix)
	return &ucumUnit{factor: f.Mul(f, p), dim: a.dim}
}
