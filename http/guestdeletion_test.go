package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/user"
)

// deletedGuestBooking is the part of a booking document the deletion of
// its guest user changes.
type deletedGuestBooking struct {
	Status             string     `json:"status"`
	CheckedOutAt       *time.Time `json:"checkedOutAt"`
	CheckOutMethod     string     `json:"checkOutMethod"`
	CheckOutReason     string     `json:"checkOutReason"`
	CancelledAt        *time.Time `json:"cancelledAt"`
	CancellationReason string     `json:"cancellationReason"`
}

func (h *harness) deletedGuestBooking(id string) deletedGuestBooking {
	h.t.Helper()
	r := h.do("GET", "/bookings/"+id, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var b deletedGuestBooking
	require.NoError(h.t, json.Unmarshal(r.Data, &b))
	return b
}

// guestDeletionWorld: a checked-in stay of one guest user (phone and code
// on the flat's lock), a future booked booking of another (a code on the
// studio's lock), and a booking of a guest given by name.
type guestDeletionWorld struct {
	f                    bookingFixture
	studio, studioLock   string
	booker               string
	stay, booked, byName string
	stayEnd, bookedStart time.Time
	sched                *commands.BookingScheduler
}

func (h *harness) guestDeletionWorld() guestDeletionWorld {
	t := h.t
	t.Helper()
	w := guestDeletionWorld{f: h.bookingFixture()}
	w.studio = h.mkArea(rootKey, w.f.property, "Studio", "")
	l := h.provisionLock(rootKey, "Studio door")
	w.studioLock = l.LockID
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(w.f.property, w.studio, l.LockID), rootKey, nil).Status)
	w.booker = h.grpUser(rootKey, "Booker")
	h.provisionDevice(rootKey, w.booker, "booker phone")
	annex := h.mkArea(rootKey, w.f.property, "Annex", "")

	now := h.clock.Now().Truncate(time.Second)
	w.stayEnd = now.Add(24 * time.Hour)
	// A stay in progress: started an hour ago.
	w.stay = decodeBooking(t, h.book(w.f, now.Add(-time.Hour), w.stayEnd), http.StatusCreated).BookingID
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+w.stay+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)
	require.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+w.stay+"/access-codes", rootKey, map[string]any{}).Status)

	w.bookedStart = now.Add(3 * time.Hour)
	r := h.do("POST", "/properties/"+w.f.property+"/bookings", rootKey, map[string]any{
		"areaId": w.studio, "guest": map[string]any{"userId": w.booker},
		"startDateTime": rfc(w.bookedStart), "endDateTime": rfc(w.bookedStart.Add(48 * time.Hour)),
	})
	w.booked = decodeBooking(t, r, http.StatusCreated).BookingID
	require.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+w.booked+"/access-codes", rootKey, map[string]any{}).Status)

	r = h.do("POST", "/properties/"+w.f.property+"/bookings", rootKey, map[string]any{
		"areaId": annex, "guest": map[string]any{"displayName": "Walk-in Named"},
		"startDateTime": rfc(w.bookedStart), "endDateTime": rfc(w.bookedStart.Add(48 * time.Hour)),
	})
	w.byName = decodeBooking(t, r, http.StatusCreated).BookingID

	sched, err := commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	w.sched = sched
	h.settle()
	require.Len(t, h.keyMap(rootKey, w.f.lockID).KeyMapEntries, 2, "the stay's phone and code")
	require.Len(t, h.codeEntries(w.studioLock), 1, "the booked booking's code")
	return w
}

// tick runs the scheduler's transitions and its reconciliation and
// returns how many events each appended.
func (w guestDeletionWorld) tick(h *harness) (transitions, repairs int) {
	h.t.Helper()
	h.settle()
	n, err := w.sched.Tick(context.Background())
	require.NoError(h.t, err)
	h.settle()
	m, err := w.sched.Reconcile(context.Background())
	require.NoError(h.t, err)
	h.settle()
	return n, m
}

