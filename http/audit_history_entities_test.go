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
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
)

// historyItem is one line of a JSON history, as the tests read it.
type historyItem struct {
	EventType string            `json:"eventType"`
	Stream    string            `json:"stream"`
	IDs       map[string]string `json:"ids"`
}

// history reads an entity's whole history as JSON lines.
func (h *harness) history(path string) ([]historyItem, string) {
	h.t.Helper()
	h.settle()
	status, _, body := h.rawGet(path+"/history", rootKey)
	require.Equal(h.t, http.StatusOK, status, body)
	var items []historyItem
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if line == "" {
			continue
		}
		var it historyItem
		require.NoError(h.t, json.Unmarshal([]byte(line), &it), line)
		items = append(items, it)
	}
	return items, body
}

// A guest user's history holds the bookings made for them, and each of
// those bookings' later events, though those name the booking only: the
// code, the check-in, the check-out, a cancellation. Another guest's
// booking is not in it.
func TestAuditGuestHistoryHoldsTheirBookings(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	now := h.clock.Now().Truncate(time.Second)

	stay := h.book(f, now.Add(-time.Hour), now.Add(48*time.Hour))
	require.Equal(t, http.StatusCreated, stay.Status, stay.Error)
	staying := stay.field("bookingId")
	r := h.do("POST", "/bookings/"+staying+"/access-codes", rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+staying+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+staying+"/check-out", rootKey, map[string]any{"method": "manual"}).Status)

	later := h.book(f, now.Add(100*time.Hour), now.Add(120*time.Hour))
	require.Equal(t, http.StatusCreated, later.Status, later.Error)
	cancelled := later.field("bookingId")
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+cancelled+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)

	other := h.grpUser(rootKey, "Other guest")
	r = h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": other},
		"startDateTime": rfc(now.Add(200 * time.Hour)), "endDateTime": rfc(now.Add(220 * time.Hour)), "source": "web",
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	othersBooking := r.field("bookingId")
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+othersBooking+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)

	items, body := h.history("/audit/users/" + f.guest)
	got := map[string][]string{}
	for _, it := range items {
		if b := it.IDs["bookingId"]; b != "" {
			got[b] = append(got[b], it.EventType)
		}
	}
	assert.Subset(t, got[staying], []string{"BookingCreated", "AccessCodeCreated", "BookingCheckedIn", "BookingCheckedOut"}, body)
	assert.Subset(t, got[cancelled], []string{"BookingCreated", "BookingCancelled"}, body)
	assert.NotContains(t, body, othersBooking, "another guest's booking")

	items, body = h.history("/audit/users/" + other)
	var types []string
	for _, it := range items {
		if it.IDs["bookingId"] == othersBooking {
			types = append(types, it.EventType)
		}
	}
	assert.Subset(t, types, []string{"BookingCreated", "BookingCancelled"}, body)
	assert.NotContains(t, body, staying)
}

// A lock's history holds the claim of its public key and its release
// (which name it holderLockId), and a claim that took the key over from
// it (previousHolderLockId), unless the lock that took it over is of
// another account: that account's ids stay out of this one's audit.
func TestAuditLockHistoryHoldsItsKeyClaims(t *testing.T) {
	h := newHarness(t)
	provision := func(name string) (lockID string, claim uuid.UUID) {
		pub, enc := lockKeys(t)
		r := h.do("POST", "/locks", rootKey, map[string]any{"displayName": name, "publicKey": pub, "encryptionPublicKey": enc})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		return r.field("lockId"), lock.KeyClaimID(pub)
	}
	gone, _ := provision("gone")
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+gone, rootKey, nil).Status)
	items, body := h.history("/audit/locks/" + gone)
	var types []string
	for _, it := range items {
		if strings.HasPrefix(it.EventType, "LockKey") {
			types = append(types, it.EventType)
			assert.Equal(t, gone, it.IDs["holderLockId"])
			assert.True(t, strings.HasPrefix(it.Stream, lock.KeyClaimCategory+"-"), it.Stream)
		}
	}
	assert.Equal(t, []string{"LockKeyClaimed", "LockKeyReleased"}, types, body)

	// Take-overs, as a provisioning appends them after the holder's own
	// was cut short: one by a lock of the same account, one by another's.
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	foreign := uuid.MustParse(h.do("GET", "/account", h.newAccount(), nil).field("accountId"))
	ours, ourClaim := provision("ours")
	theirs, theirClaim := provision("theirs")
	ourTaker, foreignTaker := uuid.New(), uuid.New()
	takeOver := func(claim uuid.UUID, ev lock.LockKeyClaimed) {
		ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: ev.AccountID, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
		agg := commands.Aggregate[lock.KeyClaim]{Category: lock.KeyClaimCategory, Evolve: lock.EvolveKeyClaim}
		_, err := commands.Execute(ctx, h.service.Pipeline(), agg, claim, "ClaimLockKey",
			func(commands.Loaded[lock.KeyClaim], time.Time) ([]domain.Event, error) {
				return []domain.Event{ev}, nil
			})
		require.NoError(t, err)
	}
	takeOver(ourClaim, lock.LockKeyClaimed{LockID: ourTaker, AccountID: account, ClaimedAt: time.Now().UTC(), PreviousLockID: uuid.MustParse(ours)})
	takeOver(theirClaim, lock.LockKeyClaimed{LockID: foreignTaker, AccountID: foreign, ClaimedAt: time.Now().UTC(), PreviousLockID: uuid.MustParse(theirs)})

	items, body = h.history("/audit/locks/" + ours)
	var takers []string
	for _, it := range items {
		if it.EventType == "LockKeyClaimed" && it.IDs["previousHolderLockId"] == ours {
			takers = append(takers, it.IDs["holderLockId"])
		}
	}
	assert.Equal(t, []string{ourTaker.String()}, takers, body)

	_, body = h.history("/audit/locks/" + theirs)
	assert.Contains(t, body, `"eventType":"LockKeyClaimed"`, "its own claim")
	assert.NotContains(t, body, foreignTaker.String(), "another account's lock")
	assert.NotContains(t, body, foreign.String(), "another account")
}
