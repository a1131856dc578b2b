package kurrent

import (
	"fmt"
	"log/slog"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// clientLogger sends the client's log lines to slog. The client logs every
// ended subscription and failed call at error level, including those the
// store ends or handles itself, and each of its discovery attempts as a
// warning: its errors become warnings, the rest debug.
func clientLogger(l *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		switch level {
		case esdb.LogError:
			l.Warn(fmt.Sprintf(format, args...))
		default:
			l.Debug(fmt.Sprintf(format, args...))
		}
	}
}
