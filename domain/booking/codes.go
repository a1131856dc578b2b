package booking

import (
	"bytes"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// AccessCodeCreated: a door code for the booking, valid on the locks of
// the booked area and its sub-areas from the booking's start to its end.
// Only a salted hash is kept: CodeHash is hex(sha256(salt || code)) and
// Salt the hex of the per-code random salt.
type AccessCodeCreated struct {
	AccessCodeID uuid.UUID `json:"accessCodeId"`
	BookingID    uuid.UUID `json:"bookingId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
	AreaID       uuid.UUID `json:"areaId"`
	CodeHash     string    `json:"codeHash"`
	Salt         string    `json:"salt"`
	ValidFrom    time.Time `json:"validFrom"`
	ValidUntil   time.Time `json:"validUntil"`
}

// AccessCodeRevoked: a code stopped working (revoked, or its booking
// cancelled or ended).
type AccessCodeRevoked struct {
	AccessCodeID uuid.UUID `json:"accessCodeId"`
	BookingID    uuid.UUID `json:"bookingId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
	AreaID       uuid.UUID `json:"areaId"`
}

// EventType names the event in the log.
func (AccessCodeCreated) EventType() string { return "AccessCodeCreated" }

// EventType names the event in the log.
func (AccessCodeRevoked) EventType() string { return "AccessCodeRevoked" }

// ErrAccessCodeNotFound: no such active code on the booking.
var ErrAccessCodeNotFound = domain.NewError(domain.ErrNotFound, "access code not found")

// CreateAccessCode adds a code (already hashed) to a booked or checked-in
// booking.
type CreateAccessCode struct {
	AccessCodeID   uuid.UUID
	CodeHash, Salt string
}

// Decide records AccessCodeCreated with the booking's window.
func (c CreateAccessCode) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if s.status != StatusBooked && s.status != StatusCheckedIn {
		return nil, s.transition("given access codes")
	}
	if err := domain.RequireID("accessCodeId", c.AccessCodeID); err != nil {
		return nil, err
	}
	if c.CodeHash == "" || c.Salt == "" {
		return nil, domain.InvalidField("code", "hash and salt are required")
	}
	return []domain.Event{AccessCodeCreated{
		AccessCodeID: c.AccessCodeID, BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID,
		CodeHash: c.CodeHash, Salt: c.Salt, ValidFrom: s.start, ValidUntil: s.end,
	}}, nil
}

// RevokeAccessCode ends one active code of the booking.
type RevokeAccessCode struct {
	AccessCodeID uuid.UUID
}

// Decide records AccessCodeRevoked.
func (c RevokeAccessCode) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.created || !s.codes[c.AccessCodeID] {
		return nil, ErrAccessCodeNotFound
	}
	return []domain.Event{s.revoked(c.AccessCodeID)}, nil
}

func (s State) revoked(id uuid.UUID) AccessCodeRevoked {
	return AccessCodeRevoked{AccessCodeID: id, BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID}
}

// revokeAll follows an ending event with the revocation of every active
// code, in a stable order.
func (s State) revokeAll(ending domain.Event) []domain.Event {
	out := []domain.Event{ending}
	for _, id := range s.ActiveCodes() {
		out = append(out, s.revoked(id))
	}
	return out
}

// ActiveCodes lists the booking's active codes, sorted.
func (s State) ActiveCodes() []uuid.UUID {
	out := make([]uuid.UUID, 0, len(s.codes))
	for id, active := range s.codes {
		if active {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return out
}
