package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func ptr(t time.Time) *time.Time { return &t }

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := Timezone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleValidate(t *testing.T) {
	t.Parallel()
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	win := func(days []string, from, to string) []WeeklyWindow {
		return []WeeklyWindow{{Days: days, From: from, To: to}}
	}
	weekdays := []string{"mon", "tue", "wed", "thu", "fri"}
	tests := []struct {
		name  string
		s     *Schedule
		field string // "" means valid
	}{
		{name: "nil", s: nil},
		{name: "empty", s: &Schedule{}},
		{name: "full", s: &Schedule{Timezone: "Europe/Madrid", ValidFrom: &jan, ValidUntil: &feb, Weekly: win(weekdays, "08:00", "18:00")}},
		{name: "whole day", s: &Schedule{Weekly: win([]string{"sun"}, "00:00", "24:00")}},
		{name: "last minute", s: &Schedule{Weekly: win([]string{"sat"}, "23:59", "24:00")}},
		{name: "bad zone", s: &Schedule{Timezone: "Europe/Nowhere"}, field: "schedule.timezone"},
		{name: "local zone", s: &Schedule{Timezone: "Local"}, field: "schedule.timezone"},
		{name: "offset is no zone", s: &Schedule{Timezone: "+01:00"}, field: "schedule.timezone"},
		{name: "path is no zone", s: &Schedule{Timezone: "../../etc/passwd"}, field: "schedule.timezone"},
		{name: "from after until", s: &Schedule{ValidFrom: &feb, ValidUntil: &jan}, field: "schedule.validUntil"},
		{name: "from equals until", s: &Schedule{ValidFrom: &jan, ValidUntil: &jan}, field: "schedule.validUntil"},
		{name: "from out of range", s: &Schedule{ValidFrom: ptr(time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC))}, field: "schedule.validFrom"},
		{name: "no days", s: &Schedule{Weekly: win(nil, "08:00", "09:00")}, field: "schedule.weekly[0].days"},
		{name: "unknown day", s: &Schedule{Weekly: win([]string{"mon", "funday"}, "08:00", "09:00")}, field: "schedule.weekly[0].days[1]"},
		{name: "capital day", s: &Schedule{Weekly: win([]string{"Mon"}, "08:00", "09:00")}, field: "schedule.weekly[0].days[0]"},
		{name: "day twice", s: &Schedule{Weekly: win([]string{"mon", "tue", "mon"}, "08:00", "09:00")}, field: "schedule.weekly[0].days[2]"},
		{name: "short from", s: &Schedule{Weekly: win(weekdays, "8:00", "09:00")}, field: "schedule.weekly[0].from"},
		{name: "hour 25", s: &Schedule{Weekly: win(weekdays, "08:00", "25:00")}, field: "schedule.weekly[0].to"},
		{name: "minute 60", s: &Schedule{Weekly: win(weekdays, "08:60", "09:00")}, field: "schedule.weekly[0].from"},
		{name: "past 24", s: &Schedule{Weekly: win(weekdays, "08:00", "24:01")}, field: "schedule.weekly[0].to"},
		{name: "seconds", s: &Schedule{Weekly: win(weekdays, "08:00:00", "09:00")}, field: "schedule.weekly[0].from"},
		{name: "signs", s: &Schedule{Weekly: win(weekdays, "+8:00", "09:00")}, field: "schedule.weekly[0].from"},
		{name: "from after to", s: &Schedule{Weekly: win(weekdays, "18:00", "08:00")}, field: "schedule.weekly[0].from"},
		{name: "from equals to", s: &Schedule{Weekly: win(weekdays, "08:00", "08:00")}, field: "schedule.weekly[0].from"},
		{name: "second window", s: &Schedule{Weekly: []WeeklyWindow{
			{Days: weekdays, From: "08:00", To: "12:00"}, {Days: []string{"sat"}, From: "10:00", To: "0900"}}},
			field: "schedule.weekly[1].to"},
		{name: "too many windows", s: &Schedule{Weekly: make([]WeeklyWindow, MaxWeeklyWindows+1)}, field: "schedule.weekly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.s.Validate("schedule")
			if tt.field == "" {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				return
			}
			var de *Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &de) || de.Field != tt.field {
				t.Fatalf("error = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestScheduleAdmits(t *testing.T) {
	t.Parallel()
	madrid := zone(t, "Europe/Madrid")
	newYork := zone(t, "America/New_York")
	utc := func(y int, m time.Month, d, h, min, s int) time.Time {
		return time.Date(y, m, d, h, min, s, 0, time.UTC)
	}
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	office := &Schedule{Timezone: "Europe/Madrid", Weekly: []WeeklyWindow{{Days: everyDay, From: "08:00", To: "18:00"}}}
	noZone := &Schedule{Weekly: []WeeklyWindow{{Days: everyDay, From: "08:00", To: "18:00"}}}
	night := &Schedule{Timezone: "Europe/Madrid", Weekly: []WeeklyWindow{{Days: []string{"sun"}, From: "02:00", To: "03:00"}}}
	nyNight := &Schedule{Timezone: "America/New_York", Weekly: []WeeklyWindow{{Days: []string{"sun"}, From: "01:00", To: "02:00"}}}
	nyMorning := &Schedule{Timezone: "America/New_York", Weekly: []WeeklyWindow{{Days: []string{"sun", "mon"}, From: "09:00", To: "10:00"}}}
	late := &Schedule{Weekly: []WeeklyWindow{{Days: []string{"fri"}, From: "22:00", To: "24:00"}, {Days: []string{"sat"}, From: "00:00", To: "02:00"}}}
	bounded := &Schedule{ValidFrom: ptr(utc(2024, 5, 1, 0, 0, 0)), ValidUntil: ptr(utc(2024, 5, 2, 0, 0, 0))}
	tests := []struct {
		name string
		s    *Schedule
		t    time.Time
		def  *time.Location
		want bool
	}{
		{name: "nil admits", s: nil, t: utc(2024, 1, 1, 3, 0, 0), want: true},
		{name: "empty weekly admits", s: &Schedule{Timezone: "Europe/Madrid"}, t: utc(2024, 1, 1, 3, 0, 0), want: true},
		{name: "bounds: before", s: bounded, t: utc(2024, 4, 30, 23, 59, 59)},
		{name: "bounds: at start", s: bounded, t: utc(2024, 5, 1, 0, 0, 0), want: true},
		{name: "bounds: just before end", s: bounded, t: utc(2024, 5, 1, 23, 59, 59), want: true},
		{name: "bounds: at end", s: bounded, t: utc(2024, 5, 2, 0, 0, 0)},

		// Madrid in winter is UTC+1: 08:00 local is 07:00 UTC.
		{name: "madrid winter before", s: office, t: utc(2024, 3, 29, 6, 59, 59)},
		{name: "madrid winter opens", s: office, t: utc(2024, 3, 29, 7, 0, 0), want: true},
		{name: "madrid winter closes", s: office, t: utc(2024, 3, 29, 17, 0, 0)},
		// Sunday 31 March 2024, the last Sunday of March: 02:00 becomes
		// 03:00 and Madrid is UTC+2 from then on.
		{name: "madrid spring day 07:59 local", s: office, t: utc(2024, 3, 31, 5, 59, 0)},
		{name: "madrid spring day 08:00 local", s: office, t: utc(2024, 3, 31, 6, 0, 0), want: true},
		{name: "madrid spring day 17:59 local", s: office, t: utc(2024, 3, 31, 15, 59, 59), want: true},
		{name: "madrid spring day 18:00 local", s: office, t: utc(2024, 3, 31, 16, 0, 0)},
		{name: "madrid summer 08:30 local", s: office, t: utc(2024, 4, 1, 6, 30, 0), want: true},
		{name: "madrid summer 07:00 UTC is 09:00", s: office, t: utc(2024, 4, 1, 7, 0, 0), want: true},
		{name: "madrid spring gap: 01:59:59 local", s: night, t: utc(2024, 3, 31, 0, 59, 59)},
		{name: "madrid spring gap: 03:00 local", s: night, t: utc(2024, 3, 31, 1, 0, 0)},
		// Sunday 27 October 2024: 03:00 becomes 02:00 again, so 02:00-03:00
		// local happens twice, from 00:00 to 02:00 UTC.
		{name: "madrid autumn: 01:59 CEST", s: night, t: utc(2024, 10, 26, 23, 59, 59)},
		{name: "madrid autumn: first 02:00", s: night, t: utc(2024, 10, 27, 0, 0, 0), want: true},
		{name: "madrid autumn: second 02:30", s: night, t: utc(2024, 10, 27, 1, 30, 0), want: true},
		{name: "madrid autumn: 03:00 CET", s: night, t: utc(2024, 10, 27, 2, 0, 0)},
		{name: "madrid autumn day 08:00 CET", s: office, t: utc(2024, 10, 27, 7, 0, 0), want: true},
		{name: "madrid autumn day 07:00 CET", s: office, t: utc(2024, 10, 27, 6, 0, 0)},

		// New York: second Sunday of March (10 March 2024) 02:00 -> 03:00,
		// first Sunday of November (3 November 2024) 02:00 -> 01:00.
		{name: "ny before spring: 09:00 EST", s: nyMorning, t: utc(2024, 3, 10, 14, 0, 0)},
		{name: "ny spring: 09:00 EDT", s: nyMorning, t: utc(2024, 3, 10, 13, 0, 0), want: true},
		{name: "ny spring: 08:59 EDT", s: nyMorning, t: utc(2024, 3, 10, 12, 59, 0)},
		{name: "ny spring week monday 09:30 EDT", s: nyMorning, t: utc(2024, 3, 11, 13, 30, 0), want: true},
		{name: "ny autumn: 09:00 EST", s: nyMorning, t: utc(2024, 11, 3, 14, 0, 0), want: true},
		{name: "ny autumn: 13:00 UTC is 08:00 EST", s: nyMorning, t: utc(2024, 11, 3, 13, 0, 0)},
		{name: "ny autumn: first 01:30", s: nyNight, t: utc(2024, 11, 3, 5, 30, 0), want: true},
		{name: "ny autumn: second 01:30", s: nyNight, t: utc(2024, 11, 3, 6, 30, 0), want: true},
		{name: "ny autumn: 02:00 EST", s: nyNight, t: utc(2024, 11, 3, 7, 0, 0)},
		{name: "ny spring: 01:59 EST", s: nyNight, t: utc(2024, 3, 10, 6, 59, 0), want: true},
		{name: "ny spring: 03:00 EDT", s: nyNight, t: utc(2024, 3, 10, 7, 0, 0)},

		{name: "default zone used", s: noZone, def: newYork, t: utc(2024, 7, 1, 12, 30, 0), want: true},
		{name: "default zone used: 07:30 EDT", s: noZone, def: newYork, t: utc(2024, 7, 1, 11, 30, 0)},
		{name: "schedule zone beats default", s: office, def: newYork, t: utc(2024, 7, 1, 6, 30, 0), want: true},
		{name: "no zone at all is UTC", s: noZone, t: utc(2024, 7, 1, 7, 59, 0)},
		{name: "no zone at all is UTC: 08:00", s: noZone, t: utc(2024, 7, 1, 8, 0, 0), want: true},
		{name: "instant's own zone ignored", s: noZone, def: madrid, t: time.Date(2024, 7, 1, 9, 0, 0, 0, newYork), want: true},
		{name: "until midnight", s: late, t: utc(2024, 3, 1, 23, 59, 59), want: true},
		{name: "after midnight", s: late, t: utc(2024, 3, 2, 0, 0, 0), want: true},
		{name: "after the night", s: late, t: utc(2024, 3, 2, 2, 0, 0)},
		{name: "wrong day", s: late, t: utc(2024, 3, 3, 1, 0, 0)},
		{name: "invalid zone admits nothing", s: &Schedule{Timezone: "Nope/Nope", Weekly: noZone.Weekly}, t: utc(2024, 7, 1, 9, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.s.Admits(tt.t, tt.def); got != tt.want {
				t.Fatalf("Admits(%s) = %v, want %v", tt.t.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}

func TestScheduleNarrow(t *testing.T) {
	t.Parallel()
	d := func(day int) *time.Time { return ptr(time.Date(2024, 5, day, 0, 0, 0, 0, time.UTC)) }
	inMadrid := func(day int) *time.Time {
		return ptr(time.Date(2024, 5, day, 2, 0, 0, 0, time.FixedZone("CEST", 2*3600)))
	}
	weekly := []WeeklyWindow{{Days: []string{"mon"}, From: "08:00", To: "09:00"}}
	tests := []struct {
		name        string
		s           *Schedule
		from, until *time.Time
		want        *Schedule
	}{
		{name: "nil, no window", s: nil, want: nil},
		{name: "nil, window", s: nil, from: d(1), until: d(5), want: &Schedule{ValidFrom: d(1), ValidUntil: d(5), Weekly: []WeeklyWindow{}}},
		{name: "nil, from only, in UTC", s: nil, from: inMadrid(3), want: &Schedule{ValidFrom: d(3), Weekly: []WeeklyWindow{}}},
		{name: "window inside", s: &Schedule{Timezone: "Europe/Madrid", ValidFrom: d(1), ValidUntil: d(10), Weekly: weekly},
			from: d(2), until: d(5), want: &Schedule{Timezone: "Europe/Madrid", ValidFrom: d(2), ValidUntil: d(5), Weekly: weekly}},
		{name: "window wider", s: &Schedule{ValidFrom: d(3), ValidUntil: d(4)}, from: d(1), until: d(10),
			want: &Schedule{ValidFrom: d(3), ValidUntil: d(4), Weekly: []WeeklyWindow{}}},
		{name: "open schedule end", s: &Schedule{ValidFrom: d(3)}, until: d(10),
			want: &Schedule{ValidFrom: d(3), ValidUntil: d(10), Weekly: []WeeklyWindow{}}},
		{name: "disjoint", s: &Schedule{ValidUntil: d(3)}, from: d(5),
			want: &Schedule{ValidFrom: d(5), ValidUntil: d(3), Weekly: []WeeklyWindow{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var before *Schedule
			if tt.s != nil {
				before = tt.s.Clone()
			}
			got := tt.s.Narrow(tt.from, tt.until)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Narrow = %+v, want %+v", got, tt.want)
			}
			if tt.s != nil && !reflect.DeepEqual(tt.s.Clone(), before) {
				t.Fatal("Narrow altered its receiver")
			}
		})
	}
	// A narrowed schedule admits only inside both.
	n := (&Schedule{ValidUntil: d(3)}).Narrow(d(5), nil)
	if n.Admits(*d(4), nil) || n.Admits(*d(2), nil) || n.Admits(*d(6), nil) {
		t.Fatal("a disjoint narrowing admits")
	}
}

func TestScheduleCloneEqualJSON(t *testing.T) {
	t.Parallel()
	from := time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("X", 3600))
	s := &Schedule{Timezone: "Europe/Madrid", ValidFrom: &from,
		Weekly: []WeeklyWindow{{Days: []string{"mon", "tue"}, From: "08:00", To: "18:00"}}}
	c := s.Clone()
	if !c.Equal(s) || !s.Equal(c) || c.ValidFrom.Location() != time.UTC {
		t.Fatalf("clone = %+v", c)
	}
	c.Weekly[0].Days[0] = "sun"
	if s.Weekly[0].Days[0] != "mon" || c.Equal(s) {
		t.Fatal("clone shares days")
	}
	if (*Schedule)(nil).Clone() != nil || !(*Schedule)(nil).Equal(nil) || s.Equal(nil) || (&Schedule{}).Equal(nil) {
		t.Fatal("nil handling")
	}
	if !(&Schedule{}).Equal(&Schedule{Weekly: []WeeklyWindow{}}) {
		t.Fatal("nil and empty weekly differ")
	}
	b, err := json.Marshal(s.Clone())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"timezone":"Europe/Madrid","validFrom":"2024-05-01T09:00:00Z","weekly":[{"days":["mon","tue"],"from":"08:00","to":"18:00"}]}`
	if string(b) != want {
		t.Fatalf("json = %s\nwant %s", b, want)
	}
	var back Schedule
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, s.Clone()) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	b, _ = json.Marshal((&Schedule{}).Clone())
	if string(b) != `{"weekly":[]}` {
		t.Fatalf("empty json = %s", b)
	}
}
