package domain

import (
	"fmt"
	"slices"
	"time"
)

// Schedule says when a grant holds. A nil *Schedule means always. Weekly
// windows are wall-clock times local to Timezone (empty: the property's
// zone, else UTC), so 08:00 stays 08:00 across daylight-saving changes; no
// weekly window means all day. ValidFrom and ValidUntil bound it in
// absolute time: from ValidFrom (inclusive) to ValidUntil (exclusive).
type Schedule struct {
	Timezone   string         `json:"timezone,omitempty"`
	ValidFrom  *time.Time     `json:"validFrom,omitempty"`
	ValidUntil *time.Time     `json:"validUntil,omitempty"`
	Weekly     []WeeklyWindow `json:"weekly"`
}

// WeeklyWindow admits, on each of Days ("mon" ... "sun"), the local times
// from From (inclusive) to To (exclusive), both "HH:MM" from "00:00" to
// "24:00". A window does not cross midnight: split it in two.
type WeeklyWindow struct {
	Days []string `json:"days"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

// MaxWeeklyWindows bounds the windows of one schedule.
const MaxWeeklyWindows = 50

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Validate checks the schedule, naming the offending field under field
// (`schedule.timezone`, `schedule.weekly[0].days[1]`, ...). Nil is valid.
func (s *Schedule) Validate(field string) error {
	if s == nil {
		return nil
	}
	if s.Timezone != "" {
		if err := ValidateTimezone(field+".timezone", s.Timezone); err != nil {
			return err
		}
	}
	if err := ValidateWindow(field+".validFrom", field+".validUntil", s.ValidFrom, s.ValidUntil); err != nil {
		return err
	}
	if len(s.Weekly) > MaxWeeklyWindows {
		return InvalidField(field+".weekly", fmt.Sprintf("at most %d windows", MaxWeeklyWindows))
	}
	for i, w := range s.Weekly {
		at := fmt.Sprintf("%s.weekly[%d]", field, i)
		if len(w.Days) == 0 {
			return InvalidField(at+".days", "is required")
		}
		for j, d := range w.Days {
			if _, ok := weekdays[d]; !ok {
				return InvalidField(fmt.Sprintf("%s.days[%d]", at, j), `must be one of "mon", "tue", "wed", "thu", "fri", "sat", "sun"`)
			}
			if slices.Contains(w.Days[:j], d) {
				return InvalidField(fmt.Sprintf("%s.days[%d]", at, j), "is listed twice")
			}
		}
		from, ok := clock(w.From)
		if !ok {
			return InvalidField(at+".from", `must be a time "HH:MM" from "00:00" to "24:00"`)
		}
		to, ok := clock(w.To)
		if !ok {
			return InvalidField(at+".to", `must be a time "HH:MM" from "00:00" to "24:00"`)
		}
		if from >= to {
			return InvalidField(at+".from", "must be before to")
		}
	}
	return nil
}

// clock parses "HH:MM" (00:00 to 24:00) into seconds after midnight.
func clock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return (h*60 + m) * 60, true
}

// Admits reports whether instant t falls inside the schedule. Weekly
// windows are read on the wall clock of t in the schedule's zone, else in
// defaultTZ, else in UTC. A nil schedule admits every instant; a schedule
// that does not validate admits none.
func (s *Schedule) Admits(t time.Time, defaultTZ *time.Location) bool {
	if s == nil {
		return true
	}
	if s.ValidFrom != nil && t.Before(*s.ValidFrom) {
		return false
	}
	if s.ValidUntil != nil && !t.Before(*s.ValidUntil) {
		return false
	}
	if len(s.Weekly) == 0 {
		return true
	}
	loc := defaultTZ
	if s.Timezone != "" {
		z, err := Timezone(s.Timezone)
		if err != nil {
			return false
		}
		loc = z
	}
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	day := local.Weekday()
	h, m, sec := local.Clock()
	now := h*3600 + m*60 + sec
	for _, w := range s.Weekly {
		from, ok1 := clock(w.From)
		to, ok2 := clock(w.To)
		if !ok1 || !ok2 || now < from || now >= to {
			continue
		}
		for _, d := range w.Days {
			if wd, ok := weekdays[d]; ok && wd == day {
				return true
			}
		}
	}
	return false
}

// Narrow bounds the schedule by a membership's window: the later of the two
// starts and the earlier of the two ends. A nil schedule with a window
// becomes a schedule of only that window; no window returns s unchanged.
// The result may admit nothing (its start at or after its end).
func (s *Schedule) Narrow(from, until *time.Time) *Schedule {
	if from == nil && until == nil {
		return s
	}
	n := s.Clone()
	if n == nil {
		n = &Schedule{Weekly: []WeeklyWindow{}}
	}
	if from != nil && (n.ValidFrom == nil || from.After(*n.ValidFrom)) {
		n.ValidFrom = UTCPtr(from)
	}
	if until != nil && (n.ValidUntil == nil || until.Before(*n.ValidUntil)) {
		n.ValidUntil = UTCPtr(until)
	}
	return n
}

// Clone is a deep copy with its instants in UTC and Weekly never nil, the
// form events carry. Nil stays nil.
func (s *Schedule) Clone() *Schedule {
	if s == nil {
		return nil
	}
	c := &Schedule{
		Timezone:   s.Timezone,
		ValidFrom:  UTCPtr(s.ValidFrom),
		ValidUntil: UTCPtr(s.ValidUntil),
		Weekly:     make([]WeeklyWindow, len(s.Weekly)),
	}
	for i, w := range s.Weekly {
		c.Weekly[i] = WeeklyWindow{Days: slices.Clone(w.Days), From: w.From, To: w.To}
	}
	return c
}

// Equal reports whether s and o say the same thing in the same way: both
// nil, or the same zone, bounds (as instants) and windows in order.
func (s *Schedule) Equal(o *Schedule) bool {
	if s == nil || o == nil {
		return s == nil && o == nil
	}
	if s.Timezone != o.Timezone || !EqualTimePtr(s.ValidFrom, o.ValidFrom) ||
		!EqualTimePtr(s.ValidUntil, o.ValidUntil) || len(s.Weekly) != len(o.Weekly) {
		return false
	}
	for i, w := range s.Weekly {
		v := o.Weekly[i]
		if w.From != v.From || w.To != v.To || !slices.Equal(w.Days, v.Days) {
			return false
		}
	}
	return true
}
