package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An RFC 3339 date-time may write its `T` and `Z` in lower case (RFC 3339
// §5.6, NOTE); more than 9 fractional digits are refused naming the field,
// not cut to nanoseconds; an offset past 23:59 is refused.
func TestParseInstant(t *testing.T) {
	want := time.Date(2026, 11, 25, 6, 28, 41, 0, time.UTC)
	for _, raw := range []string{"2026-11-25T06:28:41Z", "2026-11-25t06:28:41z", "2026-11-25t06:28:41Z", "2026-11-25T08:28:41+02:00", "2026-11-25t08:28:41+02:00"} {
		got, err := ParseInstant("at", raw, "must be an RFC 3339 instant")
		require.NoError(t, err, raw)
		assert.True(t, want.Equal(got), "%s: %s", raw, got)
	}
	got, err := ParseInstant("at", "2026-11-25t06:28:41.123456789z", "bad")
	require.NoError(t, err)
	assert.Equal(t, 123456789, got.Nanosecond())

	for _, raw := range []string{"2026-11-25T06:28:41.1234567891Z", "2026-11-25t06:28:41.0000000000z", "2026-11-25T06:28:41.12345678912+01:00"} {
		_, err := ParseInstant("at", raw, "bad")
		require.Error(t, err, raw)
		assert.Contains(t, err.Error(), "at", raw)
		assert.Contains(t, err.Error(), "9 fractional digits", raw)
	}
	for _, raw := range []string{"2026-11-25T06:28:41+24:00", "2026-11-25T06:28:41-24:00", "2026-11-25T06:28:41+23:60", "2026-11-25T06:28:41.5+24:59"} {
		_, err := ParseInstant("at", raw, "bad")
		require.Error(t, err, raw)
		assert.Contains(t, err.Error(), "bad", raw)
	}
	for _, raw := range []string{"2026-11-25x06:28:41Z", "2026-11-25T06:28:41", "2026-11-25 06:28:41Z", "2026-11-25T06:28:41zz", "2026-11-25T06:28:41,1234567890123Z", "2026-11-25T06:28:41,5Z"} {
		_, err := ParseInstant("at", raw, "bad")
		require.Error(t, err, raw)
		assert.Contains(t, err.Error(), "bad", raw)
	}
}
