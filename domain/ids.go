package domain

import (
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// ParseID parses an id given as text: the canonical 36-character UUID form
// and not the nil UUID, else an ErrInvalid naming field.
func ParseID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, InvalidField(field, "is required")
	}
	id, err := uuid.Parse(s)
	if len(s) != 36 || err != nil {
		return uuid.Nil, InvalidField(field, "is not a UUID")
	}
	if id == uuid.Nil {
		return uuid.Nil, InvalidField(field, "must not be the nil UUID")
	}
	return id, nil
}

// RequireID is an ErrInvalid naming field when id is the nil UUID.
func RequireID(field string, id uuid.UUID) error {
	if id == uuid.Nil {
		return InvalidField(field, "is required")
	}
	return nil
}

// ValidateIDs checks a list of ids: at most max, none nil, none twice.
// The offending entry is named as field[i].
func ValidateIDs(field string, ids []uuid.UUID, max int) error {
	if len(ids) > max {
		return InvalidField(field, fmt.Sprintf("at most %d entries", max))
	}
	for i, id := range ids {
		at := fmt.Sprintf("%s[%d]", field, i)
		if id == uuid.Nil {
			return InvalidField(at, "is required")
		}
		if slices.Contains(ids[:i], id) {
			return InvalidField(at, "is listed twice")
		}
	}
	return nil
}
