package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Precision is how much of a date, dateTime or time value was given.
// Seconds and fractions of a second form one precision for comparison,
// as FHIRPath requires, but Millisecond is kept so values print as read.
type Precision uint8

// Precisions from coarsest to finest.
const (
	PrecisionYear Precision = iota + 1
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
	PrecisionMillisecond
)

// Date is a FHIR date or FHIRPath Date: a year, optionally with a month
// and a day.
type Date struct {
	Year, Month, Day int
	Precision        Precision
}

// DateTime is a FHIR dateTime or instant, or a FHIRPath DateTime. Fields
// finer than Precision are zero. Offset is in seconds east of UTC and is
// meaningful only when HasZone is true.
type DateTime struct {
	Year, Month, Day                 int
	Hour, Minute, Second, Nanosecond int
	Precision                        Precision
	HasZone                          bool
	Offset                           int
}

// Time is a FHIR time or FHIRPath Time: a time of day without a zone.
type Time struct {
	Hour, Minute, Second, Nanosecond int
	Precision                        Precision
}

// ParseDate reads YYYY, YYYY-MM or YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	d, rest, err := parseDateParts(s)
	if err != nil {
		return Date{}, err
	}
	if rest != "" {
		return Date{}, fmt.Errorf("invalid date %q: unexpected %q", s, rest)
	}
	return d, nil
}

func parseDateParts(s string) (Date, string, error) {
	var d Date
	year, ok := fixedDigits(s, 4)
	if !ok {
		return d, "", fmt.Errorf("invalid date %q: expected a four-digit year", s)
	}
	d.Year, d.Precision = year, PrecisionYear
	s = s[4:]
	if !strings.HasPrefix(s, "-") {
		return d, s, nil
	}
	month, ok := fixedDigits(s[1:], 2)
	if !ok || month < 1 || month > 12 {
		return d, "", fmt.Errorf("invalid date: month in %q", s)
	}
	d.Month, d.Precision = month, PrecisionMonth
	s = s[3:]
	if !strings.HasPrefix(s, "-") {
		return d, s, nil
	}
	day, ok := fixedDigits(s[1:], 2)
	if !ok || day < 1 || day > daysIn(d.Year, d.Month) {
		return d, "", fmt.Errorf("invalid date: day in %q", s)
	}
	d.Day, d.Precision = day, PrecisionDay
	return d, s[3:], nil
}

// ParseDateTime reads a FHIR dateTime or instant. FHIRPath's partial
// forms are accepted too: a time part of only the hour ("2015-02-04T14")
// and a time part without a zone.
func ParseDateTime(s string) (DateTime, error) {
	d, rest, err := parseDateParts(s)
	if err != nil {
		return DateTime{}, err
	}
	dt := DateTime{Year: d.Year, Month: d.Month, Day: d.Day, Precision: d.Precision}
	if rest == "" {
		return dt, nil
	}
	if d.Precision != PrecisionDay || rest[0] != 'T' {
		return DateTime{}, fmt.Errorf("invalid dateTime %q", s)
	}
	t, rest, err := parseTimeParts(rest[1:])
	if err != nil {
		return DateTime{}, fmt.Errorf("invalid dateTime %q: %w", s, err)
	}
	dt.Hour, dt.Minute, dt.Second, dt.Nanosecond, dt.Precision = t.Hour, t.Minute, t.Second, t.Nanosecond, t.Precision
	if rest == "" {
		return dt, nil
	}
	offset, err := parseZone(rest)
	if err != nil {
		return DateTime{}, fmt.Errorf("invalid dateTime %q: %w", s, err)
	}
	dt.HasZone, dt.Offset = true, offset
	return dt, nil
}

// ParseTime reads hh, hh:mm, hh:mm:ss or hh:mm:ss.fff. A zone is not
// allowed: FHIR time values are times of day.
func ParseTime(s string) (Time, error) {
	t, rest, err := parseTimeParts(s)
	if err != nil {
		return Time{}, err
	}
	if rest != "" {
		return Time{}, fmt.Errorf("invalid time %q: unexpected %q", s, rest)
	}
	return t, nil
}

func parseTimeParts(s string) (Time, string, error) {
	var t Time
	hour, ok := fixedDigits(s, 2)
	if !ok || hour > 23 {
		return t, "", fmt.Errorf("invalid hour in %q", s)
	}
	t.Hour, t.Precision = hour, PrecisionHour

	s = s[2:]
	if !strings.HasPrefix(s, ":") {
		return t, s, nil
	}
	minute, ok := fixedDigits(s[1:], 2)
	if !ok || minute > 59 {
		return t, "", fmt.Errorf("invalid minute in %q", s)
	}
	t.Minute, t.Precision = minute, PrecisionMinute
	s = s[3:]
	if !strings.HasPrefix(s, ":") {
		return t, s, nil
	}
	second, ok := fixedDigits(s[1:], 2)
	if !ok || second > 60 {
		return t, "", fmt.Errorf("invalid second in %q", s)
	}
	t.Second, t.Precision = second, PrecisionSecond

	s = s[3:]
	if !strings.HasPrefix(s, ".") {
		return t, s, nil
	}
	n := 1
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n == 1 {
		return t, "", fmt.Errorf("invalid fraction of a second in %q", s)
	}
	frac := s[1:n]
	if len(frac) > 9 {
		frac = frac[:9]
	}
	nanos, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
	t.Nanosecond, t.Precision = nanos, PrecisionMillisecond
	return t, s[n:], nil
}

