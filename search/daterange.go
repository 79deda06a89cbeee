// Package search turns FHIR search parameters into plans that a storage
// backend runs, and holds the value parsers that search and history share.
package search

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// dateTimePattern is the lexical form a date search value may take: the
// FHIR dateTime, with minutes allowed as a precision and fractional
// seconds of any length.
var dateTimePattern = regexp.MustCompile(
	`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)

// ParseDateRange parses a FHIR date, dateTime or instant and returns the
// closed range of instants it covers at its precision: 2024 covers the whole
// year, 2024-03-01T10:00 the whole minute. Values without a time zone are
// taken as UTC.
func ParseDateRange(value string) (low, high time.Time, err error) {
	m := dateTimePattern.FindStringSubmatch(value)
	if m == nil {
		return low, high, fmt.Errorf("%q is not a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm])", value)
	}
	if m[4] != "" && m[8] == "" && m[6] != "" {
		// A time to the second with no zone: the spec requires a zone on
		// dateTimes with a time, but search values omit it often enough
		// that UTC is the useful reading.
		m[8] = "Z"
	}

	year, _ := strconv.Atoi(m[1])
	month, day, hour, minute, second := 1, 1, 0, 0, 0
	nanos := 0
	var step func(time.Time) time.Time
	switch {
	case m[2] == "":
		step = func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	case m[3] == "":
		month, _ = strconv.Atoi(m[2])
		step = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	case m[4] == "":
		month, _ = strconv.Atoi(m[2])
		day, _ = strconv.Atoi(m[3])
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	default:
		month, _ = strconv.Atoi(m[2])
		day, _ = strconv.Atoi(m[3])
		hour, _ = strconv.Atoi(m[4])
		minute, _ = strconv.Atoi(m[5])
		step = func(t time.Time) time.Time { return t.Add(time.Minute) }
		if m[6] != "" {
			second, _ = strconv.Atoi(m[6])
			step = func(t time.Time) time.Time { return t.Add(time.Second) }
			if m[7] != "" {
				digits := m[7][1:]
				if len(digits) > 9 {
					digits = digits[:9]
				}
				unit := time.Second
				for range digits {
					unit /= 10
				}
				fraction, _ := strconv.Atoi(digits)
				nanos = fraction * int(unit)
				step = func(t time.Time) time.Time { return t.Add(unit) }
			}
		}
	}

	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59 {
		return low, high, fmt.Errorf("%q is not a valid date or time", value)
	}
	zone := time.UTC
	if m[8] != "" && m[8] != "Z" {
		offsetHours, _ := strconv.Atoi(m[8][1:3])
		offsetMinutes, _ := strconv.Atoi(m[8][4:6])
		if offsetHours > 14 || offsetMinutes > 59 {
			return low, high, fmt.Errorf("%q has an invalid time zone offset", value)
		}
		offset := offsetHours*3600 + offsetMinutes*60
		if m[8][0] == '-' {
			offset = -offset
		}
		zone = time.FixedZone(m[8], offset)
	}

	start := time.Date(year, time.Month(month), day, hour, minute, second, nanos, zone)
	if start.Day() != day {
		// time.Date normalises 2023-02-30 to March; FHIR rejects it.
		return low, high, fmt.Errorf("%q is not a valid date: day %d does not exist in that month", value, day)
	}
	low = start.UTC()
	high = step(start).UTC().Add(-time.Nanosecond)
	return low, high, nil
}

// prefixes are the comparison prefixes of ordered search values (number,
// date, quantity), http://hl7.org/fhir/R4/search.html#prefix.
var prefixes = map[string]bool{
	"eq": true, "ne": true, "gt": true, "lt": true, "ge": true,
	"le": true, "sa": true, "eb": true, "ap": true,
}

// splitPrefix separates a comparison prefix from an ordered value. A value
// that starts with two letters that are not a prefix is an error, because
// no number or date starts with a letter.
func splitPrefix(value string) (prefix, rest string, err error) {
	if len(value) >= 2 && isLetter(value[0]) && isLetter(value[1]) {
		if !prefixes[value[:2]] {
			return "", "", fmt.Errorf("%q has the unknown prefix %q; use one of eq, ne, gt, lt, ge, le, sa, eb, ap", value, value[:2])
		}
		return value[:2], value[2:], nil
	}
	return "eq", value, nil
}

func isLetter(b byte) bool {
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// ParseDateValue parses a date search value with its optional prefix
// (ge2024-01, lt2024-03-01T10:00:00Z) and returns the prefix, eq when there
// is none, and the closed UTC range the date covers at its precision.
func ParseDateValue(value string) (prefix string, low, high time.Time, err error) {
	prefix, rest, err := splitPrefix(value)
	if err != nil {
		return "", low, high, err
	}
	low, high, err = ParseDateRange(rest)
	if err != nil {
		return "", low, high, err
	}
	return prefix, low, high, nil
}
