package commands

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/google/uuid"
)

// Service runs every command of the API against one pipeline.
type Service struct {
	p *Pipeline
	// secretKey derives the secrets of keyed (idempotent) creates, so a
	// repeated request can answer the same secret without storing it.
	secretKey []byte
	// counts sees what is inside a property or an area (SetCounts).
	counts Counts
	// memberships finds a user's groups (SetMemberships).
	memberships Memberships
	// personal seals users' personal data (SetPersonalData).
	personal PersonalData
	// userDevices finds a user's devices (SetUserDevices).
	userDevices UserDevices
	// userAPIKeys finds the keys acting as a user (SetUserAPIKeys).
	userAPIKeys UserAPIKeys
	// bookingOverlaps finds overlapping bookings (SetBookingOverlaps).
	bookingOverlaps BookingOverlaps
	// guestBookings finds a guest user's bookings (SetGuestUserBookings).
	guestBookings GuestUserBookings
	// guestsOfGuestUser finds the bookings of a guest user that have
	// registered guests (SetGuestsOfGuestUser).
	guestsOfGuestUser GuestsOfGuestUser
	// invitationProperties finds the properties holding invitations
	// (SetInvitationProperties).
	invitationProperties InvitationProperties
	// scopedUsers finds the users whose permissions name a property
	// (SetPropertyScopedUsers).
	scopedUsers PropertyScopedUsers
	// userDeleted runs when a user is deleted (OnUserDeleted).
	userDeleted []UserDeletionHook
}

// NewService returns the command service; secretKey is a server-held random
// key of at least 32 bytes, kept outside the event log.
func NewService(p *Pipeline, secretKey []byte) (*Service, error) {
	if p == nil || len(secretKey) < 32 {
		return nil, errors.New("commands: service needs a pipeline and a 32-byte secret key")
	}
	// The request fingerprints kept in event metadata are keyed by a key
	// derived from the server's, never the server's itself.
	mac := hmac.New(sha256.New, secretKey)
	mac.Write([]byte("request-fingerprint-key"))
	p.fingerprintKey = mac.Sum(nil)
	return &Service{p: p, secretKey: secretKey}, nil
}

// Pipeline is the service's pipeline.
func (s *Service) Pipeline() *Pipeline { return s.p }

// newID returns the id of an entity a command creates: random, or derived
// from the Idempotency-Key so a repeated request addresses the same entity.
func (s *Service) newID(ctx context.Context, purpose string) uuid.UUID {
	if key := idempotencyKeyFrom(ctx); key != "" {
		return uuid.NewSHA1(idempotencyNamespace, []byte("entity\x00"+purpose+"\x00"+key))
	}
	return uuid.New()
}

// secret returns a new API key secret: random, or for a keyed request an
// HMAC of the entity id under the server's key, so the repeat answers the
// same secret and nobody without the server key can compute it.
func (s *Service) secret(ctx context.Context, id uuid.UUID) string {
	if idempotencyKeyFrom(ctx) == "" {
		return NewAPIKeySecret()
	}
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte("apikey\x00"))
	mac.Write(id[:])
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
