package fhirpath

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number that keeps the precision it was
// written with, so 1.0 and 1 compare equal but print differently. The
// value is Coefficient × 10^-Scale. A Decimal is immutable once made.
type Decimal struct {
	coef  big.Int
	scale int32
	// negativeZero makes a zero print as "-0.0"; lowBoundary() of a small
	// negative number produces such a value.
	negativeZero bool
}

// divisionScale is the minimum number of fraction digits kept by "/" when
// the quotient does not terminate sooner.
const divisionScale = 8

// maxDecimalScale bounds the digits after the point so that a crafted
// literal cannot make arithmetic allocate without limit.
const maxDecimalScale = 1000

// ParseDecimal reads a FHIR decimal or JSON number, including an
// exponent ("1.5e3"), keeping the number of fraction digits written.
func ParseDecimal(s string) (*Decimal, error) {
	text := s
	exp := 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(text[i+1:])
		if err != nil || e > maxDecimalScale || e < -maxDecimalScale {
			return nil, fmt.Errorf("invalid decimal %q", s)
		}
		exp = e
		text = text[:i]
	}

	neg := false
	switch {
	case strings.HasPrefix(text, "-"):
		neg = true
		text = text[1:]
	case strings.HasPrefix(text, "+"):
		text = text[1:]
	}
	intPart, frac, hasPoint := strings.Cut(text, ".")
	if intPart == "" || (hasPoint && frac == "") || len(frac) > maxDecimalScale {
		return nil, fmt.Errorf("invalid decimal %q", s)
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("invalid decimal %q", s)
		}
	}

	d := &Decimal{}
	if _, ok := d.coef.SetString(intPart+frac, 10); !ok {
		return nil, fmt.Errorf("invalid decimal %q", s)
	}
	scale := len(frac) - exp
	if scale < 0 {
		d.coef.Mul(&d.coef, pow10(-scale))
		scale = 0
	}
	d.scale = int32(scale)
	if neg {
		d.coef.Neg(&d.coef)
	}
	return d, nil
}

// DecimalFromInt returns the integer as a Decimal with no fraction digits.
func DecimalFromInt(v int64) *Decimal {
	d := &Decimal{}
	d.coef.SetInt64(v)
	return d
}

