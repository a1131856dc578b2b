package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An access attempt in a history carries the server's checks of it, as the
// access logs show them: deviceSignatureFailure, staleCredential and
// futureDate, false ones too, in the JSON and in the CSV; other items
// carry none of them.
func TestHistoryCarriesAccessLogFlags(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	now := time.Now()
	plain, forged, future, unknown := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	forgedEntry := lsEntry(s.lock.ID, s.phone, forged, now, "granted")
	forgedEntry["deviceSignature"] = lsEntry(uuid.NewString(), s.phone, forged, now, "granted")["deviceSignature"] // signed for another lock
	stranger := lsDevice{deviceOut: deviceOut{AccessKeyID: uuid.NewString(), UserDeviceID: uuid.NewString()}, sign: s.phone.sign}
	h.lsSync(s.lock, 1,
		lsEntry(s.lock.ID, s.phone, plain, now, "granted"),
		forgedEntry,
		lsEntry(s.lock.ID, s.phone, future, now.Add(time.Hour), "granted"),
		lsEntry(s.lock.ID, stranger, unknown, now, "granted"),
	)
	h.settle()

	type flags struct {
		DeviceSignatureFailure *bool `json:"deviceSignatureFailure"`
		StaleCredential        *bool `json:"staleCredential"`
		FutureDate             *bool `json:"futureDate"`
	}
	logs, _ := h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	require.Len(t, logs, 4)
	want := map[string]flags{}
	wantVersion := map[string]int{}
	for _, e := range logs {
		want[e.LockAccessLogID] = flags{&e.DeviceSignatureFailure, &e.StaleCredential, &e.FutureDate}
		wantVersion[e.LockAccessLogID] = e.KeyMapVersion
		assert.Positive(t, e.KeyMapVersion, "the phone's grant made a key map")
	}
	assert.True(t, *want[forged].DeviceSignatureFailure, "a signature over another lock id")
	assert.True(t, *want[future].FutureDate)
	assert.True(t, *want[unknown].StaleCredential, "an access key nobody registered")
	assert.True(t, *want[unknown].DeviceSignatureFailure)

	status, _, body := h.rawGet("/audit/locks/"+s.lock.ID+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	got := map[string]flags{}
	gotVersion := map[string]int{}
	others := 0
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		var it struct {
			EventType     string            `json:"eventType"`
			IDs           map[string]string `json:"ids"`
			KeyMapVersion int               `json:"keyMapVersion"`
			flags
		}
		require.NoError(t, json.Unmarshal([]byte(line), &it), line)
		if it.EventType != "LockAccessLogged" {
			others++
			assert.Equal(t, flags{}, it.flags, "%s carries no access-log flags", it.EventType)
			continue
		}
		require.NotNil(t, it.DeviceSignatureFailure, line)
		require.NotNil(t, it.StaleCredential, line)
		require.NotNil(t, it.FutureDate, line)
		got[it.IDs["lockAccessLogId"]] = it.flags
		gotVersion[it.IDs["lockAccessLogId"]] = it.KeyMapVersion
	}
	assert.Positive(t, others)
	require.Len(t, got, 4, body)
	for id, w := range want {
		assert.Equal(t, *w.DeviceSignatureFailure, *got[id].DeviceSignatureFailure, "deviceSignatureFailure of %s", id)
		assert.Equal(t, *w.StaleCredential, *got[id].StaleCredential, "staleCredential of %s", id)
		assert.Equal(t, *w.FutureDate, *got[id].FutureDate, "futureDate of %s", id)
		assert.Equal(t, wantVersion[id], gotVersion[id], "keyMapVersion of %s", id)
	}

	status, _, body = h.rawGet("/audit/locks/"+s.lock.ID+"/history?format=csv", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for _, name := range []string{"deviceSignatureFailure", "staleCredential", "futureDate", "keyMapVersion"} {
		require.Contains(t, col, name, "a CSV column")
	}
	cell := func(b *bool) string {
		if *b {
			return "true"
		}
		return "false"
	}
	seen := 0
	for _, row := range rows[1:] {
		if row[col["eventType"]] != "LockAccessLogged" {
			assert.Empty(t, row[col["deviceSignatureFailure"]]+row[col["staleCredential"]]+row[col["futureDate"]], row[col["eventType"]])
			continue
		}
		w := want[row[col["lockAccessLogId"]]]
		require.NotNil(t, w.FutureDate, "an entry of the lock: %v", row)
		seen++
		assert.Equal(t, cell(w.DeviceSignatureFailure), row[col["deviceSignatureFailure"]])
		assert.Equal(t, cell(w.StaleCredential), row[col["staleCredential"]])
		assert.Equal(t, cell(w.FutureDate), row[col["futureDate"]])
		assert.Equal(t, strconv.Itoa(wantVersion[row[col["lockAccessLogId"]]]), row[col["keyMapVersion"]])
	}
	assert.Equal(t, 4, seen)
}

// An access attempt on a lock that has no key map yet (version 0) carries
// keyMapVersion 0 in the history, as its access log does: the JSON item
// has the field and the CSV cell says 0. Items other than access attempts
// and key-map versions still carry none.
func TestHistoryShowsKeyMapVersionZero(t *testing.T) {
	h := newHarness(t)
	prop := h.lockProperty(rootKey)
	empty := h.mkArea(rootKey, prop, "Store room", "")
	l := h.lsProvision(rootKey, "Store room door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(prop, empty, l.ID), rootKey, nil).Status)
	phone := h.lsProvisionDevice(rootKey, h.grpUser(rootKey, "Visitor"))
	logID := uuid.NewString()
	h.lsSync(l, 0, lsEntry(l.ID, phone, logID, time.Now(), "denied"))
	h.settle()
	logs, _ := h.alPage(rootKey, "/locks/"+l.ID+"/logs")
	require.Len(t, logs, 1)
	require.Equal(t, 0, logs[0].KeyMapVersion, "no key map was in force")

	status, _, body := h.rawGet("/audit/locks/"+l.ID+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	attempts := 0
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		var it map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &it), line)
		if it["eventType"] != "LockAccessLogged" {
			assert.NotContains(t, it, "keyMapVersion", line)
			continue
		}
		attempts++
		assert.Equal(t, float64(0), it["keyMapVersion"], line)
	}
	assert.Equal(t, 1, attempts)

	status, _, body = h.rawGet("/audit/locks/"+l.ID+"/history?format=csv", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	attempts = 0
	for _, row := range rows[1:] {
		if row[col["eventType"]] != "LockAccessLogged" {
			assert.Empty(t, row[col["keyMapVersion"]], row[col["eventType"]])
			continue
		}
		attempts++
		assert.Equal(t, "0", row[col["keyMapVersion"]])
	}
	assert.Equal(t, 1, attempts)
}
