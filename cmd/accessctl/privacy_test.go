package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/queries"
)

// personalDir is a data directory written as the server writes it: the
// log, the read models kept up to date, and the personal-data keys.
type personalDir struct {
	dir      string
	store    *sqlite.Store
	service  *commands.Service
	personal *personaldata.Store
	set      *projections.Set
	ctx      context.Context // acts as the account's owner
	// markers are the tokens planted in personal fields.
	markers []string
	user    uuid.UUID
	prop    uuid.UUID
	booking uuid.UUID
	guest   uuid.UUID
}

func (p *personalDir) marker(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	m := prefix + hex.EncodeToString(b)
	p.markers = append(p.markers, m)
	return m
}

// found lists the markers b holds.
func (p *personalDir) found(b []byte) []string {
	var out []string
	for _, m := range p.markers {
		if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(m))) {
			out = append(out, m)
		}
	}
	return out
}

// requireNone fails naming each file under dir that holds a marker or
// one of the keys' bytes.
func (p *personalDir) requireNone(t *testing.T, dir string, keys ...[]byte) {
	t.Helper()
	var found []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range p.found(b) {
			found = append(found, path+": "+m)
		}
		for _, k := range keys {
			if bytes.Contains(b, k) {
				found = append(found, path+": an erased key")
			}
		}
		return nil
	}))
	require.Empty(t, found)
}

