package property

import "github.com/accessd/accessd/domain"

// MaxBookingSettingMinutes bounds the minute settings of bookings: a week.
const MaxBookingSettingMinutes = 7 * 24 * 60

// BookingSettings are the property's booking rules: how long after start a
// booking waits for check-in before it becomes noCheckIn, how early
// check-in opens before start, and whether a guest must be registered
// before check-in.
type BookingSettings struct {
	NoCheckInGraceMinutes     int  `json:"noCheckInGraceMinutes"`
	CheckInOpensMinutesBefore int  `json:"checkInOpensMinutesBefore"`
	GuestRegistrationRequired bool `json:"guestRegistrationRequired"`
}

// DefaultBookingSettings apply to a property that never set its own (and
// to every property created before they existed): two hours of grace,
// check-in from one hour before start, no guest registration required.
var DefaultBookingSettings = BookingSettings{NoCheckInGraceMinutes: 120, CheckInOpensMinutesBefore: 60}

// orDefault is the settings an event or command carries, the defaults
// when it carries none.
func orDefault(s *BookingSettings) BookingSettings {
	if s == nil {
		return DefaultBookingSettings
	}
	return *s
}

func (s BookingSettings) validate() error {
	for _, f := range []struct {
		name  string
		value int
	}{
		{"bookingSettings.noCheckInGraceMinutes", s.NoCheckInGraceMinutes},
		{"bookingSettings.checkInOpensMinutesBefore", s.CheckInOpensMinutesBefore},
	} {
		if f.value < 0 || f.value > MaxBookingSettingMinutes {
			return domain.InvalidField(f.name, "must be between 0 and 10080 minutes (a week)")
		}
	}
	return nil
}