// decimalFromFloat converts a float64 result of a math function, keeping
// at most 15 significant digits and dropping trailing zeros.
func decimalFromFloat(f float64) (*Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	d, err := ParseDecimal(strconv.FormatFloat(f, 'f', -1, 64))
	if err != nil {
		return nil, false
	}
	if d.scale > 15 {
		d = d.Round(15)
	}
	return d.trimZeros(), true
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// Scale returns the number of digits after the decimal point.
func (d *Decimal) Scale() int { return int(d.scale) }

// Sign returns -1, 0 or +1.
func (d *Decimal) Sign() int { return d.coef.Sign() }

// String returns the plain decimal form with the scale it carries.
func (d *Decimal) String() string {
	s := d.coef.String()
	if d.scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if n := int(d.scale) + 1 - len(s); n > 0 {
		s = strings.Repeat("0", n) + s
	}
	s = s[:len(s)-int(d.scale)] + "." + s[len(s)-int(d.scale):]
	if neg || (d.negativeZero && d.coef.Sign() == 0) {
		s = "-" + s
	}
	return s
}

// Float64 returns the nearest float64.
func (d *Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// Rat returns the exact value as a rational number.
func (d *Decimal) Rat() *big.Rat {
	r := new(big.Rat).SetInt(&d.coef)
	if d.scale > 0 {
		r.Quo(r, new(big.Rat).SetInt(pow10(int(d.scale))))
	}
	return r
}

// Int64 returns the value when it is a whole number that fits an int64.
func (d *Decimal) Int64() (int64, bool) {
	q, r := new(big.Int).QuoRem(&d.coef, pow10(int(d.scale)), new(big.Int))
	if r.Sign() != 0 || !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

func (d *Decimal) rescale(scale int32) *big.Int {
	if scale == d.scale {
		return &d.coef
	}
	return new(big.Int).Mul(&d.coef, pow10(int(scale-d.scale)))
}

// Cmp compares the values, ignoring precision: 1.0 and 1 are equal.
func (d *Decimal) Cmp(o *Decimal) int {
	s := max(d.scale, o.scale)
	return d.rescale(s).Cmp(o.rescale(s))
}

// Add returns d+o with the larger scale of the two.
func (d *Decimal) Add(o *Decimal) *Decimal {
	s := max(d.scale, o.scale)
	r := &Decimal{scale: s}
	r.coef.Add(d.rescale(s), o.rescale(s))
	return r
}

// Sub returns d-o with the larger scale of the two.
func (d *Decimal) Sub(o *Decimal) *Decimal {
	s := max(d.scale, o.scale)
	r := &Decimal{scale: s}
	r.coef.Sub(d.rescale(s), o.rescale(s))
	return r
}

// Mul returns d×o; its scale is the sum of the scales.
func (d *Decimal) Mul(o *Decimal) *Decimal {
	r := &Decimal{scale: d.scale + o.scale}
	r.coef.Mul(&d.coef, &o.coef)
	if r.scale > maxDecimalScale {
		return r.Round(maxDecimalScale)
	}
	return r
}

// Neg returns -d.
func (d *Decimal) Neg() *Decimal {
	r := &Decimal{scale: d.scale}
	r.coef.Neg(&d.coef)
	return r
}

// Abs returns |d|.
func (d *Decimal) Abs() *Decimal {
	r := &Decimal{scale: d.scale}
	r.coef.Abs(&d.coef)
	return r
}

// Quo returns d/o rounded half away from zero at divisionScale fraction
// digits (or the operands' scale when larger), with trailing zeros
// dropped. The second result is false when o is zero.
func (d *Decimal) Quo(o *Decimal) (*Decimal, bool) {
	if o.coef.Sign() == 0 {
		return nil, false
	}
	scale := max(int32(divisionScale), d.scale, o.scale)
	num := new(big.Int).Mul(&d.coef, pow10(int(scale+o.scale-d.scale)+1))
	q := new(big.Int).Quo(num, &o.coef)
	r := &Decimal{scale: scale + 1}
	r.coef.Set(q)
	return r.Round(int(scale)).trimZeros(), true
}

// QuoInt returns the truncated integer quotient, for the div operator.
func (d *Decimal) QuoInt(o *Decimal) (*Decimal, bool) {
	if o.coef.Sign() == 0 {
		return nil, false
	}
	s := max(d.scale, o.scale)
	r := &Decimal{}
	r.coef.Quo(d.rescale(s), o.rescale(s))
	return r, true
}

// Mod returns the remainder of truncated division, for the mod operator.
func (d *Decimal) Mod(o *Decimal) (*Decimal, bool) {
	if o.coef.Sign() == 0 {
		return nil, false
	}
	s := max(d.scale, o.scale)
	r := &Decimal{scale: s}
	r.coef.Rem(d.rescale(s), o.rescale(s))
	return r, true
}

// Round rounds half away from zero to the given number of fraction digits.
func (d *Decimal) Round(digits int) *Decimal {
	if digits < 0 {
		digits = 0
	}
	if int32(digits) >= d.scale {
		return d
	}
	drop := pow10(int(d.scale) - digits)
	q, rem := new(big.Int).QuoRem(&d.coef, drop, new(big.Int))
	rem.Abs(rem).Mul(rem, big.NewInt(2))
	if rem.Cmp(drop) >= 0 {
		if d.coef.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	r := &Decimal{scale: int32(digits)}
	r.coef.Set(q)
	return r
}

// Truncate drops the fraction digits, rounding toward zero.
func (d *Decimal) Truncate() *Decimal {
	r := &Decimal{}
	r.coef.Quo(&d.coef, pow10(int(d.scale)))
	return r
}

// Floor returns the largest whole number not greater than d.
func (d *Decimal) Floor() *Decimal {
	t := d.Truncate()
	if d.coef.Sign() < 0 && t.Cmp(d) != 0 {
		t.coef.Sub(&t.coef, big.NewInt(1))
	}
	return t
}

// Ceiling returns the smallest whole number not less than d.
func (d *Decimal) Ceiling() *Decimal {
	t := d.Truncate()
	if d.coef.Sign() > 0 && t.Cmp(d) != 0 {
		t.coef.Add(&t.coef, big.NewInt(1))
	}
	return t
}

func (d *Decimal) trimZeros() *Decimal {
	if d.scale == 0 {
		return d
	}
	r := &Decimal{scale: d.scale}
	r.coef.Set(&d.coef)
	ten := big.NewInt(10)
	m := new(big.Int)
	for r.scale > 0 {
		q, rem := new(big.Int).QuoRem(&r.coef, ten, m)
		if rem.Sign() != 0 {
			break
		}
		r.coef.Set(q)
		r.scale--
	}
	return r
}

// equivalentDecimals implements equivalence (~) of numbers: both sides
// are rounded to the smaller of their scales before comparing.
func equivalentDecimals(a, b *Decimal) bool {
	p := int(min(a.scale, b.scale))
	return a.Round(p).Cmp(b.Round(p)) == 0
}
