package search

import (
	"time"

	"github.com/ward-fhir/ward/fhir/fhirpath"
	"github.com/ward-fhir/ward/storage"
)

// appendDate appends one entry per value with the closed UTC range it
// covers. A date, dateTime or instant covers its precision. A Period runs
// from its start to its end, and a missing end is open (the zero time). A
// Timing covers the outer limits of its events and repeat.boundsPeriod
// together, because the specification ignores the schedule in between. A
// dateTime with a time but no zone is read as UTC, as ParseDateRange reads
// search values.
func appendDate(dst []storage.IndexEntry, code string, n fhirpath.Node) []storage.IndexEntry {
	add := func(low, high time.Time) {
		dst = append(dst, storage.IndexEntry{Param: code, Type: storage.TypeDate, Low: low, High: high})
	}

	switch v := n.Value().(type) {
	case fhirpath.Date:
		add(v.Range())
	case fhirpath.DateTime:
		add(dateTimeRange(v))
	case string:
		if low, high, ok := temporalRange(v); ok {
			add(low, high)
		}
	case map[string]any:
		switch n.TypeName() {
		case "Period":
			if low, high, ok := periodRange(v); ok {
				add(low, high)
			}
		case "Timing":
			if low, high, ok := timingRange(v); ok {
				add(low, high)
			}
		}
	}
	return dst
}

// dateTimeRange is DateTime.Range, except that a fraction of a second
// covers one unit of its last non-zero digit below the millisecond, so
// that 10:00:00.123456 covers one microsecond.
func dateTimeRange(dt fhirpath.DateTime) (low, high time.Time) {
	low, high = dt.Range()
	if dt.Precision < fhirpath.PrecisionMillisecond || dt.Nanosecond%int(time.Millisecond) == 0 {
		return low, high
	}
	unit := time.Millisecond
	for unit > time.Nanosecond && dt.Nanosecond%int(unit) != 0 {
		unit /= 10
	}
	return low, low.Add(unit - time.Nanosecond)
}

// temporalRange parses a date, dateTime or instant string.
func temporalRange(s string) (low, high time.Time, ok bool) {
	if s == "" {
		return low, high, false
	}
	dt, err := fhirpath.ParseDateTime(s)
	if err != nil {
		return low, high, false
	}
	low, high = dateTimeRange(dt)
	return low, high, true
}

// periodRange returns the range of a Period; an end it lacks is the zero
// time. ok is false when it has neither a start nor an end.
func periodRange(period map[string]any) (low, high time.Time, ok bool) {
	low, _, startOK := temporalRange(jsonString(period, "start"))
	_, high, endOK := temporalRange(jsonString(period, "end"))
	return low, high, startOK || endOK
}

// timingRange returns the outer limits of a Timing's events and its
// repeat.boundsPeriod. An open end of boundsPeriod keeps that end open.
func timingRange(timing map[string]any) (low, high time.Time, ok bool) {
	lowOpen, highOpen := false, false
	widen := func(l, h time.Time) {
		if !ok {
			low, high, ok = l, h, true
			lowOpen, highOpen = l.IsZero(), h.IsZero()
			return
		}
		if l.IsZero() {
			lowOpen = true
		} else if l.Before(low) {
			low = l
		}
		if h.IsZero() {
			highOpen = true
		} else if h.After(high) {
			high = h
		}
	}

	for _, event := range jsonStrings(timing, "event") {
		if l, h, eventOK := temporalRange(event); eventOK {
			widen(l, h)
		}
	}
	if repeat, isObject := timing["repeat"].(map[string]any); isObject {
		if bounds, isObject := repeat["boundsPeriod"].(map[string]any); isObject {
			if l, h, boundsOK := periodRange(bounds); boundsOK {
				widen(l, h)
			}
		}
	}
	if lowOpen {
		low = time.Time{}
	}
	if highOpen {
		high = time.Time{}
	}
	return low, high, ok
}
