package fhir

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Formats of the R4 primitive types (datatypes.html, "Primitive Types").
var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)
	codePattern    = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`)
	oidPattern     = regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`)
	uuidPattern    = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	decimalPattern = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	datePattern    = regexp.MustCompile(`^(-?[0-9]{4})(-([0-9]{2})(-([0-9]{2}))?)?$`)
	timePattern    = regexp.MustCompile(`^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?$`)
	zonePattern    = regexp.MustCompile(`^(Z|[+-]([0-9]{2}):([0-9]{2}))$`)
)

// explainPrimitive names the rule of R4 primitive type typeName that value
// breaks. jsonformat reports only that a value is not a valid date (or
// integer, ...); this repeats the check to tell the client why.
func explainPrimitive(typeName string, value any) string {
	if value == nil {
		return "null is not a value; omit the element or give it an extension in the _ property"
	}

	switch typeName {
	case "boolean":
		return "must be the JSON literal true or false, found " + jsonKind(value)
	case "integer":
		return explainInteger(value, "integer (32-bit)", -2147483648)
	case "unsignedInt":
		return explainInteger(value, "unsignedInt", 0)
	case "positiveInt":
		return explainInteger(value, "positiveInt", 1)
	case "decimal":
		number, ok := value.(json.Number)
		if !ok {
			return "must be a JSON number, found " + jsonKind(value)
		}
		if !decimalPattern.MatchString(string(number)) {
			return "not a decimal number"
		}
		return "not accepted as a decimal"
	}

	s, ok := value.(string)
	if !ok {
		return "must be a JSON string, found " + jsonKind(value)
	}
	if s == "" {
		return "must not be empty"
	}

	switch typeName {
	case "date", "dateTime", "instant":
		return explainDateTime(typeName, s)
	case "time":
		return explainTime(s)
	case "id":
		if len(s) > 64 {
			return fmt.Sprintf("is %d characters long; an id has at most 64", len(s))
		}
		return `must match [A-Za-z0-9\-\.]{1,64}: letters, digits, "-" and "." only`
	case "code":
		if !codePattern.MatchString(s) {
			return "must not have leading, trailing or repeated whitespace, nor any whitespace other than single spaces"
		}
	case "oid":
		if !oidPattern.MatchString(s) {
			return "must have the form urn:oid:1.2.3"
		}
	case "uuid":
		if !uuidPattern.MatchString(s) {
			return "must have the form urn:uuid: followed by a lower-case UUID"
		}
	case "uri", "url", "canonical":
		if _, err := url.Parse(s); err != nil {
			return "not a valid URI: " + err.Error()
		}
	case "base64Binary":
		if _, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return "not valid base64: " + err.Error()
		}
	}
	return "not a valid " + typeName
}

// wholeNumberPattern matches a JSON number without fraction or exponent.
var wholeNumberPattern = regexp.MustCompile(`^-?[0-9]+$`)

// explainInteger explains why value is not an integer of the type named
// typeName, whose range is min..2147483647.
func explainInteger(value any, typeName string, min int64) string {
	number, ok := value.(json.Number)
	if !ok {
		return "must be a JSON number, found " + jsonKind(value)
	}
	outOfRange := fmt.Sprintf("out of range for %s: must be between %d and 2147483647", typeName, min)
	if wholeNumberPattern.MatchString(string(number)) {
		n, err := strconv.ParseInt(string(number), 10, 64)
		if err != nil || n < min || n > 2147483647 {
			return outOfRange
		}
		return "not accepted as an integer"
	}
	if _, err := strconv.ParseFloat(string(number), 64); err == nil {
		return "must be a whole number without fraction or exponent"
	}
	return "not a number"
}

// explainDateTime checks a date, dateTime or instant piece by piece.
func explainDateTime(typeName, s string) string {
	datePart, rest, hasTime := strings.Cut(s, "T")

	m := datePattern.FindStringSubmatch(datePart)
	if m == nil {
		return "the date must have the form YYYY, YYYY-MM or YYYY-MM-DD"
	}
	year, _ := strconv.Atoi(m[1])
	if m[3] != "" {
		month, _ := strconv.Atoi(m[3])
		if month < 1 || month > 12 {
			return "month out of range"
		}
		if m[5] != "" {
			day, _ := strconv.Atoi(m[5])
			if day < 1 || day > daysIn(year, time.Month(month)) {
				return "day out of range"
			}
		}
	}

	switch {
	case typeName == "date" && hasTime:
		return "a date has no time of day; dateTime and instant do"
	case typeName == "instant" && (!hasTime || m[5] == ""):
		return "an instant needs a full date, a time with seconds and a time zone, such as 2020-01-31T09:30:00Z"
	case !hasTime:
		return "not a valid " + typeName
	case m[5] == "":
		return "a time of day needs a full date YYYY-MM-DD before the T"
	}

	clock, zone := splitZone(rest)
	if reason := explainClock(clock); reason != "" {
		return reason
	}
	if zone == "" {
		return "a " + typeName + " with a time of day must have a time zone: Z or +hh:mm or -hh:mm"
	}
	z := zonePattern.FindStringSubmatch(zone)
	if z == nil {
		return "the time zone must be Z or +hh:mm or -hh:mm"
	}
	hours, _ := strconv.Atoi(z[2])
	minutes, _ := strconv.Atoi(z[3])
	if z[1] != "Z" && (hours > 14 || minutes > 59 || hours == 14 && minutes > 0) {
		return "time-zone offset out of range -14:00..+14:00"
	}
	return "not a valid " + typeName
}

func explainTime(s string) string {
	if reason := explainClock(s); reason != "" {
		return reason
	}
	return "not a valid time"
}

// explainClock checks hh:mm:ss(.fff) and returns "" if it is fine.
func explainClock(s string) string {
	m := timePattern.FindStringSubmatch(s)
	if m == nil {
		return "the time must have the form hh:mm:ss, optionally with a fraction of a second"
	}
	hour, _ := strconv.Atoi(m[1])
	minute, _ := strconv.Atoi(m[2])
	second, _ := strconv.Atoi(m[3])
	switch {
	case hour > 23:
		return "hour out of range"
	case minute > 59:
		return "minute out of range"
	case second > 59:
		return "second out of range"
	}
	return ""
}

// splitZone splits "10:00:00+02:00" into the clock and "+02:00".
func splitZone(s string) (string, string) {
	if strings.HasSuffix(s, "Z") {
		return s[:len(s)-1], "Z"
	}
	if i := strings.LastIndexAny(s, "+-"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func sortStrings(s []string) { sort.Strings(s) }
