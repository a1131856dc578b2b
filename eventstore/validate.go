package eventstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// AllStream is the name of the global log; no event is appended to it.
const AllStream = "$all"

// ValidateAppend checks an append before a backend touches storage: a real
// stream name, and every event with an id, a type, JSON data and metadata,
// and a size within maxSize bytes.
func ValidateAppend(stream string, events []EventData, maxSize int) error {
	if stream == "" || stream == AllStream || strings.TrimSpace(stream) != stream {
		return fmt.Errorf("stream name %q: %w", stream, ErrInvalidEvent)
	}
	for i, ev := range events {
		switch {
		case ev.ID == uuid.Nil:
			return fmt.Errorf("event %d of %s has no id: %w", i, stream, ErrInvalidEvent)
		case ev.Type == "":
			return fmt.Errorf("event %d of %s has no type: %w", i, stream, ErrInvalidEvent)
		case len(ev.Data)+len(ev.Metadata) > maxSize:
			return fmt.Errorf("event %s of %s is %d bytes, limit %d: %w", ev.ID, stream, len(ev.Data)+len(ev.Metadata), maxSize, ErrEventTooLarge)
		case len(ev.Data) > 0 && !json.Valid(ev.Data):
			return fmt.Errorf("event %s of %s: data is not JSON: %w", ev.ID, stream, ErrInvalidEvent)
		case len(ev.Metadata) > 0 && !json.Valid(ev.Metadata):
			return fmt.Errorf("event %s of %s: metadata is not JSON: %w", ev.ID, stream, ErrInvalidEvent)
		}
	}
	return nil
}
