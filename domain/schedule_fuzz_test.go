package domain

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzSchedule reads any JSON as a schedule, as it comes in an access list:
// it validates or is refused naming a field under "schedule"; a valid one
// answers Admits for any instant, and its Clone and Narrow stay valid and
// equal where they must.
func FuzzSchedule(f *testing.F) {
	for _, seed := range []string{
		`{"timezone":"Europe/Madrid","validFrom":"2030-01-01T00:00:00Z","validUntil":"2030-06-01T00:00:00+02:00","weekly":[{"days":["mon","fri"],"from":"08:00","to":"24:00"}]}`,
		`{"weekly":[]}`, `{"weekly":[{"days":["sun"],"from":"00:00","to":"00:01"}]}`,
		`{"timezone":"Mars/Olympus","weekly":[{"days":["mon","mon"],"from":"9:00","to":"25:00"}]}`,
		`{"validFrom":"2030-01-02T00:00:00Z","validUntil":"2030-01-01T00:00:00Z"}`, `null`, `{"weekly":[{"days":[],"from":"","to":""}]}`,
	} {
		f.Add([]byte(seed), int64(1893456000), "Asia/Kathmandu")
	}
	f.Fuzz(func(t *testing.T, raw []byte, unix int64, defaultZone string) {
		var s *Schedule
		if json.Unmarshal(raw, &s) != nil {
			return
		}
		if err := s.Validate("schedule"); err != nil {
			var de *Error
			if !errors.As(err, &de) || !errors.Is(err, ErrInvalid) || len(de.Field) < len("schedule") || de.Field[:len("schedule")] != "schedule" {
				t.Fatalf("refusal names no field under schedule: %v", err)
			}
			return
		}
		at := time.Unix(unix%(1<<40), 0)
		loc, err := Timezone(defaultZone)
		if err != nil {
			loc = nil
		}
		admits := s.Admits(at, loc)
		c := s.Clone()
		if !c.Equal(s.Clone()) || c.Validate("schedule") != nil {
			t.Fatalf("clone of a valid schedule differs or is invalid: %+v", c)
		}
		if c.Admits(at, loc) != admits {
			t.Fatalf("the clone admits %v differently", at)
		}
		from, until := at.Add(-time.Hour), at.Add(time.Hour)
		if n := s.Narrow(&from, &until); n.Admits(at, loc) != admits {
			t.Fatalf("narrowing to a window around %v changes whether it is admitted", at)
		}
		if n := s.Narrow(&until, nil); n.Admits(at, loc) {
			t.Fatalf("narrowed to start after %v, it still admits it", at)
		}
	})
}
