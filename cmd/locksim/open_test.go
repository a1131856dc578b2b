package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
)

// officeHours admits Monday to Friday, 08:00 to 18:00 in Madrid.
var officeHours = &domain.Schedule{Timezone: "Europe/Madrid", Weekly: []domain.WeeklyWindow{
	{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "18:00"},
}}

// testPhone is a phone's keys and ids.
type testPhone struct {
	keys              keyPairs
	accessKey, device uuid.UUID
}

func newTestPhone(t *testing.T) testPhone {
	t.Helper()
	k, err := newKeyPairs()
	require.NoError(t, err)
	return testPhone{keys: k, accessKey: uuid.New(), device: uuid.New()}
}

// credential signs a credential for lockID dated at.
func (p testPhone) credential(lockID string, at time.Time) credential {
	c := credential{AccessKeyID: p.accessKey.String(), UserDeviceID: p.device.String(), LockID: lockID,
		LockAccessLogID: uuid.NewString(), AccessDate: at.UTC().Format(accessDateLayout)}
	c.DeviceSignature = p.keys.sign(c.signedText())
	return c
}

func (p testPhone) entry(s *domain.Schedule) access.Entry {
	return access.Entry{AccessKeyID: p.accessKey, UserID: uuid.New(), UserDeviceID: p.device, UserGroupID: uuid.New(),
		AreaID: uuid.New(), PublicKey: p.keys.signingPublicKey(), Schedule: s}
}

func TestLockDecidesOffline(t *testing.T) {
	t.Parallel()
	lockID := uuid.NewString()
	ana, bob, eve := newTestPhone(t), newTestPhone(t), newTestPhone(t)
	// Monday 2025-03-03, Madrid an hour ahead of UTC: 07:30 UTC is 08:30
	// there (open), 17:30 UTC is 18:30 there (closed).
	morning := time.Date(2025, 3, 3, 7, 30, 0, 0, time.UTC)
	evening := time.Date(2025, 3, 3, 17, 30, 0, 0, time.UTC)
	saturday := time.Date(2025, 3, 8, 9, 0, 0, 0, time.UTC)

	forged := ana.credential(lockID, morning)
	forged.DeviceSignature = eve.keys.sign(forged.signedText())
	tampered := ana.credential(lockID, morning)
	tampered.AccessDate = morning.Add(time.Second).Format(accessDateLayout)
	wrongDevice := ana.credential(lockID, morning)
	wrongDevice.UserDeviceID = bob.device.String()
	wrongDevice.DeviceSignature = ana.keys.sign(wrongDevice.signedText())
	used := ana.credential(lockID, morning)

	for name, c := range map[string]struct {
		cred   credential
		at     time.Time
		reason string
	}{
		"in office hours":               {ana.credential(lockID, morning), morning, ""},
		"a minute off the lock's clock": {ana.credential(lockID, morning.Add(-time.Minute)), morning, ""},
		"always":                        {bob.credential(lockID, saturday), saturday, ""},
		"after hours in Madrid":         {ana.credential(lockID, evening), evening, denyOutsideSchedule},
		"on Saturday":                   {ana.credential(lockID, saturday), saturday, denyOutsideSchedule},
		"for another lock":              {ana.credential(uuid.NewString(), morning), morning, denyWrongLock},
		"dated an hour ago":             {ana.credential(lockID, morning.Add(-time.Hour)), morning, denyExpiredCredential},
		"dated in ten minutes":          {ana.credential(lockID, morning.Add(10*time.Minute)), morning, denyExpiredCredential},
		"presented before":              {used, morning, denyReplayedCredential},
		"a key not in the map":          {eve.credential(lockID, morning), morning, denyUnknownCredential},
		"another device's id":           {wrongDevice, morning, denyUnknownCredential},
		"signed by another key":         {forged, morning, denyBadSignature},
		"a date other than signed":      {tampered, morning, denyBadSignature},
	} {
		t.Run(name, func(t *testing.T) {
			st := &lockState{LockID: lockID, KeyMap: []access.Entry{ana.entry(officeHours), bob.entry(nil)}, UsedAccessLogIDs: []string{used.LockAccessLogID}}
			signedAt, err := time.Parse(time.RFC3339, c.cred.AccessDate)
			require.NoError(t, err)
			d, entry := decide(st, c.cred, signedAt, c.at, func() string { return "fresh" })
			assert.Equal(t, c.reason, d.DenyReason)
			assert.Equal(t, map[bool]string{true: "granted", false: "denied"}[c.reason == ""], d.Result)
			assert.Equal(t, d.Result, entry.Result)
			assert.Equal(t, d.DenyReason, entry.DenyReason)
			assert.Equal(t, c.cred.AccessKeyID, entry.AccessKeyID)
			assert.Equal(t, c.cred.DeviceSignature, entry.DeviceSignature, "the signature presented is kept as evidence")
			switch c.reason {
			case denyReplayedCredential:
				assert.Equal(t, "fresh", entry.LockAccessLogID, "a replay is a new attempt, not the old one again")
				assert.Equal(t, c.at.Format(accessDateLayout), entry.AccessDate, "the lock's clock")
			case denyExpiredCredential:
				assert.Equal(t, c.cred.LockAccessLogID, entry.LockAccessLogID)
				assert.Equal(t, c.at.Format(accessDateLayout), entry.AccessDate, "the lock's clock, not the phone's")
			default:
				assert.Equal(t, c.cred.LockAccessLogID, entry.LockAccessLogID)
				assert.Equal(t, c.cred.AccessDate, entry.AccessDate, "the date exactly as the device signed it")
			}
		})
	}
}

func TestLockOpenKeepsEachAttemptOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockFile := filepath.Join(dir, "lock.json")
	keys, err := newKeyPairs()
	require.NoError(t, err)
	ana := newTestPhone(t)
	lockID := uuid.NewString()
	require.NoError(t, saveState(lockFile, &lockState{Kind: kindLock, LockID: lockID, APIKey: "k", Keys: keys,
		KeyMap: []access.Entry{ana.entry(nil)}, PendingAccessLogs: []accessLog{}, UsedAccessLogIDs: []string{}}))
	now := time.Date(2025, 3, 3, 8, 30, 0, 0, time.UTC)
	credFile := filepath.Join(dir, "cred.json")
	raw, err := json.Marshal(ana.credential(lockID, now))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(credFile, raw, 0o600))

	var results []string
	for range 2 {
		var stdout bytes.Buffer
		e := env{stdout: &stdout, stderr: &bytes.Buffer{}, now: func() time.Time { return now }}
		require.NoError(t, execute(t.Context(), e, []string{"lock", "open", "--state", lockFile, "--credential", credFile}))
		var d decision
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &d))
		results = append(results, d.Result+" "+d.DenyReason)
	}
	assert.Equal(t, []string{"granted ", "denied " + denyReplayedCredential}, results)
	st, err := loadLock(lockFile)
	require.NoError(t, err)
	require.Len(t, st.PendingAccessLogs, 2)
	assert.NotEqual(t, st.PendingAccessLogs[0].LockAccessLogID, st.PendingAccessLogs[1].LockAccessLogID,
		"the server stores one entry per id: the replay needs its own")
}

func TestCredentialsAreReadStrictly(t *testing.T) {
	t.Parallel()
	p := newTestPhone(t)
	good := p.credential(uuid.NewString(), time.Now())
	_, _, err := parseCredential(mustMarshal(t, good))
	require.NoError(t, err)
	for name, mutate := range map[string]func(*credential){
		"accessKeyId":     func(c *credential) { c.AccessKeyID = "nope" },
		"userDeviceId":    func(c *credential) { c.UserDeviceID = "" },
		"lockId":          func(c *credential) { c.LockID = uuid.NewString()[:8] },
		"lockAccessLogId": func(c *credential) { c.LockAccessLogID = "7A449A59-A391-420D-B4A5-6E67E36DA39D" },
		"accessDate":      func(c *credential) { c.AccessDate = "yesterday" },
	} {
		c := good
		mutate(&c)
		_, _, err := parseCredential(mustMarshal(t, c))
		assert.ErrorContains(t, err, name)
	}
	_, _, err = parseCredential([]byte(`{"accessKeyId":"x","colour":"red"}`))
	assert.ErrorContains(t, err, "colour")
}

func TestSealedMapsOpenOnlyWithTheRightKey(t *testing.T) {
	t.Parallel()
	k, err := newKeyPairs()
	require.NoError(t, err)
	pubText, err := k.encryptionPublicKey()
	require.NoError(t, err)
	pubRaw, err := b64.DecodeString(pubText)
	require.NoError(t, err)
	var pub [32]byte
	copy(pub[:], pubRaw)
	sealed, err := box.SealAnonymous(nil, []byte(`[]`), &pub, rand.Reader)
	require.NoError(t, err)

	plain, err := k.open(b64.EncodeToString(sealed))
	require.NoError(t, err)
	assert.Equal(t, `[]`, string(plain))
	sealed[len(sealed)-1] ^= 1
	_, err = k.open(b64.EncodeToString(sealed))
	assert.ErrorContains(t, err, "does not open")
	other, err := newKeyPairs()
	require.NoError(t, err)
	sealed[len(sealed)-1] ^= 1
	_, err = other.open(b64.EncodeToString(sealed))
	assert.ErrorContains(t, err, "does not open")
}

func TestServerSignaturesAreCheckedAgainstThePinnedKey(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pinned := serverKey{KeyID: "k1", PublicKey: b64.EncodeToString(pub)}
	data := []byte(`{"keyMapVersion":1}`)
	sig := b64.EncodeToString(ed25519.Sign(priv, data))

	require.NoError(t, verifyServer(pinned, data, map[string]string{"k1": sig}))
	assert.ErrorContains(t, verifyServer(pinned, []byte(`{"keyMapVersion":2}`), map[string]string{"k1": sig}), "does not verify")
	assert.ErrorContains(t, verifyServer(pinned, data, map[string]string{"k2": sig}), "not by the pinned key")
	assert.ErrorContains(t, verifyServer(pinned, data, nil), "not signed")
}

func TestStateFilesAreTheSimulatorsAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "lock.json")
	keys, err := newKeyPairs()
	require.NoError(t, err)
	require.NoError(t, saveState(path, &lockState{Kind: kindLock, Keys: keys}))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	_, err = loadLock(path)
	require.NoError(t, err)
	_, err = loadPhone(path)
	assert.ErrorContains(t, err, "not of a phone")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = loadLock(path)
	assert.ErrorContains(t, err, "0600")
	_, err = loadLock(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, errNoState)
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	e := env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, now: time.Now}
	ctx := t.Context()
	missing := filepath.Join(t.TempDir(), "missing.json")
	for want, args := range map[int][]string{
		0: {"help"},
		2: {"lock", "open", "--state", missing},
		1: {"lock", "open", "--state", missing, "--credential", missing},
	} {
		assert.Equal(t, want, run(ctx, e, args), args)
	}
	for _, args := range [][]string{{}, {"lock"}, {"door", "open"}, {"lock", "sync", "--state", "x", "extra"},
		{"lock", "open", "--state", "x", "--credential", "y", "--at", "noon"}, {"phone", "credential", "--state", "x", "--lock", "7"}} {
		assert.Equal(t, 2, run(ctx, e, args), args)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
