package commands

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
)

// GuestDetails are a registered guest's personal data: sealed with a key
// of the guest's own, never stored in the clear.
type GuestDetails struct {
	DisplayName    string `json:"displayName"`
	Email          string `json:"email,omitempty"`
	PhoneNumber    string `json:"phoneNumber,omitempty"`
	DocumentType   string `json:"documentType,omitempty"`
	DocumentNumber string `json:"documentNumber,omitempty"`
	Nationality    string `json:"nationality,omitempty"`
	BirthDate      string `json:"birthDate,omitempty"`
}

// Validate checks the details' fields.
func (g GuestDetails) Validate() error {
	if err := domain.ValidateName("displayName", g.DisplayName); err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{
		{"documentType", g.DocumentType}, {"documentNumber", g.DocumentNumber},
	} {
		if err := domain.ValidateText(f.name, f.value, 200); err != nil {
			return err
		}
	}
	// The same rules as a user's private details.
	if err := validateEmail("email", g.Email); err != nil {
		return err
	}
	if err := validatePhone("phoneNumber", g.PhoneNumber); err != nil {
		return err
	}
	if g.Nationality != "" && !isCountryCode(g.Nationality) {
		return domain.InvalidField("nationality", "must be a country code of two capital letters (ISO 3166-1 alpha-2), such as ES")
	}
	if g.BirthDate != "" {
		born, err := time.Parse(time.DateOnly, g.BirthDate)
		if err != nil {
			return domain.InvalidField("birthDate", "must be a date, YYYY-MM-DD")
		}
		// Year 0 parses, but is outside the years 1 to 9999 every date
		// of the API keeps to.
		if err := domain.ValidateInstant("birthDate", born); err != nil {
			return err
		}
	}
	return nil
}

// RegisteredGuest is a new guest of a booking.
type RegisteredGuest struct {
	GuestID uuid.UUID
	Result
}

// RegisterGuest records a guest of a booked or checked-in booking, the
// details sealed per guest (erasing the guest's key erases the person).
// Needs `manage-access`.
func (s *Service) RegisterGuest(ctx context.Context, bookingID uuid.UUID, g GuestDetails) (RegisteredGuest, error) {
	if err := g.Validate(); err != nil {
		return RegisteredGuest{}, err
	}
	actor, _, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return RegisteredGuest{}, err
	}
	reg, err := s.sealGuest(ctx, g)
	if err != nil {
		res, err := replayIfGuestErased(ctx, s.p, bookingAgg, bookingID, "RegisterGuest", err)
		return RegisteredGuest{GuestID: guestIDOf(res), Result: res}, err
	}
	res, err := s.onBooking(ctx, actor, bookingID, "RegisterGuest", func(st booking.State, now time.Time) ([]domain.Event, error) {
		return reg.Decide(st, now)
	})
	id := reg.GuestID
	if res.Replayed {
		// The guest the first run recorded: this id, or the one an
		// earlier build derived from the key alone.
		if g := guestIDOf(res); g != uuid.Nil {
			id = g
		}
	}
	return RegisteredGuest{GuestID: id, Result: res}, err
}

// sealGuest validates a guest's details and seals them with a new key of
// the guest's own.
func (s *Service) sealGuest(ctx context.Context, g GuestDetails) (*booking.RegisterGuest, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	// A birth date is not in the future (a day of slack: "today" in the
	// zones ahead of UTC).
	if born, err := time.Parse(time.DateOnly, g.BirthDate); err == nil && born.After(s.p.Now().UTC().AddDate(0, 0, 1)) {
		return nil, domain.InvalidField("birthDate", "must not be in the future")
	}
	if s.personal == nil {
		return nil, errNoPersonalData
	}
	id := s.newID(ctx, "guest")
	plain, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	sealed, err := s.personal.Seal(ctx, id, plain)
	if errors.Is(err, personaldata.ErrErased) {
		return nil, errGuestErased
	}
	if err != nil {
		return nil, err
	}
	return &booking.RegisterGuest{GuestID: id, Personal: sealed}, nil
}

// guestIDOf is the guest a replayed registration recorded.
func guestIDOf(res Result) uuid.UUID {
	for _, e := range res.Events {
		if g, ok := e.(booking.GuestRegistered); ok {
			return g.GuestID
		}
	}
	return uuid.Nil
}

// errGuestErased: the guest id, derived from the request's Idempotency-Key,
// names a guest whose key was erased, so this repeats the request that
// registered them. Commands answer such a repeat with what that request
// recorded (replayIfGuestErased); this error reaches the caller only if
// nothing was recorded under the key.
var errGuestErased = domain.NewError(domain.ErrConflict,
	"the guest this Idempotency-Key registered has been erased since; a new request needs a new Idempotency-Key")

// replayIfGuestErased answers a request whose guest was erased since it
// first ran: the pipeline finds what the first run recorded under the same
// key before it decides, and only a request that recorded nothing reaches
// the decision, which refuses it. Any other error is returned as it is.
func replayIfGuestErased[S any](ctx context.Context, p *Pipeline, agg Aggregate[S], id uuid.UUID, name string, err error) (Result, error) {
	if !errors.Is(err, errGuestErased) {
		return Result{}, err
	}
	return Execute(ctx, p, agg, id, name, func(Loaded[S], time.Time) ([]domain.Event, error) {
		return nil, errGuestErased
	})
}

// SeesGuestDetails reports whether the actor may read the details of a
// booking's guests: `owner` or `manage-access` for the booking's property,
// the permissions that register and erase them. Other readers of the
// booking learn only that a guest is registered.
func SeesGuestDetails(a domain.Actor, propertyID uuid.UUID) bool {
	return a.CanAny(propertyID, domain.PermManageAccess, domain.PermOwner)
}

// OpenGuestDetails opens a guest's sealed details; nil, nil once the
// guest's key is erased.
func OpenGuestDetails(ctx context.Context, o Opener, guestID uuid.UUID, sealed string) (*GuestDetails, error) {
	plain, err := o.Open(ctx, guestID, sealed)
	if errors.Is(err, personaldata.ErrErased) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var g GuestDetails
	if err := json.Unmarshal(plain, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// isCountryCode reports whether s has the form of an ISO 3166-1 alpha-2
// code: two letters A to Z.
func isCountryCode(s string) bool {
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return false
	}
	// A code assigned to a country (x/text's CLDR region data), not a
	// private-use (XX, AA, QM) or grouping (EU, UN) one.
	r, err := language.ParseRegion(s)
	return err == nil && r.IsCountry() && r.ISO3() != "ZZZ"
}
