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

// newID returns the id of an entity a command records in another
// entity's stream (an access code or a guest in its booking's, an
// invitation in its property's members stream): random, or derived from
// the Idempotency-Key so a repeated request addresses the same entity.
//
// A client's request (one with a fingerprint) derives it from the key and
// the request's sealed fingerprint. The parent stream a request names
// holds the key's events only if this key was used on it: a different
// request under the same key on another booking or property would find
// nothing there, and with an id from the key alone it recorded its entity
// under the first request's id (two bookings sharing one access code's or
// guest's id, a revocation or an erasure on one reaching the other's).
// With the fingerprint in the id, two different requests never share one;
// a true retry has the same fingerprint and so the same id. Keys without
// a fingerprint (the server's own, callers outside HTTP) derive ids from
// the key alone, as every earlier build did for every key. A client's
// retry of a request such a build recorded finds its events in the
// parent's stream under the key (event ids still derive from the key
// alone) and the command answers the id recorded there.
func (s *Service) newID(ctx context.Context, purpose string) uuid.UUID {
	key := idempotencyKeyFrom(ctx)
	if key == "" {
		return uuid.New()
	}
	if fp := fingerprintFrom(ctx); fp != "" {
		return uuid.NewSHA1(idempotencyNamespace, []byte("entity\x00"+purpose+"\x00"+key+"\x00"+s.p.sealFingerprint(fp)))
	}
	return keyedEntityID(purpose, key)
}

// keyedEntityID is the id derived from a key alone.
func keyedEntityID(purpose, key string) uuid.UUID {
	return uuid.NewSHA1(idempotencyNamespace, []byte("entity\x00"+purpose+"\x00"+key))
}

// newRootID returns the id of an entity with a stream of its own,
// category-<id>: random, or derived from the Idempotency-Key alone (as
// every build did), since that stream, the key's own, is where any
// request reusing the key for the same kind of entity lands: its events
// carry the first request's fingerprint, and another request is refused
// with ErrIdempotencyKeyReused. newRootID checks that stream first, so a
// command that writes other streams before the entity's own (a lock's key
// claim, a booking's slots, an area's group) refuses before it writes
// any. Ids recorded only in such a stream (a device's first access key)
// may come from rootChildID.
func (s *Service) newRootID(ctx context.Context, purpose, category string) (uuid.UUID, error) {
	key := idempotencyKeyFrom(ctx)
	if key == "" {
		return uuid.New(), nil
	}
	id := keyedEntityID(purpose, key)
	if err := s.p.checkKeyedStream(ctx, category+"-"+id.String(), key); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// rootChildID returns the id of an entity recorded only in the stream of
// a root entity the same command creates (see newRootID): derived from
// the key alone, as that stream is the request's own.
func (s *Service) rootChildID(ctx context.Context, purpose string) uuid.UUID {
	if key := idempotencyKeyFrom(ctx); key != "" {
		return keyedEntityID(purpose, key)
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
