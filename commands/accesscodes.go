package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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
	if code == "" {
		code = generateCode(6)
	} else if err := validCode(code); err != nil {
		return CreatedAccessCode{}, err
	}
	actor, _, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return CreatedAccessCode{}, err
	}
	saltBytes := make([]byte, 16)
	if _, err := rand.Read(saltBytes); err != nil {
		return CreatedAccessCode{}, err
	}
	sum := sha256.Sum256(append(append([]byte{}, saltBytes...), code...))
	id := s.newID(ctx, "accesscode")
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
	return out, err
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
