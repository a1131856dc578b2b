package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// auditCodeEntry is an access code's entry of an audit answer.
type auditCodeEntry struct {
	UserID       string `json:"userId"`
	AccessCodeID string `json:"accessCodeId"`
	Via          struct {
		AreaID     string `json:"areaId"`
		AccessType string `json:"accessType"`
		BookingID  string `json:"bookingId"`
	} `json:"via"`
}

func (h *harness) auditCodes(lockID string, at time.Time) (codes []auditCodeEntry, keyMapHash, entriesHash string) {
	h.t.Helper()
	a := h.auditAccess(rootKey, lockID, at)
	r := h.do("GET", "/audit/locks/"+lockID+"/access?at="+at.Format(time.RFC3339Nano), rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var raw struct {
		Entries []auditCodeEntry `json:"entries"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &raw))
	for _, e := range raw.Entries {
		if e.AccessCodeID != "" {
			codes = append(codes, e)
		}
	}
	return codes, a.KeyMapHash, a.EntriesHash
}

// Who could open the door includes a booking's access codes: on the booked
// area's locks and its sub-areas', naming the booking, from the code's
// creation until its revocation, and the answer equals what the key map
// held at the time.
func TestAuditAnswersIncludeAccessCodes(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	bathroom := h.mkArea(rootKey, f.property, "Bathroom", f.flat)
	inner := h.provisionLock(rootKey, "Bathroom door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, bathroom, inner.LockID), rootKey, nil).Status)
	start := h.clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	beforeCode := h.settle()

	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	withCode := h.settle()

	for _, lockID := range []string{f.lockID, inner.LockID} {
		codes, keyMapHash, entriesHash := h.auditCodes(lockID, withCode)
		require.Len(t, codes, 1, "lock %s", lockID)
		require.Equal(t, codeID, codes[0].AccessCodeID)
		require.Empty(t, codes[0].UserID)
		require.Equal(t, "accessCode", codes[0].Via.AccessType)
		require.Equal(t, f.flat, codes[0].Via.AreaID)
		require.Equal(t, b.BookingID, codes[0].Via.BookingID)
		require.Equal(t, keyMapHash, entriesHash, "the audit and the key map disagree on lock %s", lockID)

		codes, _, _ = h.auditCodes(lockID, beforeCode)
		require.Empty(t, codes, "the code before it was created")
	}

	require.Equal(t, http.StatusOK, h.do("DELETE", "/access-codes/"+codeID, rootKey, nil).Status)
	revoked := h.settle()
	codes, keyMapHash, entriesHash := h.auditCodes(f.lockID, revoked)
	require.Empty(t, codes, "a revoked code")
	require.Equal(t, keyMapHash, entriesHash)
	codes, _, _ = h.auditCodes(f.lockID, withCode)
	require.Len(t, codes, 1, "the past does not change")
}

func (h *harness) decideCode(lockID, codeID string, at time.Time) auditDecision {
	h.t.Helper()
	r := h.do("GET", "/audit/decisions?lockId="+lockID+"&accessCodeId="+codeID+"&at="+url.QueryEscape(at.Format(time.RFC3339Nano)), rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var out auditDecision
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out
}

// A decision for an access code names the lock's install and the code's
// creation, and says why a code does not open: outside its window, not
// for this lock (revoked or not), revoked, or not created yet.
func TestAuditDecisionsForAccessCodes(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	elsewhere := h.mkArea(rootKey, f.property, "Flat 2B", "")
	start := h.clock.Now().Add(-time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(1000*time.Hour)), http.StatusCreated)
	beforeCode := h.settle()
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	withCode := h.settle()

	d := h.decideCode(f.lockID, codeID, withCode)
	require.True(t, d.Allowed, "%+v", d)
	require.Equal(t, "allowed", d.Reason)
	require.Len(t, d.Path, 2)
	require.Equal(t, "install", d.Path[0].Link)
	require.Equal(t, "accessCode", d.Path[1].Link)
	require.Equal(t, "AccessCodeCreated", d.Path[1].EventType)
	require.False(t, d.Path[1].Missing)

	require.Equal(t, "codeNotCreated", h.decideCode(f.lockID, codeID, beforeCode).Reason)
	outside := h.decideCode(f.lockID, codeID, start.Add(2000*time.Hour))
	require.False(t, outside.Allowed)

	other := h.provisionLock(rootKey, "Flat 2B door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, elsewhere, other.LockID), rootKey, nil).Status)
	require.Equal(t, "codeNotForThisLock", h.decideCode(other.LockID, codeID, h.settle()).Reason)

	require.Equal(t, http.StatusOK, h.do("DELETE", "/access-codes/"+codeID, rootKey, nil).Status)
	revoked := h.decideCode(f.lockID, codeID, h.settle())
	require.False(t, revoked.Allowed)
	require.Equal(t, "codeRevoked", revoked.Reason)
	require.True(t, revoked.Path[len(revoked.Path)-1].Missing)
	// On a lock it never opened, the revocation changes nothing: the lock
	// check comes first.
	d = h.decideCode(other.LockID, codeID, h.settle())
	require.Equal(t, "codeNotForThisLock", d.Reason)
	require.Equal(t, "AccessCodeCreated", d.Path[len(d.Path)-1].EventType)
	require.Equal(t, f.flat, d.Path[len(d.Path)-1].AreaID)

	both := h.do("GET", "/audit/decisions?lockId="+f.lockID+"&accessCodeId="+codeID+"&userDeviceId="+codeID, rootKey, nil)
	require.Equal(t, http.StatusBadRequest, both.Status)
	neither := h.do("GET", "/audit/decisions?lockId="+f.lockID, rootKey, nil)
	require.Equal(t, http.StatusBadRequest, neither.Status)
}
