package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stayEntry is a device's entry, in a key map (bookingId at the top) and
// in an audit answer (bookingId in via).
type stayEntry struct {
	UserID    string `json:"userId"`
	BookingID string `json:"bookingId"`
	Via       struct {
		AccessType  string `json:"accessType"`
		UserGroupID string `json:"userGroupId"`
		BookingID   string `json:"bookingId"`
	} `json:"via"`
}

// A guest checked in through a booking opens the door as a member of the
// booked area's group: both the key map and the audit answer name the
// booking as the way in, and still agree; an ordinary member of the same
// group names none.
func TestAuditAndKeyMapNameTheBookingOfAGuestsStay(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	resident := h.grpUser(rootKey, "Resident")
	h.provisionDevice(rootKey, resident, "resident phone")
	h.grpAdd(rootKey, f.property, f.flatGroup, resident)

	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	checkedIn := decodeBooking(t, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}), http.StatusOK)
	require.Equal(t, "checkedIn", checkedIn.Status)
	at := h.settle()

	r := h.do("GET", "/locks/"+f.lockID+"/keymap", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var km struct {
		Entries []stayEntry `json:"keyMapEntries"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &km))
	keyMapBookings := map[string]string{}
	for _, e := range km.Entries {
		keyMapBookings[e.UserID] = e.BookingID
	}
	assert.Equal(t, map[string]string{f.guest: b.BookingID, resident: ""}, keyMapBookings, "key map entries: user -> booking")

	r = h.do("GET", "/audit/locks/"+f.lockID+"/access?at="+url.QueryEscape(at.Format(time.RFC3339Nano)), rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var audit struct {
		KeyMapHash  string      `json:"keyMapHash"`
		EntriesHash string      `json:"entriesHash"`
		Entries     []stayEntry `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &audit))
	auditBookings := map[string]string{}
	for _, e := range audit.Entries {
		assert.Equal(t, "area", e.Via.AccessType)
		assert.Equal(t, f.flatGroup, e.Via.UserGroupID)
		auditBookings[e.UserID] = e.Via.BookingID
	}
	assert.Equal(t, map[string]string{f.guest: b.BookingID, resident: ""}, auditBookings, "audit entries: user -> via.bookingId")
	assert.Equal(t, audit.KeyMapHash, audit.EntriesHash, "the audit and the key map disagree")
}
