package main

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A guest's code opens the door during the stay, which checks the booking
// in by itself (the server's scheduler); at check-out the code leaves the
// lock's key map and stops working. The same code on a cancelled booking
// never reaches the lock.
func TestGuestCodeOpensTheDoorAndChecksTheBookingIn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	base, ownerKey := startServer(t)
	ctx := t.Context()
	httpClient := &http.Client{Timeout: 30 * time.Second}
	s := sim{t: t, ctx: ctx, e: env{now: time.Now, http: httpClient}}
	api := client{http: httpClient, base: base, apiKey: ownerKey}
	lockFile := filepath.Join(t.TempDir(), "lock.json")

	property := field(t, call(t, ctx, api, "POST", "/properties", map[string]any{"displayName": "Casa Azul", "timezone": "Europe/Madrid"}), "propertyId")
	area := field(t, call(t, ctx, api, "POST", "/properties/"+property+"/areas", map[string]any{"displayName": "Room 101", "areaType": "resident"}), "areaId")
	guest := field(t, call(t, ctx, api, "POST", "/users", map[string]any{"displayName": "Ana", "userPermissions": []any{}}), "userId")
	lockID := decode[map[string]string](t, s.run("lock", "provision", "--url", base, "--key", ownerKey, "--state", lockFile, "--name", "Room 101 door"))["lockId"]
	call(t, ctx, api, "PUT", "/properties/"+property+"/areas/"+area+"/install/"+lockID, nil)

	now := time.Now().UTC()
	booking := field(t, call(t, ctx, api, "POST", "/properties/"+property+"/bookings", map[string]any{
		"areaId": area, "guest": map[string]any{"userId": guest},
		"startDateTime": now.Add(-10 * time.Minute).Format(time.RFC3339), "endDateTime": now.Add(2 * time.Hour).Format(time.RFC3339),
	}), "bookingId")
	call(t, ctx, api, "POST", "/bookings/"+booking+"/access-codes", map[string]any{"code": "135790"})

	out := decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	require.Equal(t, 1, out.KeyMapEntries, "the code reaches the lock")

	wrong := decode[codeDecision](t, s.run("lock", "code", "--state", lockFile, "--code", "999999"))
	assert.Equal(t, "denied", wrong.Result)
	opened := decode[codeDecision](t, s.run("lock", "code", "--state", lockFile, "--code", "135790"))
	require.Equal(t, "granted", opened.Result, "%+v", opened)
	out = decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	assert.Equal(t, []string{opened.LockAccessLogID}, out.AcceptedAccessLogIDs)

	// The server's scheduler checks the booking in (it ticks every 10 s).
	require.Eventually(t, func() bool {
		return field(t, call(t, ctx, api, "GET", "/bookings/"+booking, nil), "status") == "checkedIn"
	}, 30*time.Second, 200*time.Millisecond, "the door opening did not check the booking in")
	assert.Equal(t, "doorAccess", field(t, call(t, ctx, api, "GET", "/bookings/"+booking, nil), "checkInMethod"))

	call(t, ctx, api, "POST", "/bookings/"+booking+"/check-out", map[string]any{"method": "manual"})
	out = decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	assert.True(t, out.KeyMapUpdated)
	assert.Equal(t, 0, out.KeyMapEntries, "check-out revokes the code")
	after := decode[codeDecision](t, s.run("lock", "code", "--state", lockFile, "--code", "135790"))
	assert.Equal(t, "denied", after.Result)

	// A later booking with the same code, cancelled before arrival.
	later := field(t, call(t, ctx, api, "POST", "/properties/"+property+"/bookings", map[string]any{
		"areaId": area, "guest": map[string]any{"userId": guest},
		"startDateTime": now.Add(3 * time.Hour).Format(time.RFC3339), "endDateTime": now.Add(5 * time.Hour).Format(time.RFC3339),
	}), "bookingId")
	call(t, ctx, api, "POST", "/bookings/"+later+"/access-codes", map[string]any{"code": "135790"})
	require.Equal(t, 1, decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile)).KeyMapEntries)
	call(t, ctx, api, "POST", "/bookings/"+later+"/cancel", map[string]any{"reason": "byUser"})
	require.Equal(t, 0, decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile)).KeyMapEntries, "cancelling revokes the code")
	at := now.Add(4 * time.Hour).Format(time.RFC3339)
	assert.Equal(t, "denied", decode[codeDecision](t, s.run("lock", "code", "--state", lockFile, "--code", "135790", "--at", at)).Result)
}
