package commands

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
)

// ErrAccessCodeInUse: the code is already active on the same locks at an
// overlapping time.
var ErrAccessCodeInUse = booking.ErrCodeInUse

// CreatedAccessCode is a new code: the code itself is answered this once.
type CreatedAccessCode struct {
	AccessCodeID          uuid.UUID
	Code                  string
	AreaID                uuid.UUID
	ValidFrom, ValidUntil time.Time
	Result
}

// CreateAccessCode gives a booked or checked-in booking a door code (4 to
// 10 digits; a 6-digit one is generated when code is empty), valid from the
// booking's start to its end on the locks of the booked area and its
// sub-areas. Only a salted hash is stored. Needs `manage-access`.
func (s *Service) CreateAccessCode(ctx context.Context, bookingID uuid.UUID, code string) (CreatedAccessCode, error) {
	if code != "" {
		if err := validCode(code); err != nil {
			return CreatedAccessCode{}, err
		}
	}
	actor, _, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return CreatedAccessCode{}, err
	}
	id := s.newID(ctx, "accesscode")
	generated := code == ""
	if generated {
		code = s.newAccessCode(ctx, id)
	}
	saltBytes := make([]byte, 16)
	if _, err := rand.Read(saltBytes); err != nil {
		return CreatedAccessCode{}, err
	}
	sum := sha256.Sum256(append(append([]byte{}, saltBytes...), code...))
	out := CreatedAccessCode{AccessCodeID: id, Code: code}
	out.Result, err = s.onBooking(ctx, actor, bookingID, "CreateAccessCode", func(st booking.State, now time.Time) ([]domain.Event, error) {
		events, err := booking.CreateAccessCode{AccessCodeID: id, CodeHash: hex.EncodeToString(sum[:]), Salt: hex.EncodeToString(saltBytes), Code: code}.Decide(st, now)
		if err != nil {
			return nil, err
		}
		// The booking's decision refused its own codes, race-free; the read
		// model finds the codes of overlapping bookings of related areas
		// recorded before the area indexes counted sub-areas.
		if s.bookingOverlaps != nil {
			inUse, err := s.bookingOverlaps.CodeInUse(ctx, actor.AccountID, st.AreaID(), code, st.Start(), st.End())
			if err != nil {
				return nil, err
			}
			if inUse {
				return nil, ErrAccessCodeInUse
			}
		}
		out.AreaID, out.ValidFrom, out.ValidUntil = st.AreaID(), st.Start(), st.End()
		return events, nil
	})
	if err != nil || !out.Result.Replayed {
		return out, err
	}
	// A repeat of a keyed request decided nothing: answer what the first
	// one recorded, and only a code that is the recorded one. The
	// pipeline answered only events of this request (same key, command
	// and booking, same fingerprint or none recorded); their code's id is
	// this one's, or the one an earlier build derived from the key alone,
	// of which a generated code is then the HMAC.
	for _, e := range out.Result.Events {
		if c, ok := e.(booking.AccessCodeCreated); ok {
			if c.AccessCodeID != id {
				out.AccessCodeID = c.AccessCodeID
				if generated {
					code = s.newAccessCode(ctx, c.AccessCodeID)
					out.Code = code
				}
			}
			if !codeHashMatches(c.CodeHash, c.Salt, code) {
				return CreatedAccessCode{}, ErrAccessCodeKeyReused
			}
			out.AreaID, out.ValidFrom, out.ValidUntil = c.AreaID, c.ValidFrom, c.ValidUntil
			return out, nil
		}
	}
	return CreatedAccessCode{}, fmt.Errorf("replay of access code %s: its creation is not in the log", id)
}

// ErrAccessCodeKeyReused: a repeated Idempotency-Key of an access code's
// creation came with another code than the first request's.
var ErrAccessCodeKeyReused = domain.NewError(domain.ErrConflict,
	"this Idempotency-Key created an access code with another code; use a new key for a new code").At("code")

// newAccessCode returns a 6-digit code: random, or for a keyed request an
// HMAC of the code's id under the server's key, so the repeat answers the
// same code and nobody without the server key can compute it.
func (s *Service) newAccessCode(ctx context.Context, id uuid.UUID) string {
	if idempotencyKeyFrom(ctx) == "" {
		return generateCode(6)
	}
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte("accesscode\x00"))
	mac.Write(id[:])
	n := binary.BigEndian.Uint64(mac.Sum(nil)) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// codeHashMatches reports whether code hashes to hash (hex) under salt (hex).
func codeHashMatches(hash, salt, code string) bool {
	raw, err := hex.DecodeString(salt)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(append(raw, code...))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(hash)) == 1
}

// RevokeAccessCode ends an active code of a booking. Needs `manage-access`.
func (s *Service) RevokeAccessCode(ctx context.Context, bookingID, accessCodeID uuid.UUID) (Result, error) {
	actor, _, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return Result{}, err
	}
	return s.onBooking(ctx, actor, bookingID, "RevokeAccessCode", func(st booking.State, now time.Time) ([]domain.Event, error) {
		return booking.RevokeAccessCode{AccessCodeID: accessCodeID}.Decide(st, now)
	})
}

func validCode(code string) error {
	if len(code) < 4 || len(code) > 10 {
		return domain.InvalidField("code", "must be 4 to 10 digits")
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return domain.InvalidField("code", "must be 4 to 10 digits")
		}
	}
	return nil
}

// generateCode returns n random digits.
func generateCode(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}
