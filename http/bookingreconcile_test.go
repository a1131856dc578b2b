package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
)

// A crash between a booking's status event and its membership write
// leaves access wrong; the scheduler's reconciliation repairs it, once,
// however many schedulers run it at the same time.
func TestBookingSchedulerReconcilesMemberships(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	end := start.Add(24 * time.Hour)
	b := decodeBooking(t, h.book(f, start, end), http.StatusCreated)
	id := uuid.MustParse(b.BookingID)
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	agg := commands.Aggregate[booking.State]{Category: booking.Category, Evolve: booking.Evolve}
	// crash appends only the booking's own event, as a process dying
	// right after it would.
	crash := func(name string, cmd commands.Decider[booking.State]) {
		t.Helper()
		_, err := commands.Run(ctx, h.service.Pipeline(), agg, id, name, cmd)
		require.NoError(t, err)
		h.settle()
	}
	reconcile := h.reconcileBookings
	groupEvents := func(typ string) int { return h.countEvents("group-"+f.flatGroup, typ) }

	assert.Equal(t, 0, reconcile(1), "a booked booking has nothing to repair")
	crash("CheckInBooking", booking.CheckIn{Method: "manual", Settings: booking.Settings{CheckInOpensBefore: time.Hour}})
	assert.Equal(t, "checkedIn", decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status)
	assert.Empty(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, "the crash left the guest outside")

	assert.GreaterOrEqual(t, reconcile(4), 1, "racing schedulers may each report the same repair")
	km := h.keyMap(rootKey, f.lockID)
	require.Len(t, km.KeyMapEntries, 1)
	assert.Equal(t, f.guest, km.KeyMapEntries[0].UserID)
	assert.Contains(t, string(km.KeyMapEntries[0].Schedule), rfc(end)[:16], "the membership ends with the booking")
	assert.Equal(t, 1, groupEvents("UserAddedToGroup"), "four schedulers repaired it once")
	assert.Equal(t, 0, reconcile(1), "nothing left to repair")

	crash("CheckOutBooking", booking.CheckOut{Method: "manual"})
	require.Len(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, 1, "the crash left the guest inside")
	assert.GreaterOrEqual(t, reconcile(4), 1, "racing schedulers may each report the same repair")
	assert.Empty(t, h.keyMap(rootKey, f.lockID).KeyMapEntries)
	assert.Equal(t, 1, groupEvents("UserRemovedFromGroup"), "four schedulers repaired it once")
	assert.Equal(t, 0, reconcile(1))
}

// reconcileBookings runs the booking reconciliation on as many schedulers
// at once, once the read models have settled, and returns the repairs
// they report in all.
func (h *harness) reconcileBookings(schedulers int) int {
	h.t.Helper()
	h.settle()
	var wg sync.WaitGroup
	counts := make([]int, schedulers)
	for i := range schedulers {
		sched, err := commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
		require.NoError(h.t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := sched.Reconcile(context.Background())
			assert.NoError(h.t, err)
			counts[i] = n
		}()
	}
	wg.Wait()
	h.settle()
	total := 0
	for _, n := range counts {
		total += n
	}
	return total
}

// countEvents counts the events of a type in a stream.
func (h *harness) countEvents(stream, typ string) int {
	h.t.Helper()
	n := 0
	for _, rec := range h.streamEvents(stream) {
		if rec.Type == typ {
			n++
		}
	}
	return n
}

// Given a checked-in guest, when an operator removes the stay's membership
// by hand, or moves its end, then every reconciliation after it restores
// the stay's membership: each drift is repaired, not only the first, and
// each once, however many schedulers race on it or run again.
func TestBookingReconcileRepairsEveryDrift(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	now := h.clock.Now().Truncate(time.Second)
	end := now.Add(5 * time.Hour)
	b := decodeBooking(t, h.book(f, now.Add(-time.Hour), end), http.StatusCreated)
	decodeBooking(t, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}), http.StatusOK)
	member := grpMemberPath(f.property, f.flatGroup, f.guest)
	stream := "group-" + f.flatGroup
	stays := func() bool {
		t.Helper()
		h.settle()
		km := h.keyMap(rootKey, f.lockID)
		return len(km.KeyMapEntries) == 1 && strings.Contains(string(km.KeyMapEntries[0].Schedule), rfc(end)[:16])
	}
	require.True(t, stays(), "the check-in admitted the guest until the end")
	assert.Equal(t, 0, h.reconcileBookings(1), "nothing to repair")

	for round := 1; round <= 3; round++ {
		r := h.do("DELETE", member, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		require.False(t, stays(), "round %d: removed by hand", round)
		assert.GreaterOrEqual(t, h.reconcileBookings(4), 1, "round %d", round)
		assert.True(t, stays(), "round %d: the removal is repaired", round)
		assert.Equal(t, 1+round, h.countEvents(stream, "UserAddedToGroup"), "round %d: the check-in's, then one per removal", round)
		assert.Equal(t, 0, h.reconcileBookings(2), "round %d: nothing left to repair", round)

		r = h.do("POST", member, rootKey, map[string]any{"validUntil": rfc(end.Add(-time.Hour))})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		require.False(t, stays(), "round %d: cut short by hand", round)
		assert.GreaterOrEqual(t, h.reconcileBookings(4), 1, "round %d", round)
		assert.True(t, stays(), "round %d: the change is repaired", round)
		assert.Equal(t, 2*round, h.countEvents(stream, "UserGroupMembershipChanged"), "round %d: one by hand, one repair", round)
		assert.Equal(t, 0, h.reconcileBookings(2), "round %d: nothing left to repair", round)
	}
}
