package domain

import (
	"time"
)

// ParseInstant parses an RFC 3339 date-time a request gives (in its body
// or its query), as field. It takes a lower-case `t` and `z` as RFC 3339
// allows (§5.6, NOTE), and refuses more than 9 fractional digits of a
// second: the instants are kept to the nanosecond, and cutting the rest
// off would silently change the instant asked about. A date-time that does
// not parse is an ErrInvalid (the API's 400) naming field with message
// invalid; so is an offset past RFC 3339's hours 00-23 and minutes 00-59,
// which Go takes up to 24:60 (+24:00 would be the day before's instant).
func ParseInstant(field, raw, invalid string) (time.Time, error) {
	s := raw
	if len(s) > 10 && s[10] == 't' {
		s = s[:10] + "T" + s[11:]
	}
	if n := len(s); n > 0 && s[n-1] == 'z' {
		s = s[:n-1] + "Z"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, InvalidField(field, invalid)
	}
	if !rfc3339Offset(s) {
		return time.Time{}, InvalidField(field, invalid)
	}
	// After a parse the seconds end at byte 19: yyyy-mm-ddThh:mm:ss. Go
	// also takes a comma before the fraction, which RFC 3339 does not.
	if len(s) > 19 && s[19] == ',' {
		return time.Time{}, InvalidField(field, invalid)
	}
	if len(s) > 19 && s[19] == '.' {
		digits := 0
		for _, c := range s[20:] {
			if c < '0' || c > '9' {
				break
			}
			digits++
		}
		if digits > 9 {
			return time.Time{}, InvalidField(field, "has more than 9 fractional digits of a second (nanoseconds are the precision)")
		}
	}
	return t, nil
}

// rfc3339Offset reports whether a date-time that parsed as RFC 3339 ends
// in Z or an offset of hours 00-23 and minutes 00-59.
func rfc3339Offset(s string) bool {
	n := len(s)
	if s[n-1] == 'Z' {
		return true
	}
	hours, minutes := s[n-5:n-3], s[n-2:]
	return hours <= "23" && minutes <= "59"
}

// ParseInstantInRange parses an RFC 3339 instant given as field (a query
// parameter or a command-line flag) and refuses one outside the years 1 to
// 9999 in UTC, with the API's messages. Past year 9999 in UTC an answer
// echoing the instant could not be encoded, and bounds stored as text would
// compare before every real date.
func ParseInstantInRange(field, raw string) (time.Time, error) {
	t, err := ParseInstant(field, raw, "must be an RFC 3339 instant")
	if err != nil {
		return time.Time{}, err
	}
	if err := ValidateInstant(field, t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}
