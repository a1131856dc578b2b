package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/user"
)

// userDeletionWorld: a guest user with an e-mail (and a former one),
// invited to two properties by those addresses, with guests registered
// on a booking to come and on one cancelled long ago; and what the
// deletion must leave alone: an invitation to someone else, a booking of
// a guest by name and another user's booking, each with their guests.
type userDeletionWorld struct {
	f                          bookingFixture
	prop2                      string
	current, former, others    string // invitations: to the user's address, their former one, someone else's
	upcoming, past             string // the user's bookings
	byName, othersBooking      string
	self, companion, pastGuest string // guests on the user's bookings
	named, othersGuest         string // guests on the other bookings
}

func (h *harness) registerGuest(bookingID, name string) string {
	h.t.Helper()
	r := h.do("POST", "/bookings/"+bookingID+"/guests", rootKey, map[string]any{"displayName": name, "documentType": "passport",
		"documentNumber": "X" + strings.ToUpper(name[:3]) + "123"})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	var out struct {
		Guest struct {
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out.Guest.GuestID
}

func (h *harness) userDeletionWorld() userDeletionWorld {
	t := h.t
	t.Helper()
	w := userDeletionWorld{f: h.bookingFixture()}
	w.prop2 = h.grpProperty(rootKey)
	// The guest user's e-mail, then changed: both addresses were theirs.
	for _, email := range []string{"ana.old@example.org", "ana@example.org"} {
		r := h.do("PUT", "/users/"+w.f.guest, rootKey, map[string]any{"displayName": "Guest", "userPermissions": []any{},
			"private": map[string]string{"firstName": "Ana", "email": email}})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	invite := func(prop, email string) string {
		r := h.invite(rootKey, prop, map[string]any{"email": email, "role": "user"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		return r.field("invitationId")
	}
	w.current = invite(w.f.property, " Ana@Example.org")
	w.former = invite(w.prop2, "ana.old@example.org")
	w.others = invite(w.f.property, "bob@example.org")

	now := h.clock.Now().Truncate(time.Second)
	// Long over: booked, a guest registered, cancelled; its end is past
	// by the deletion.
	w.past = decodeBooking(t, h.book(w.f, now.Add(time.Hour), now.Add(2*time.Hour)), http.StatusCreated).BookingID
	w.pastGuest = h.registerGuest(w.past, "Pastguest")
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+w.past+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	h.clock.Advance(72 * time.Hour)
	now = h.clock.Now().Truncate(time.Second)
	// To come: the user registered, and a companion.
	w.upcoming = decodeBooking(t, h.book(w.f, now.Add(24*time.Hour), now.Add(72*time.Hour)), http.StatusCreated).BookingID
	w.self = h.registerGuest(w.upcoming, "Ana Quintanilla")
	w.companion = h.registerGuest(w.upcoming, "Companion")

	annex := h.mkArea(rootKey, w.f.property, "Annex", "")
	r := h.do("POST", "/properties/"+w.f.property+"/bookings", rootKey, map[string]any{
		"areaId": annex, "guest": map[string]any{"displayName": "Walk-in Named"},
		"startDateTime": rfc(now.Add(24 * time.Hour)), "endDateTime": rfc(now.Add(48 * time.Hour)),
	})
	w.byName = decodeBooking(t, r, http.StatusCreated).BookingID
	w.named = h.do("GET", "/bookings/"+w.byName, rootKey, nil).guestID(t)
	studio := h.mkArea(rootKey, w.f.property, "Studio", "")
	other := h.grpUser(rootKey, "Other")
	r = h.do("POST", "/properties/"+w.f.property+"/bookings", rootKey, map[string]any{
		"areaId": studio, "guest": map[string]any{"userId": other},
		"startDateTime": rfc(now.Add(24 * time.Hour)), "endDateTime": rfc(now.Add(48 * time.Hour)),
	})
	w.othersBooking = decodeBooking(t, r, http.StatusCreated).BookingID
	w.othersGuest = h.registerGuest(w.othersBooking, "Othersguest")
	h.settle()
	return w
}

// guestID reads a booking's guest given by name.
func (r reply) guestID(t testing.TB) string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var b struct {
		Guest struct {
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &b))
	require.NotEmpty(t, b.Guest.GuestID)
	return b.Guest.GuestID
}

// erasedGuests reads a booking's check-in snapshot: each guest and
// whether they are erased.
func (h *harness) erasedGuests(bookingID string) map[string]bool {
	h.t.Helper()
	r := h.do("GET", "/bookings/"+bookingID+"/check-in", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var s struct {
		Guests []struct {
			GuestID     string `json:"guestId"`
			DisplayName string `json:"displayName"`
			Erased      bool   `json:"erased"`
		} `json:"guests"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &s))
	out := map[string]bool{}
	for _, g := range s.Guests {
		require.Equal(h.t, g.Erased, g.DisplayName == "", "guest %s: erased %v, name %q", g.GuestID, g.Erased, g.DisplayName)
		out[g.GuestID] = g.Erased
	}
	return out
}

// pendingInvitations lists a property's pending invitations.
func (h *harness) pendingInvitations(propertyID string) []string {
	h.t.Helper()
	r := h.do("GET", "/properties/"+propertyID+"/invitations", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Invitations []struct {
			InvitationID string `json:"invitationId"`
		} `json:"invitations"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	out := []string{}
	for _, i := range page.Invitations {
		out = append(out, i.InvitationID)
	}
	return out
}

// invitationEmailOpens reports whether the e-mail an invitation was
// created with still opens with its key.
func (h *harness) invitationEmailOpens(propertyID, invitationID string) bool {
	h.t.Helper()
	for _, rec := range h.streamEvents(invitation.Category + "-" + propertyID) {
		if rec.Type != (invitation.PropertyInvitationCreated{}).EventType() {
			continue
		}
		var e invitation.PropertyInvitationCreated
		require.NoError(h.t, json.Unmarshal(rec.Data, &e))
		if e.InvitationID.String() != invitationID {
			continue
		}
		_, err := h.personal.Open(context.Background(), e.InvitationID, e.SealedEmail)
		if err != nil {
			require.ErrorIs(h.t, err, personaldata.ErrErased)
			return false
		}
		return true
	}
	h.t.Fatalf("invitation %s not in property %s", invitationID, propertyID)
	return false
}

// requireDeletionDone checks what the user's deletion ends and erases,
// and what it leaves.
func (w userDeletionWorld) requireDeletionDone(h *harness) {
	t := h.t
	t.Helper()
	assert.Equal(t, []string{w.others}, h.pendingInvitations(w.f.property), "the invitation to their address is withdrawn, not someone else's")
	assert.Empty(t, h.pendingInvitations(w.prop2), "the invitation to their former address is withdrawn")
	assert.False(t, h.invitationEmailOpens(w.f.property, w.current), "the withdrawn invitation's e-mail is erased")
	assert.False(t, h.invitationEmailOpens(w.prop2, w.former))
	assert.True(t, h.invitationEmailOpens(w.f.property, w.others))
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/invitations/"+w.current, rootKey, nil).Status, "withdrawn already")

	assert.Equal(t, map[string]bool{w.self: true, w.companion: true}, h.erasedGuests(w.upcoming))
	assert.Equal(t, map[string]bool{w.pastGuest: true}, h.erasedGuests(w.past), "a booking over long ago too")
	assert.Equal(t, map[string]bool{w.named: false}, h.erasedGuests(w.byName), "a guest by name is no user")
	assert.Equal(t, map[string]bool{w.othersGuest: false}, h.erasedGuests(w.othersBooking), "another user's booking")
	for _, g := range [][2]string{{w.upcoming, w.self}, {w.upcoming, w.companion}, {w.past, w.pastGuest}} {
		assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/bookings/"+g[0]+"/guests/"+g[1], rootKey, nil).Status, "erased already")
	}
	assert.Equal(t, "cancelled", h.deletedGuestBooking(w.upcoming).Status)
}

// Deleting a user withdraws the pending invitations to every address
// their personal data held (erasing the e-mails' keys) and erases every
// guest registered on the bookings they are the guest user of, whatever
// the booking's status; a repeated DELETE is a 404 that records nothing.
func TestDeletingAUserWithdrawsTheirInvitationsAndErasesTheirGuests(t *testing.T) {
	h := newHarness(t)
	w := h.userDeletionWorld()
	assert.ElementsMatch(t, []string{w.current, w.others}, h.pendingInvitations(w.f.property))
	assert.Equal(t, map[string]bool{w.self: false, w.companion: false}, h.erasedGuests(w.upcoming))

	r := h.doKeyed("DELETE", "/users/"+w.f.guest, rootKey, "delete-ana", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	w.requireDeletionDone(h)

	h.requireRepeatedDeleteRecordsNothing("/users/"+w.f.guest, "delete-ana")
	w.requireDeletionDone(h)
}

// A deletion interrupted after UserDeleted, or after a withdrawal or a
// guest's erasure was recorded but before its key was erased, is finished
// by the repeated DELETE (404).
func TestInterruptedUserDeletionWithdrawsAndErasesOnTheRepeat(t *testing.T) {
	h := newHarness(t)
	w := h.userDeletionWorld()
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	p := h.service.Pipeline()
	_, err := commands.Run(ctx, p, commands.Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve},
		uuid.MustParse(w.f.guest), "DeleteUser", user.Delete{})
	require.NoError(t, err)
	// One withdrawal and one erasure recorded, their keys not erased.
	_, err = commands.Run(ctx, p, commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve},
		uuid.MustParse(w.prop2), "DeletePropertyInvitation", invitation.Withdraw{InvitationID: uuid.MustParse(w.former)})
	require.NoError(t, err)
	_, err = commands.Run(ctx, p, commands.Aggregate[booking.State]{Category: booking.Category, Evolve: booking.Evolve},
		uuid.MustParse(w.upcoming), "EraseGuest", booking.EraseGuest{GuestID: uuid.MustParse(w.self)})
	require.NoError(t, err)
	h.settle()
	assert.True(t, h.invitationEmailOpens(w.prop2, w.former), "the interrupted withdrawal left the key")
	assert.Contains(t, h.pendingInvitations(w.f.property), w.current)
	assert.Equal(t, map[string]bool{w.self: false, w.companion: false}, h.erasedGuests(w.upcoming), "the interrupted erasure left the key")

	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+w.f.guest, rootKey, nil).Status)
	h.settle()
	w.requireDeletionDone(h)
}
