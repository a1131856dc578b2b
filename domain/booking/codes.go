package booking

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"maps"
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

// ErrCodeInUse: the code is already active on the same locks at an
// overlapping time.
var ErrCodeInUse = domain.NewError(domain.ErrConflict, "this code is already active on the same locks at an overlapping time").At("code")

// CreateAccessCode adds a code (already hashed) to a booked or checked-in
// booking. Code, the code itself, is compared with the booking's active
// codes and never recorded: another live booking whose codes could share
// a lock with this one's (a booking of the same area, an ancestor or a
// sub-area) never overlaps it, as the area indexes see to, so the
// booking's own codes are the only ones that can clash, and the check
// runs in the booking's decision, appended at its revision: of two equal
// codes created at once, the second sees the first.
type CreateAccessCode struct {
	AccessCodeID   uuid.UUID
	CodeHash, Salt string
	Code           string
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
	if c.Code != "" && s.codeActive(c.Code) {
		return nil, ErrCodeInUse
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

// codeHash is a code's salted hash as AccessCodeCreated keeps it.
type codeHash struct{ hash, salt string }

// matches reports whether code hashes to h with h's salt.
func (h codeHash) matches(code string) bool {
	salt, err := hex.DecodeString(h.salt)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(append(salt, code...))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(h.hash)) == 1
}

// codeActive reports whether one of the booking's active codes is code.
func (s State) codeActive(code string) bool {
	for id, active := range s.codes {
		if active && s.codeHashes[id].matches(code) {
			return true
		}
	}
	return false
}

func withHash(hashes map[uuid.UUID]codeHash, id uuid.UUID, h codeHash) map[uuid.UUID]codeHash {
	out := maps.Clone(hashes)
	if out == nil {
		out = map[uuid.UUID]codeHash{}
	}
	out[id] = h
	return out
}