// Deleting a user who is the guest of bookings ends them: the booked one
// is cancelled (userDeleted), the checked-in stay is checked out at the
// deletion; their codes and the stay's membership leave the key maps,
// the calendar follows, a booking of a guest by name is untouched, and the
// scheduler (transitions and reconciliation) does nothing more, however
// far the clock moves.
func TestDeletingAGuestUserEndsTheirBookings(t *testing.T) {
	h := newHarness(t)
	w := h.guestDeletionWorld()
	before := h.clock.Now()

	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+w.f.guest, rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+w.booker, rootKey, nil).Status)
	h.settle()

	stay := h.deletedGuestBooking(w.stay)
	assert.Equal(t, "checkedOut", stay.Status)
	if assert.NotNil(t, stay.CheckedOutAt) {
		assert.False(t, stay.CheckedOutAt.Before(before.Truncate(time.Second)), "checked out at the deletion")
	}
	assert.Equal(t, "userDeleted", stay.CheckOutReason)
	assert.Empty(t, stay.CheckOutMethod, "nobody checked out by a method")
	booked := h.deletedGuestBooking(w.booked)
	assert.Equal(t, "cancelled", booked.Status)
	assert.Equal(t, "userDeleted", booked.CancellationReason)
	assert.NotNil(t, booked.CancelledAt)
	assert.Equal(t, "booked", h.deletedGuestBooking(w.byName).Status, "a guest by name is no user")

	list := "/properties/" + w.f.property + "/bookings"
	assert.Equal(t, []string{w.byName}, h.bookingIDs(list+"?status=booked,checkedIn"))
	assert.Equal(t, []string{w.stay}, h.bookingIDs(list+"?status=checkedOut"))
	assert.Equal(t, []string{w.booked}, h.bookingIDs(list+"?status=cancelled"))
	r := h.do("GET", "/properties/"+w.f.property+"/bookings/current", rootKey, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, "no stay is in progress any more")

	from, to := before.Add(-24*time.Hour).UTC().Format(time.RFC3339), before.Add(10*24*time.Hour).UTC().Format(time.RFC3339)
	for _, it := range calItems(t, h.do("GET", "/properties/"+w.f.property+"/calendar?from="+from+"&to="+to, rootKey, nil)) {
		assert.NotEqual(t, w.booked, it.BookingID, "a cancelled booking leaves the calendar (%s)", it.Type)
		if it.BookingID == w.stay {
			assert.NotEqual(t, "accessCode", it.Type, "the stay's code was revoked")
			if stay.CheckedOutAt != nil {
				assert.False(t, it.End.After(*stay.CheckedOutAt), "the stay's %s ends at the check-out", it.Type)
			} else {
				t.Errorf("the stay's %s is still on the calendar until %s", it.Type, it.End)
			}
		}
	}

	assert.Empty(t, h.keyMap(rootKey, w.f.lockID).KeyMapEntries, "neither the stay's membership nor its code opens the flat")
	assert.Empty(t, h.codeEntries(w.studioLock), "the cancelled booking's code is revoked")
	assert.False(t, h.isMember(w.f.flatGroup, w.f.guest), "the stay's membership is gone")

	// The scheduler acts on the booking of the guest by name alone (its
	// noCheckIn); nothing of the deleted guests' bookings moves.
	untouched := w.streams(h)
	n, m := w.tick(h)
	assert.Zero(t, n, "no transition for a deleted guest")
	assert.Zero(t, m, "no membership repaired for a deleted guest")
	transitions := 0
	for _, step := range []time.Duration{3 * time.Hour, 24 * time.Hour, 48 * time.Hour} {
		h.clock.Advance(step)
		n, m = w.tick(h)
		transitions += n
		assert.Zero(t, m, "no repair after %s", step)
	}
	assert.Equal(t, 1, transitions, "the guest by name's noCheckIn, nothing else")
	assert.Equal(t, "noCheckIn", h.deletedGuestBooking(w.byName).Status)
	assert.Equal(t, untouched, w.streams(h), "the scheduler appended nothing for the deleted guests")
	assert.Equal(t, "checkedOut", h.deletedGuestBooking(w.stay).Status)
	assert.Equal(t, "cancelled", h.deletedGuestBooking(w.booked).Status)
	assert.Empty(t, h.keyMap(rootKey, w.f.lockID).KeyMapEntries)
	assert.False(t, h.isMember(w.f.flatGroup, w.f.guest))

	// A repeated deletion is a 404 and changes nothing.
	head := h.headPosition()
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+w.f.guest, rootKey, nil).Status)
	h.settle()
	assert.Equal(t, head, h.headPosition())
}

