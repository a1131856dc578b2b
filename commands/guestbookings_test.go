package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/user"
)

// guestBookings is the read model EndBookingsOfUser consults, as a list
// the test gives, or a failure.
type guestBookings struct {
	ids  []uuid.UUID
	fail error
	asks int
}

func (g *guestBookings) BookingsOfGuestUser(_ context.Context, _, _ uuid.UUID, _ time.Time, after uuid.UUID, _ int) ([]uuid.UUID, error) {
	g.asks++
	if after != uuid.Nil {
		return nil, g.fail
	}
	return g.ids, g.fail
}

// EndBookingsOfUser runs for deleted users of the actor's account only,
// by a user admin, and needs its read model; a booking the read model
// names that is not the user's (or no booking at all) is passed over.
func TestEndBookingsOfUserRefusals(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	u, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Ana"})
	require.NoError(t, err)

	_, err = f.svc.EndBookingsOfUser(userOwner, u.UserID)
	require.Error(t, err, "no read model wired")
	g := &guestBookings{ids: []uuid.UUID{uuid.New()}}
	f.svc.SetGuestUserBookings(g)

	_, err = f.svc.EndBookingsOfUser(userOwner, u.UserID)
	assert.ErrorIs(t, err, user.ErrNotFound, "a live user's bookings stay")
	_, err = f.svc.EndBookingsOfUser(userOwner, uuid.New())
	assert.ErrorIs(t, err, user.ErrNotFound, "no such user")
	_, err = f.svc.DeleteUser(userOwner, u.UserID)
	require.NoError(t, err)

	other := domain.WithActor(context.Background(), domain.Actor{AccountID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	_, err = f.svc.EndBookingsOfUser(other, u.UserID)
	assert.ErrorIs(t, err, user.ErrNotFound, "another account's user")
	_, err = f.svc.EndBookingsOfUser(userActor(domain.Grant{Permission: domain.PermSupport}), u.UserID)
	assert.ErrorIs(t, err, commands.ErrPermission)

	asks := g.asks
	_, err = f.svc.EndBookingsOfUser(userActor(domain.Grant{Permission: domain.PermManageAccess, PropertyID: uuid.New()}), u.UserID)
	assert.NoError(t, err, "a booking that is none of the user's is passed over")
	assert.Equal(t, asks+1, g.asks)

	g.fail = errors.New("read model down")
	_, err = f.svc.EndBookingsOfUser(userOwner, u.UserID)
	assert.ErrorIs(t, err, g.fail)
}
