package domain

import (
	"errors"
	"sync"
	"time"

	// The IANA database travels with the binary, so what counts as a time
	// zone does not depend on the host's files.
	_ "time/tzdata"
)

// DefaultTimezone is the zone of a property that names none.
const DefaultTimezone = "UTC"

var (
	zones      sync.Map // name -> *time.Location
	errNotZone = errors.New("not an IANA time zone")
)

// Timezone returns the IANA zone called name ("Europe/Madrid", "UTC").
// The host-dependent "Local" and the empty name are refused. Zones are
// loaded once and kept.
func Timezone(name string) (*time.Location, error) {
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, errNotZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errNotZone
	}
	zones.Store(name, loc)
	return loc, nil
}

// ValidateTimezone is an ErrInvalid naming field unless name is an IANA
// time zone.
func ValidateTimezone(field, name string) error {
	if _, err := Timezone(name); err != nil {
		return InvalidField(field, "is not an IANA time zone (such as \"Europe/Madrid\")")
	}
	return nil
}

// ValidateInstant is an ErrInvalid naming field unless t, in UTC, falls in
// the years 1 to 9999 that RFC 3339 (and so every event) can carry.
func ValidateInstant(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return InvalidField(field, "is out of range")
	}
	return nil
}

// ValidateWindow checks an optional validity window: each end an instant
// JSON can carry, and from strictly before until when both are given.
func ValidateWindow(fromField, untilField string, from, until *time.Time) error {
	if from != nil {
		if err := ValidateInstant(fromField, *from); err != nil {
			return err
		}
	}
	if until != nil {
		if err := ValidateInstant(untilField, *until); err != nil {
			return err
		}
	}
	if from != nil && until != nil && !from.Before(*until) {
		return InvalidField(untilField, "must be after "+fromField)
	}
	return nil
}

// UTCPtr copies an optional instant into UTC; nil stays nil. Events keep
// instants this way.
func UTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EqualTimePtr reports whether two optional instants are both absent or the
// same instant.
func EqualTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
