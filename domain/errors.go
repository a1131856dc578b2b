// Package domain holds accessd's aggregates (one subpackage each), the value
// types they share, and the access rules. It is pure: no I/O, no clock.
package domain

import "errors"

// Kinds of failure. Every domain error matches exactly one of these with
// errors.Is, and the HTTP layer maps each kind to one status in one place.
var (
	// ErrInvalid: the input is malformed (400).
	ErrInvalid = errors.New("invalid")
	// ErrUnprocessable: well-formed input that breaks a rule (422).
	ErrUnprocessable = errors.New("unprocessable")
	// ErrNotFound: no such entity, or not visible to the actor (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the entity's current state forbids the change (409).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the actor lacks the permission (403).
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: no actor, or an unknown credential (401).
	ErrUnauthenticated = errors.New("unauthenticated")
)

// Error is a domain failure: a kind, a message for people, and the input
// field it concerns when there is one.
type Error struct {
	Kind    error
	Message string
	Field   string
}

// NewError returns an error of kind with a message. Aggregates keep the
// result in a package variable (a sentinel) so callers can match it.
func NewError(kind error, message string) *Error {
	return &Error{Kind: kind, Message: message}
}

// InvalidField is an ErrInvalid naming the offending field.
func InvalidField(field, message string) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Message: message}
}

// At returns e for one input field: the result matches e (and so e's
// kind) with errors.Is, and names the field.
func (e *Error) At(field string) *Error {
	return &Error{Kind: e, Message: e.Message, Field: field}
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap exposes the kind, so errors.Is(err, domain.ErrConflict) holds for
// every conflict.
func (e *Error) Unwrap() error { return e.Kind }

// Event is what every aggregate records: a payload with a stable type name.
type Event interface {
	EventType() string
}
