package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/invitation"
)

// keyedAs is ctx with an Idempotency-Key and, unless fp is empty, a
// request fingerprint (what the HTTP layer adds).
func keyedAs(ctx context.Context, key, fp string) context.Context {
	ctx = commands.WithIdempotencyKey(ctx, key)
	if fp != "" {
		ctx = commands.WithRequestFingerprint(ctx, fp)
	}
	return ctx
}

// twoBookingsOf books two areas of a new property for a new user.
func twoBookingsOf(t *testing.T, f *userFixture) (uuid.UUID, uuid.UUID, uuid.UUID) {
	t.Helper()
	prop, err := f.svc.CreateProperty(userOwner, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	guest, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Guest"})
	require.NoError(t, err)
	start := clock.Add(time.Hour)
	var ids []uuid.UUID
	for _, name := range []string{"Room 1", "Room 2"} {
		a, err := f.svc.CreateArea(userOwner, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: name, AreaType: area.TypeResident})
		require.NoError(t, err)
		b, err := f.svc.CreateBooking(userOwner, commands.CreateBooking{PropertyID: prop.PropertyID, AreaID: a.AreaID,
			GuestUserID: guest.UserID, StartDateTime: start, EndDateTime: start.Add(24 * time.Hour)})
		require.NoError(t, err)
		ids = append(ids, b.BookingID)
	}
	return prop.PropertyID, ids[0], ids[1]
}

// A key that created an entity in one parent stream (an access code or a
// guest of one booking) is the first request's: the same create on
// another booking under it is refused, and records nothing there; a true
// retry still answers the first one's entity.
func TestOneKeyOnTwoParentsIsRefused(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	_, b1, b2 := twoBookingsOf(t, f)

	c1, err := f.svc.CreateAccessCode(keyedAs(userOwner, "k", "POST /bookings/1/access-codes"), b1, "")
	require.NoError(t, err)
	again, err := f.svc.CreateAccessCode(keyedAs(userOwner, "k", "POST /bookings/1/access-codes"), b1, "")
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, c1.AccessCodeID, again.AccessCodeID)
	assert.Equal(t, c1.Code, again.Code)
	_, err = f.svc.CreateAccessCode(keyedAs(userOwner, "k", "POST /bookings/2/access-codes"), b2, "")
	assert.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)

	_, err = f.svc.RegisterGuest(keyedAs(userOwner, "g", "POST /bookings/1/guests"), b1, commands.GuestDetails{DisplayName: "Hana"})
	require.NoError(t, err)
	_, err = f.svc.RegisterGuest(keyedAs(userOwner, "g", "POST /bookings/2/guests"), b2, commands.GuestDetails{DisplayName: "Ivan"})
	assert.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)
	_, err = f.svc.RegisterGuest(keyedAs(userOwner, "g", "POST /bookings/1/guests other"), b1, commands.GuestDetails{DisplayName: "Olga"})
	assert.ErrorIs(t, err, commands.ErrIdempotencyKeyReused, "another request on the same booking is refused")

	for _, rec := range f.events(t, "booking-"+b2.String()) {
		assert.NotContains(t, []string{booking.AccessCodeCreated{}.EventType(), booking.GuestRegistered{}.EventType()}, rec.Type,
			"nothing recorded on the second booking")
	}
}

// A retry, with a fingerprint, of a request an earlier build recorded
// under ids derived from the key alone (what a caller without a
// fingerprint still gets) answers the recorded entity, with its code or
// token, and records nothing.
func TestRetryOfARequestRecordedWithKeyOnlyIDs(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	prop, b1, _ := twoBookingsOf(t, f)

	old, err := f.svc.CreateAccessCode(keyedAs(userOwner, "old-code", ""), b1, "")
	require.NoError(t, err)
	retry, err := f.svc.CreateAccessCode(keyedAs(userOwner, "old-code", "POST /bookings/1/access-codes"), b1, "")
	require.NoError(t, err)
	assert.True(t, retry.Replayed)
	assert.Equal(t, old.AccessCodeID, retry.AccessCodeID)
	assert.Equal(t, old.Code, retry.Code, "the generated code is the recorded id's")

	oldGuest, err := f.svc.RegisterGuest(keyedAs(userOwner, "old-guest", ""), b1, commands.GuestDetails{DisplayName: "Hana"})
	require.NoError(t, err)
	retryGuest, err := f.svc.RegisterGuest(keyedAs(userOwner, "old-guest", "POST /bookings/1/guests"), b1, commands.GuestDetails{DisplayName: "Hana"})
	require.NoError(t, err)
	assert.True(t, retryGuest.Replayed)
	assert.Equal(t, oldGuest.GuestID, retryGuest.GuestID)

	oldInv, err := f.svc.InviteToProperty(keyedAs(userOwner, "old-inv", ""), commands.InviteToProperty{PropertyID: prop, Email: "q1@example.com", Role: invitation.RoleStaff})
	require.NoError(t, err)
	retryInv, err := f.svc.InviteToProperty(keyedAs(userOwner, "old-inv", "POST /properties/1/invitations"), commands.InviteToProperty{PropertyID: prop, Email: "q1@example.com", Role: invitation.RoleStaff})
	require.NoError(t, err)
	assert.True(t, retryInv.Replayed)
	assert.Equal(t, oldInv.InvitationID, retryInv.InvitationID)
	assert.Equal(t, oldInv.Token, retryInv.Token)

	var codes, guests int
	for _, rec := range f.events(t, "booking-"+b1.String()) {
		switch rec.Type {
		case booking.AccessCodeCreated{}.EventType():
			codes++
		case booking.GuestRegistered{}.EventType():
			guests++
		}
	}
	assert.Equal(t, 1, codes, "nothing recorded twice")
	assert.Equal(t, 1, guests)
}
