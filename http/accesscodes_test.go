package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type codeEntry struct {
	AccessCodeID string `json:"accessCodeId"`
	CodeHash     string `json:"codeHash"`
	Salt         string `json:"salt"`
	AreaID       string `json:"areaId"`
	UserDeviceID string `json:"userDeviceId"`
	Schedule     struct {
		ValidFrom  time.Time `json:"validFrom"`
		ValidUntil time.Time `json:"validUntil"`
	} `json:"schedule"`
}

func (h *harness) codeEntries(lockID string) []codeEntry {
	h.t.Helper()
	r := h.do("GET", "/locks/"+lockID+"/keymap", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var km struct {
		KeyMapEntries []codeEntry `json:"keyMapEntries"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &km))
	var out []codeEntry
	for _, e := range km.KeyMapEntries {
		if e.AccessCodeID != "" {
			out = append(out, e)
		}
	}
	return out
}

// A booking's code reaches the key maps of the booked area's locks and its
// sub-areas' as a salted hash, follows the booking's dates, and leaves
// them when revoked or when the booking is cancelled.
func TestAccessCodesReachKeyMaps(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	bathroom := h.mkArea(rootKey, f.property, "Bathroom", f.flat)
	inner := h.provisionLock(rootKey, "Bathroom door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, bathroom, inner.LockID), rootKey, nil).Status)
	start := h.clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	end := start.Add(48 * time.Hour)
	b := decodeBooking(t, h.book(f, start, end), http.StatusCreated)
	codes := "/bookings/" + b.BookingID + "/access-codes"

	for _, bad := range []string{"123", "12345678901", "12a4", ""} {
		r := h.do("POST", codes, rootKey, map[string]any{"code": bad})
		assert.Equal(t, http.StatusBadRequest, r.Status, bad)
		assert.Contains(t, r.Error, "code", bad)
	}
	r := h.do("POST", codes, rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	var created struct {
		AccessCodeID string    `json:"accessCodeId"`
		Code         string    `json:"code"`
		ValidFrom    time.Time `json:"validFrom"`
		ValidUntil   time.Time `json:"validUntil"`
		LockIDs      []string  `json:"lockIds"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &created))
	assert.Equal(t, "482913", created.Code)
	assert.True(t, created.ValidFrom.Equal(start))
	assert.True(t, created.ValidUntil.Equal(end))
	assert.ElementsMatch(t, []string{f.lockID, inner.LockID}, created.LockIDs)

	assert.Equal(t, http.StatusConflict, h.do("POST", codes, rootKey, map[string]any{"code": "482913"}).Status, "the same code on the same locks")
	// A booking of the bathroom alone would share the bathroom's lock with
	// the flat's code, but it overlaps the flat's booking and is refused
	// itself; another flat's booking takes the same code.
	bath := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": bathroom, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(start), "endDateTime": rfc(end)})
	require.Equal(t, http.StatusConflict, bath.Status, bath.Error)
	flat2 := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": h.mkArea(rootKey, f.property, "Flat 2B", ""), "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(start), "endDateTime": rfc(end)})
	require.Equal(t, http.StatusCreated, flat2.Status, flat2.Error)
	assert.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+flat2.field("bookingId")+"/access-codes", rootKey, map[string]any{"code": "482913"}).Status)
	r = h.do("POST", codes, rootKey, nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.Regexp(t, `^[0-9]{6}$`, r.field("code"))
	generated := r.field("accessCodeId")

	for _, lockID := range []string{f.lockID, inner.LockID} {
		entries := h.codeEntries(lockID)
		require.Len(t, entries, 2, lockID)
		for _, e := range entries {
			if e.AccessCodeID != created.AccessCodeID {
				continue
			}
			salt, err := hex.DecodeString(e.Salt)
			require.NoError(t, err)
			sum := sha256.Sum256(append(salt, "482913"...))
			assert.Equal(t, hex.EncodeToString(sum[:]), e.CodeHash)
			assert.Empty(t, e.UserDeviceID)
			assert.Equal(t, f.flat, e.AreaID)
			assert.True(t, e.Schedule.ValidFrom.Equal(start))
			assert.True(t, e.Schedule.ValidUntil.Equal(end))
		}
	}
	raw := h.do("GET", codes, rootKey, nil)
	require.Equal(t, http.StatusOK, raw.Status)
	assert.NotContains(t, string(raw.Data), "482913", "the code is shown once")
	assert.NotContains(t, string(raw.Data), "codeHash")

	// Extending the booking moves the codes' window.
	later := end.Add(24 * time.Hour)
	decodeBooking(t, h.do("PATCH", "/bookings/"+b.BookingID, rootKey, map[string]any{"endDateTime": rfc(later)}), http.StatusOK)
	for _, e := range h.codeEntries(f.lockID) {
		assert.True(t, e.Schedule.ValidUntil.Equal(later), "code window moves with the booking")
	}

	require.Equal(t, http.StatusOK, h.do("DELETE", "/access-codes/"+created.AccessCodeID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/access-codes/"+created.AccessCodeID, rootKey, nil).Status)
	entries := h.codeEntries(inner.LockID)
	require.Len(t, entries, 1)
	assert.Equal(t, generated, entries[0].AccessCodeID)

	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.BookingID+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	assert.Empty(t, h.codeEntries(f.lockID), "cancelling revokes the codes")
	assert.Empty(t, h.codeEntries(inner.LockID))
	var list struct {
		AccessCodes []struct {
			State string `json:"state"`
		} `json:"accessCodes"`
	}
	r = h.do("GET", codes, rootKey, nil)
	require.NoError(t, json.Unmarshal(r.Data, &list))
	require.Len(t, list.AccessCodes, 2)
	for _, c := range list.AccessCodes {
		assert.Equal(t, "revoked", c.State)
	}
	assert.Equal(t, http.StatusConflict, h.do("POST", codes, rootKey, nil).Status, "a cancelled booking gets no codes")
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/access-codes/"+generated, h.newAccount(), nil).Status)
}

// Sixteen concurrent creations of the same code on one booking: exactly
// one succeeds, the others are 409 (the check runs in the booking's
// decision, appended at its revision).
func TestConcurrentEqualAccessCodes(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	const n = 16
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "7391"}).Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, count)
	assert.Len(t, h.codeEntries(f.lockID), 1)
}