func parseZone(s string) (int, error) {
	if s == "Z" {
		return 0, nil
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, fmt.Errorf("invalid time zone %q", s)
	}
	h, ok1 := fixedDigits(s[1:], 2)
	m, ok2 := fixedDigits(s[4:], 2)
	if !ok1 || !ok2 || h > 14 || m > 59 {
		return 0, fmt.Errorf("invalid time zone %q", s)
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}

func fixedDigits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := range n {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String returns the FHIR lexical form at the value's precision.
func (d Date) String() string {
	switch d.Precision {
	case PrecisionYear:
		return fmt.Sprintf("%04d", d.Year)
	case PrecisionMonth:
		return fmt.Sprintf("%04d-%02d", d.Year, d.Month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// DateTime returns the date as a DateTime of the same precision.
func (d Date) DateTime() DateTime {
	return DateTime{Year: d.Year, Month: d.Month, Day: d.Day, Precision: d.Precision}
}

// Range returns the first and last instant that the date covers, taking
// the date as a UTC calendar date.
func (d Date) Range() (low, high time.Time) {
	return d.DateTime().Range()
}

// String returns the FHIR lexical form at the value's precision; an
// hour-only value prints as FHIRPath writes it ("2015-02-04T14").
func (dt DateTime) String() string {
	var b strings.Builder
	b.WriteString(Date{Year: dt.Year, Month: dt.Month, Day: dt.Day, Precision: min(dt.Precision, PrecisionDay)}.String())
	if dt.Precision <= PrecisionDay {
		return b.String()
	}
	b.WriteByte('T')
	b.WriteString(Time{Hour: dt.Hour, Minute: dt.Minute, Second: dt.Second, Nanosecond: dt.Nanosecond, Precision: dt.Precision}.String())
	if dt.HasZone {
		b.WriteString(formatZone(dt.Offset))
	}
	return b.String()
}

func formatZone(offset int) string {
	if offset == 0 {
		return "Z"
	}
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	return fmt.Sprintf("%c%02d:%02d", sign, offset/3600, offset%3600/60)
}

// Date returns the date part, at most day precision.
func (dt DateTime) Date() Date {
	return Date{Year: dt.Year, Month: dt.Month, Day: dt.Day, Precision: min(dt.Precision, PrecisionDay)}
}

// location returns the fixed zone of the value, UTC when it has none.
func (dt DateTime) location() *time.Location {
	if !dt.HasZone || dt.Offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", dt.Offset)
}

// Time returns the instant at the start of the value's range.
func (dt DateTime) Time() time.Time {
	month, day := max(dt.Month, 1), max(dt.Day, 1)
	return time.Date(dt.Year, time.Month(month), day, dt.Hour, dt.Minute, dt.Second, dt.Nanosecond, dt.location())
}

// Range returns the first and last instant, in UTC, that the value
// covers: 1970 covers the whole year, 2020-03-04T10:15 a whole minute. A
// value without a zone is taken as UTC.
func (dt DateTime) Range() (low, high time.Time) {
	low = dt.Time()
	switch dt.Precision {
	case PrecisionYear:
		high = low.AddDate(1, 0, 0)
	case PrecisionMonth:
		high = low.AddDate(0, 1, 0)
	case PrecisionDay:
		high = low.AddDate(0, 0, 1)
	case PrecisionHour:
		high = low.Add(time.Hour)
	case PrecisionMinute:
		high = low.Add(time.Minute)
	case PrecisionSecond:
		high = low.Add(time.Second)
	default:
		high = low.Add(time.Millisecond)
	}
	return low.UTC(), high.Add(-time.Nanosecond).UTC()
}

// String returns hh, hh:mm, hh:mm:ss or hh:mm:ss.fff by precision.
func (t Time) String() string {
	switch t.Precision {
	case PrecisionHour:
		return fmt.Sprintf("%02d", t.Hour)
	case PrecisionMinute:
		return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute)
	case PrecisionSecond:
		return fmt.Sprintf("%02d:%02d:%02d", t.Hour, t.Minute, t.Second)
	}
	frac := fmt.Sprintf("%09d", t.Nanosecond)
	frac = strings.TrimRight(frac, "0")
	if len(frac) < 3 {
		frac += strings.Repeat("0", 3-len(frac))
	}
	return fmt.Sprintf("%02d:%02d:%02d.%s", t.Hour, t.Minute, t.Second, frac)
}

// normalized returns the value shifted to UTC when it has a zone and a
// time part, so that fields compare directly.
func (dt DateTime) normalized() DateTime {
	if !dt.HasZone || dt.Precision < PrecisionHour || dt.Offset == 0 {
		return dt
	}
	u := dt.Time().UTC()
	n := dt
	n.Year, n.Month, n.Day = u.Year(), int(u.Month()), u.Day()
	n.Hour, n.Minute, n.Second, n.Nanosecond = u.Hour(), u.Minute(), u.Second(), u.Nanosecond()
	n.Offset = 0
	return n
}

// comparablePrecision merges seconds and milliseconds, which FHIRPath
// compares as one decimal number of seconds.
func comparablePrecision(p Precision) Precision {
	if p == PrecisionMillisecond {
		return PrecisionSecond
	}
	return p
}

// compareDateTimes compares two values field by field down to the finer
// of the two precisions. ok is false when the values agree on every field
// they share but differ in precision, so that the order is unknown.
func compareDateTimes(a, b DateTime) (cmp int, ok bool) {
	if a.HasZone != b.HasZone && a.Precision >= PrecisionHour && b.Precision >= PrecisionHour {
		// Without a zone the instant is unknown, so the order is too.
		return 0, false
	}
	a, b = a.normalized(), b.normalized()
	pa, pb := comparablePrecision(a.Precision), comparablePrecision(b.Precision)
	fa := [...]int{a.Year, a.Month, a.Day, a.Hour, a.Minute, a.Second*1e9 + a.Nanosecond}
	fb := [...]int{b.Year, b.Month, b.Day, b.Hour, b.Minute, b.Second*1e9 + b.Nanosecond}
	for i := range int(min(pa, pb)) {
		if fa[i] != fb[i] {
			if fa[i] < fb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if pa != pb {
		return 0, false
	}
	return 0, true
}

func compareTimes(a, b Time) (int, bool) {
	da := DateTime{Year: 2000, Month: 1, Day: 1, Hour: a.Hour, Minute: a.Minute, Second: a.Second, Nanosecond: a.Nanosecond, Precision: a.Precision}
	db := DateTime{Year: 2000, Month: 1, Day: 1, Hour: b.Hour, Minute: b.Minute, Second: b.Second, Nanosecond: b.Nanosecond, Precision: b.Precision}
	return compareDateTimes(da, db)
}

// addToDateTime adds a calendar duration. Years and months keep the day
// when the target month has it and otherwise take the month's last day.
// The amount is truncated to a whole number of the value's own precision.
func addToDateTime(dt DateTime, amount int64, unit string) (DateTime, error) {
	t := dt.Time()
	switch unit {
	case "year":
		t = addMonthsClamped(t, int(amount)*12)
	case "month":
		t = addMonthsClamped(t, int(amount))
	case "week":
		t = t.AddDate(0, 0, int(amount)*7)
	case "day":
		t = t.AddDate(0, 0, int(amount))
	case "hour":
		t = t.Add(time.Duration(amount) * time.Hour)
	case "minute":
		t = t.Add(time.Duration(amount) * time.Minute)
	case "second":
		t = t.Add(time.Duration(amount) * time.Second)
	case "millisecond":
		t = t.Add(time.Duration(amount) * time.Millisecond)
	default:
		return dt, fmt.Errorf("cannot add a quantity in %q to a date", unit)
	}
	r := dt
	r.Year, r.Month, r.Day = t.Year(), int(t.Month()), t.Day()
	r.Hour, r.Minute, r.Second, r.Nanosecond = t.Hour(), t.Minute(), t.Second(), t.Nanosecond()
	truncateToPrecision(&r)
	return r, nil
}

func addMonthsClamped(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	total := y*12 + int(m) - 1 + months
	ny, nm := total/12, total%12+1
	if nm <= 0 {
		nm += 12
		ny--
	}
	d = min(d, daysIn(ny, nm))
	return time.Date(ny, time.Month(nm), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

func truncateToPrecision(dt *DateTime) {
	if dt.Precision < PrecisionMillisecond {
		dt.Nanosecond = 0
	}
	if dt.Precision < PrecisionSecond {
		dt.Second = 0
	}
	if dt.Precision < PrecisionMinute {
		dt.Minute = 0
	}
	if dt.Precision < PrecisionHour {
		dt.Hour = 0
	}
	if dt.Precision < PrecisionDay {
		dt.Day = 0
	}
	if dt.Precision < PrecisionMonth {
		dt.Month = 0
	}
}

// dateTimeFromTime turns an instant into a DateTime at millisecond
// precision in the instant's own zone.
func dateTimeFromTime(t time.Time) DateTime {
	_, off := t.Zone()
	return DateTime{
		Year: t.Year(), Month: int(t.Month()), Day: t.Day(),
		Hour: t.Hour(), Minute: t.Minute(), Second: t.Second(), Nanosecond: t.Nanosecond() / 1e6 * 1e6,
		Precision: PrecisionMillisecond, HasZone: true, Offset: off,
	}
}