func newPersonalDir(t *testing.T) *personalDir {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &personalDir{dir: t.TempDir()}
	srv := openServer(t, p.dir)
	p.store, p.service = srv.store, srv.service
	var err error
	p.personal, err = personaldata.Open(filepath.Join(p.dir, personalKeysFile))
	require.NoError(t, err)
	db, err := projections.OpenSQLite(ctx, filepath.Join(p.dir, readModelsFile))
	require.NoError(t, err)
	registry := p.service.Pipeline().Registry()
	var runners []*projections.Runner
	for _, pr := range all.Projections(registry) {
		r, err := projections.NewRunner(db, p.store, registry, pr, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		runners = append(runners, r)
	}
	p.set = projections.NewSet(p.store, runners...)
	done := make(chan struct{})
	go func() { defer close(done); p.set.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
		p.personal.Close()
	})
	// Wired as cmd/accessd wires the service.
	p.service.SetPersonalData(p.personal)
	p.service.SetCounts(queries.NewEntities(db))
	p.service.SetMemberships(queries.NewMemberships(db))
	p.service.SetBookingOverlaps(queries.NewBookings(db))
	p.service.SetGuestUserBookings(queries.NewBookings(db))
	p.service.SetGuestsOfGuestUser(queries.NewBookings(db))
	p.service.SetInvitationProperties(queries.NewEntities(db))
	p.service.SetUserDevices(queries.NewUserDevices(queries.NewEntities(db), p.set))
	p.service.SetUserAPIKeys(queries.NewUserAPIKeys(queries.NewEntities(db), p.set))
	p.service.SetPropertyScopedUsers(queries.NewPropertyScopedUsers(queries.NewEntities(db), p.set))
	p.service.OnUserDeleted(p.service.EndBookingsOfUser)
	p.service.OnUserDeleted(p.service.EraseGuestsOfUser)
	p.service.OnUserDeleted(p.service.RemoveUserFromAllGroups)
	p.service.OnUserDeleted(p.service.RemoveUserFromAllProperties)
	p.service.OnUserDeleted(p.service.WithdrawInvitationsOfUser)

	_, err = p.service.Bootstrap(ctx, rootKey)
	require.NoError(t, err)
	recs, err := p.store.ReadAll(ctx, 0, 10, eventstore.Filter{EventTypes: []string{account.AccountCreated{}.EventType()}})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	env, err := commands.NewRegistry().Decode(recs[0])
	require.NoError(t, err)
	p.ctx = owner(ctx, env.Event.(account.AccountCreated).AccountID)

	prop, err := p.service.CreateProperty(p.ctx, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	p.prop = prop.PropertyID
	ar, err := p.service.CreateArea(p.ctx, commands.CreateArea{PropertyID: p.prop, DisplayName: "Room 1", AreaType: area.Type("resident")})
	require.NoError(t, err)
	u, err := p.service.CreateUser(p.ctx, commands.CreateUser{DisplayName: "Audited", Private: &commands.UserPrivate{
		FirstName: p.marker("fn"), LastName: p.marker("ln"), Email: p.marker("em") + "@example.org", PhoneNumber: "+34 600 000 001"}})
	require.NoError(t, err)
	p.user = u.UserID
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	b, err := p.service.CreateBooking(p.ctx, commands.CreateBooking{PropertyID: p.prop, AreaID: ar.AreaID, GuestUserID: p.user,
		StartDateTime: start, EndDateTime: start.Add(48 * time.Hour), Source: booking.Source("web")})
	require.NoError(t, err)
	p.booking = b.BookingID
	g, err := p.service.RegisterGuest(p.ctx, p.booking, commands.GuestDetails{DisplayName: p.marker("gn"),
		Email: p.marker("ge") + "@example.org", DocumentType: "passport", DocumentNumber: p.marker("dn")})
	require.NoError(t, err)
	p.guest = g.GuestID
	p.caughtUp(t)
	return p
}

// caughtUp waits for the read models to reach the head of the log.
func (p *personalDir) caughtUp(t *testing.T) uint64 {
	t.Helper()
	head, err := p.store.HeadPosition(t.Context())
	require.NoError(t, err)
	require.NoError(t, p.set.WaitFor(t.Context(), head))
	return head
}

// keyOf reads a subject's key as the key file holds it.
func (p *personalDir) keyOf(t *testing.T, subject uuid.UUID) []byte {
	t.Helper()
	dsn, err := sqlite.ReadOnlyDSN(filepath.Join(p.dir, personalKeysFile))
	require.NoError(t, err)
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	var key []byte
	require.NoError(t, db.QueryRow(`SELECT key FROM subject_keys WHERE subject_id = ?`, subject.String()).Scan(&key))
	require.Len(t, key, 32)
	return key
}

// sealedPrivate is the user's sealed personal data as their creation
// logged it.
func (p *personalDir) sealedPrivate(t *testing.T, dir string) string {
	t.Helper()
	store, err := sqlite.OpenReadOnly(filepath.Join(dir, eventsFile))
	require.NoError(t, err)
	defer store.Close()
	recs, err := store.ReadStream(t.Context(), user.Category+"-"+p.user.String(), eventstore.ReadStreamOptions{Max: 1})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	var created user.UserCreated
	require.NoError(t, json.Unmarshal(recs[0].Data, &created))
	require.NotEmpty(t, created.SealedPrivate)
	return created.SealedPrivate
}

// exports writes the user's and the property's histories, as JSON and as
// CSV, into a new directory.
func (p *personalDir) exports(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	for _, format := range []string{"json", "csv"} {
		for flag, id := range map[string]uuid.UUID{"--user": p.user, "--property": p.prop} {
			file := filepath.Join(out, strings.TrimPrefix(flag, "--")+"."+format)
			code, stdout, stderr := accessctl(t, "export", "--data-dir", p.dir, flag, id.String(), "--format", format, "--out", file)
			require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			require.Contains(t, string(b), p.user.String(), "the export names the user")
		}
	}
	return out
}

// opens reports whether the replayed directory's keys open the user's
// personal data, and what it says.
func opens(t *testing.T, dir string, subject uuid.UUID, sealed string) (string, bool) {
	t.Helper()
	keys, err := personaldata.OpenReadOnly(filepath.Join(dir, personalKeysFile))
	require.NoError(t, err)
	defer keys.Close()
	plain, err := keys.Open(t.Context(), subject, sealed)
	if err != nil {
		require.ErrorIs(t, err, personaldata.ErrErased)
		return "", false
	}
	return string(plain), true
}

// After a user's deletion, `accessctl export` and `accessctl replay`
// (even of a point before the deletion) hold none of their personal data
// and none of the erased keys. A replay made before the deletion is a
// copy of the keys as they were: the person stays readable there, by
// design, until the copy is deleted (README, Replay).
func TestExportAndReplayAfterAUsersDeletion(t *testing.T) {
	p := newPersonalDir(t)
	userKey, guestKey := p.keyOf(t, p.user), p.keyOf(t, p.guest)
	beforeHead := p.caughtUp(t)
	keyFile := func() []byte {
		var all []byte
		for _, f := range []string{personalKeysFile, personalKeysFile + "-wal"} {
			b, err := os.ReadFile(filepath.Join(p.dir, f))
			if err == nil {
				all = append(all, b...)
			}
		}
		return all
	}
	require.True(t, bytes.Contains(keyFile(), userKey), "the check finds a key on disk")

	// Before the deletion: the export holds ids only; a replay holds the
	// keys as they are.
	p.requireNone(t, p.exports(t))
	replayedBefore := t.TempDir()
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", p.dir, "--until", strconv.FormatUint(beforeHead, 10), "--out", replayedBefore)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	sealed := p.sealedPrivate(t, p.dir)
	plain, ok := opens(t, replayedBefore, p.user, sealed)
	require.True(t, ok, "a replay made before the deletion opens the personal data")
	require.NotEmpty(t, p.found([]byte(plain)))

	_, err := p.service.DeleteUser(p.ctx, p.user)
	require.NoError(t, err)
	// The guest registered on the user's booking went with them.
	_, err = p.service.EraseGuest(p.ctx, p.booking, p.guest)
	require.ErrorIs(t, err, booking.ErrGuestErased)
	p.caughtUp(t)

	p.requireNone(t, p.exports(t), userKey, guestKey)
	// A replay of a point before the deletion, made after it.
	replayed := t.TempDir()
	code, stdout, stderr = accessctl(t, "replay", "--data-dir", p.dir, "--until", strconv.FormatUint(beforeHead, 10), "--out", replayed)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	require.Equal(t, sealed, p.sealedPrivate(t, replayed), "the replay holds the sealed personal data")
	_, ok = opens(t, replayed, p.user, sealed)
	require.False(t, ok, "a replay made after the deletion opens the deleted user's personal data")
	p.requireNone(t, replayed, userKey, guestKey)
	// And the source itself, once the server is gone.
	p.requireNone(t, p.dir, userKey, guestKey)

	// The replay made before the deletion still opens it: it is a copy of
	// the keys as they were.
	_, ok = opens(t, replayedBefore, p.user, sealed)
	require.True(t, ok)
	entries, err := os.ReadDir(replayedBefore)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == personalKeysFile }))
}
