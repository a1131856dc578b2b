package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength bounds a display name, in characters.
const MaxNameLength = 200

// ValidateName checks a display name: some text once trimmed, at most
// MaxNameLength characters, valid UTF-8, no control characters.
func ValidateName(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return InvalidField(field, "is required")
	}
	return ValidateText(field, s, MaxNameLength)
}

// ValidateText checks optional free text: valid UTF-8, at most max
// characters, no control characters. The empty string passes.
func ValidateText(field, s string, max int) error {
	switch {
	case !utf8.ValidString(s):
		return InvalidField(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return InvalidField(field, fmt.Sprintf("is longer than %d characters", max))
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return InvalidField(field, "contains control characters")
	}
	return nil
}
