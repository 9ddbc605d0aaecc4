package mailbox

import (
	"fmt"
	"slices"
	"time"
)

// Expand lists the starts (UTC) of a series' regular occurrences, before
// exceptions and cancellations, from its first start up to until (and
// never more than limit). The series' time of day is kept in its zone, so
// a 09:00 meeting in Berlin stays at 09:00 across summer time. Both fakes
// and both adapters use it, so that they agree on which occurrence an
// original start names.
func Expand(r Recurrence, first time.Time, zone string, until time.Time, limit int) ([]time.Time, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	loc, err := ZoneLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTyped, err)
	}
	local := first.In(loc)
	hh, mm, ss := local.Clock()
	startDate, _ := time.ParseInLocation(time.DateOnly, r.StartDate, loc)
	endDate := time.Time{}
	if r.Range == "endDate" {
		endDate, _ = time.ParseInLocation(time.DateOnly, r.EndDate, loc)
	}
	interval := max(r.Interval, 1)
	at := func(d time.Time) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, 0, loc)
	}
	var out []time.Time
	// add reports whether expansion goes on.
	add := func(d time.Time) bool {
		if d.Before(startDate) {
			return true
		}
		if !endDate.IsZero() && d.After(endDate) {
			return false
		}
		t := at(d)
		if t.UTC().After(until) {
			return false
		}
		out = append(out, t.UTC())
		if r.Range == "numbered" && len(out) >= r.Occurrences {
			return false
		}
		return len(out) < limit
	}
	days := weekdays(r.DaysOfWeek)
	// maxSteps bounds a pattern that never matches (the 31st every
	// February) so that expansion always ends.
	const maxSteps = 100000
	switch r.Pattern {
	case "daily":
		for d, i := startDate, 0; i < maxSteps; d, i = d.AddDate(0, 0, interval), i+1 {
			if !add(d) {
				break
			}
		}
	case "weekly":
		fdw := time.Sunday
		if r.FirstDayOfWeek != "" {
			fdw = weekdays([]string{r.FirstDayOfWeek})[0]
		}
		week := startDate.AddDate(0, 0, -((int(startDate.Weekday()) - int(fdw) + 7) % 7))
	weeks:
		for i := 0; i < maxSteps; week, i = week.AddDate(0, 0, 7*interval), i+1 {
			for k := range 7 {
				d := week.AddDate(0, 0, k)
				if slices.Contains(days, d.Weekday()) && !add(d) {
					break weeks
				}
			}
		}
	case "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly":
		yearly := r.Pattern == "absoluteYearly" || r.Pattern == "relativeYearly"
		step := interval
		if yearly {
			step = 12 * interval
		}
		m := time.Date(startDate.Year(), startDate.Month(), 1, 0, 0, 0, 0, loc)
		if yearly && r.Month > 0 {
			m = time.Date(startDate.Year(), time.Month(r.Month), 1, 0, 0, 0, 0, loc)
		}
		for i := 0; i < maxSteps; m, i = m.AddDate(0, step, 0), i+1 {
			var d time.Time
			if r.Pattern == "absoluteMonthly" || r.Pattern == "absoluteYearly" {
				dom := r.DayOfMonth
				if dom == 0 {
					dom = startDate.Day()
				}
				last := m.AddDate(0, 1, -1).Day()
				d = time.Date(m.Year(), m.Month(), min(dom, last), 0, 0, 0, 0, loc)
			} else {
				d = nthWeekday(m, days, r.Index)
			}
			if !add(d) {
				break
			}
		}
	}
	return out, nil
}

func weekdays(names []string) []time.Weekday {
	var out []time.Weekday
	for _, n := range names {
		if i := slices.Index(DaysOfWeek, n); i >= 0 {
			out = append(out, time.Weekday(i))
		}
	}
	if len(out) == 0 {
		out = []time.Weekday{time.Monday}
	}
	return out
}

// nthWeekday is the index-th day of the month m that falls on one of days
// (first, second, third, fourth or last).
func nthWeekday(m time.Time, days []time.Weekday, index string) time.Time {
	var match []time.Time
	for d := m; d.Month() == m.Month(); d = d.AddDate(0, 0, 1) {
		if slices.Contains(days, d.Weekday()) {
			match = append(match, d)
		}
	}
	i := slices.Index(WeekIndexes, index)
	if i < 0 {
		i = 0
	}
	if index == "last" || i >= len(match) {
		return match[len(match)-1]
	}
	return match[i]
}

// Occurrences lists a series' occurrences as they stand: the regular ones
// with the cancelled ones left out and the exceptions at their new times,
// as pairs of original start and actual start, up to until.
func (e Event) Occurrences(until time.Time, limit int) ([]Occurrence, error) {
	if e.Recurrence == nil {
		return []Occurrence{{OriginalStart: e.Start, Start: e.Start, End: e.End}}, nil
	}
	starts, err := Expand(*e.Recurrence, e.Start, e.TimeZone, until, limit)
	if err != nil {
		return nil, err
	}
	d := e.End.Sub(e.Start)
	var out []Occurrence
	for _, s := range starts {
		if slices.ContainsFunc(e.Cancelled, func(c time.Time) bool { return c.Equal(s) }) {
			continue
		}
		o := Occurrence{OriginalStart: s, Start: s, End: s.Add(d)}
		if i := slices.IndexFunc(e.Exceptions, func(x Occurrence) bool { return x.OriginalStart.Equal(s) }); i >= 0 {
			o = e.Exceptions[i]
		}
		out = append(out, o)
	}
	return out, nil
}