// streams counts the events of the streams the deleted guests' bookings
// touch: the bookings, the flat's group and the areas' booking indexes.
func (w guestDeletionWorld) streams(h *harness) map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, s := range []string{"booking-" + w.stay, "booking-" + w.booked, "group-" + w.f.flatGroup,
		"areabookings-" + w.f.flat, "areabookings-" + w.studio} {
		out[s] = len(h.streamEvents(s))
	}
	return out
}

// A deletion interrupted right after UserDeleted leaves the bookings as
// they were; the reconciliation meanwhile does not give the deleted
// user's stay a membership back, a check-in of their booked booking is
// refused, and the repeated DELETE (404) ends both bookings.
func TestInterruptedGuestDeletionIsCompletedByARepeatedDelete(t *testing.T) {
	h := newHarness(t)
	w := h.guestDeletionWorld()
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	agg := commands.Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve}
	for _, id := range []string{w.f.guest, w.booker} {
		_, err := commands.Run(ctx, h.service.Pipeline(), agg, uuid.MustParse(id), "DeleteUser", user.Delete{})
		require.NoError(t, err)
	}
	// Someone removes the stay's membership by hand meanwhile: the
	// reconciliation must not give it back to a deleted user.
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(w.f.property, w.f.flatGroup, w.f.guest), rootKey, nil).Status)
	h.settle()
	assert.Equal(t, "checkedIn", h.deletedGuestBooking(w.stay).Status)
	_, m := w.tick(h)
	assert.Zero(t, m, "no membership for a deleted user")
	assert.False(t, h.isMember(w.f.flatGroup, w.f.guest))

	h.clock.Advance(2*time.Hour + 30*time.Minute) // the booked booking's check-in opens
	r := h.do("POST", "/bookings/"+w.booked+"/check-in", rootKey, map[string]any{"method": "manual"})
	assert.Equal(t, http.StatusConflict, r.Status, r.Error)
	assert.Equal(t, "booked", h.deletedGuestBooking(w.booked).Status)

	for _, id := range []string{w.f.guest, w.booker} {
		assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+id, rootKey, nil).Status)
	}
	h.settle()
	assert.Equal(t, "checkedOut", h.deletedGuestBooking(w.stay).Status)
	b := h.deletedGuestBooking(w.booked)
	assert.Equal(t, "cancelled", b.Status)
	assert.Equal(t, "userDeleted", b.CancellationReason)
	assert.Empty(t, h.keyMap(rootKey, w.f.lockID).KeyMapEntries)
	assert.Empty(t, h.codeEntries(w.studioLock))
	head := h.headPosition()
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+w.booker, rootKey, nil).Status)
	n, m := w.tick(h)
	assert.Zero(t, n+m)
	assert.Equal(t, head, h.headPosition(), "nothing is left to do")
}

func (h *harness) headPosition() uint64 {
	h.t.Helper()
	head, err := h.store.HeadPosition(context.Background())
	require.NoError(h.t, err)
	return head
}

// requireRepeatedDeleteRecordsNothing repeats a DELETE that succeeded
// under the Idempotency-Key idem: the same request answers 200 again, a
// new one 404, and neither records anything.
func (h *harness) requireRepeatedDeleteRecordsNothing(path, idem string) {
	h.t.Helper()
	head := h.headPosition()
	r := h.doKeyed("DELETE", path, rootKey, idem, nil)
	assert.Equal(h.t, http.StatusOK, r.Status, "the same request again: %s", r.Error)
	assert.Equal(h.t, http.StatusNotFound, h.do("DELETE", path, rootKey, nil).Status)
	h.settle()
	assert.Equal(h.t, head, h.headPosition(), "a repeated deletion records nothing")
}

// isMember reads the group's stream: whether the user is a member of it.
func (h *harness) isMember(groupID, userID string) bool {
	h.t.Helper()
	agg := commands.Aggregate[group.State]{Category: group.Category, Evolve: group.Evolve}
	l, err := commands.Load(context.Background(), h.service.Pipeline(), agg, uuid.MustParse(groupID))
	require.NoError(h.t, err)
	_, member := l.State.Member(uuid.MustParse(userID))
	return member
}