// A booking's codes page like every list: pageSize from 1 to 500, tokens
// this server issued, and walking the pages with codes created meanwhile
// meets each code once.
func TestAccessCodesPage(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	list := "/bookings/" + b.BookingID + "/access-codes"
	create := func(code string) string {
		r := h.do("POST", list, rootKey, map[string]any{"code": code})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		return r.field("accessCodeId")
	}
	want := []string{create("100001"), create("100002"), create("100003")}

	for _, bad := range []string{"pageSize=0", "pageSize=-1", "pageSize=501", "pageSize=abc", "pageToken=garbage"} {
		r := h.do("GET", list+"?"+bad, rootKey, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, bad)
		assert.Contains(t, r.Error, bad[:strings.Index(bad, "=")], bad)
	}

	var got []string
	token := ""
	for range 10 {
		r := h.do("GET", list+"?pageSize=1&pageToken="+token, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var page struct {
			AccessCodes []struct {
				AccessCodeID string `json:"accessCodeId"`
			} `json:"accessCodes"`
			PageToken string `json:"pageToken"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &page))
		require.LessOrEqual(t, len(page.AccessCodes), 1)
		for _, c := range page.AccessCodes {
			got = append(got, c.AccessCodeID)
		}
		if len(got) == 1 && token == "" {
			want = append(want, create("100004")) // appended while paging
		}
		if token = page.PageToken; token == "" {
			break
		}
	}
	assert.Equal(t, want, got)
}
