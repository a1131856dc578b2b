package commands_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
)

// TestInstallAndDeleteAtOnce: an install of a lock into Z and the
// deletion of Z at once. The read model never shows the lock (noChildren),
// as when it has not caught up. One of the two runs whole between the
// other's reads and its append: never may both succeed, leaving a lock in
// a deleted area.
func TestInstallAndDeleteAtOnce(t *testing.T) {
	t.Parallel()
	t.Run("delete before the install's append", func(t *testing.T) {
		t.Parallel()
		testInstallAndDelete(t, false)
	})
	t.Run("install before the delete's append", func(t *testing.T) {
		t.Parallel()
		testInstallAndDelete(t, true)
	})
}

// testInstallAndDelete deletes Z just before the install appends
// LockInstalled, or (installFirst) installs the lock just before the
// deletion appends AreaDeleted.
func testInstallAndDelete(t *testing.T, installFirst bool) {
	s, store, ctx, prop := newInterleaved(t)
	z, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Z", AreaType: area.TypeCommon})
	require.NoError(t, err)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	provisioned, err := s.ProvisionLock(ctx, commands.ProvisionLock{DisplayName: "door",
		PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())})
	require.NoError(t, err)
	lockID := provisioned.LockID

	install := func() error {
		_, err := s.InstallLock(ctx, prop.PropertyID, z.AreaID, lockID)
		return err
	}
	del := func() error {
		_, err := s.DeleteArea(ctx, prop.PropertyID, z.AreaID)
		return err
	}
	var installErr, delErr error
	if installFirst {
		store.stream, store.eventType = "area-"+z.AreaID.String(), area.AreaDeleted{}.EventType()
		store.before = func() { installErr = install() }
		delErr = del()
		require.NoError(t, installErr, "the lock went into Z first")
		require.ErrorIs(t, delErr, area.ErrAreaHasLocks, "Z now has a lock")
	} else {
		store.stream, store.eventType = "lock-"+lockID.String(), lock.LockInstalled{}.EventType()
		store.before = func() { delErr = del() }
		installErr = install()
		require.NoError(t, delErr, "Z went first")
		require.ErrorIs(t, installErr, commands.ErrAreaNotFound, "Z is gone")
	}

	l, err := commands.Load(ctx, s.Pipeline(), commands.Aggregate[lock.State]{Category: lock.Category, Evolve: lock.Evolve}, lockID)
	require.NoError(t, err)
	a, err := commands.Load(ctx, s.Pipeline(), commands.Aggregate[area.State]{Category: area.Category, Evolve: area.Evolve}, z.AreaID)
	require.NoError(t, err)
	assert.Equal(t, installFirst, l.State.Installed(), "the lock is installed only if Z stays")
	assert.Equal(t, installFirst, a.State.Exists())
}

// TestCreateUnderAndDeleteAtOnce: a creation of an area under Z and the
// deletion of Z at once, with a read model that never shows the new area.
// One of the two runs whole between the other's reads and its append:
// never may both succeed, leaving an area under a deleted parent.
func TestCreateUnderAndDeleteAtOnce(t *testing.T) {
	t.Parallel()
	t.Run("delete before the creation's append", func(t *testing.T) {
		t.Parallel()
		testCreateUnderAndDelete(t, false)
	})
	t.Run("create before the delete's append", func(t *testing.T) {
		t.Parallel()
		testCreateUnderAndDelete(t, true)
	})
}

// testCreateUnderAndDelete deletes Z just before the creation appends
// AreaCreated, or (createFirst) creates the area just before the deletion
// appends AreaDeleted.
func testCreateUnderAndDelete(t *testing.T, createFirst bool) {
	s, store, ctx, prop := newInterleaved(t)
	z, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Z", AreaType: area.TypeCommon})
	require.NoError(t, err)

	var (
		sub               commands.NewArea
		createErr, delErr error
	)
	create := func() error {
		var err error
		sub, err = s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Z1",
			AreaType: area.TypeCommon, ParentAreaID: z.AreaID})
		return err
	}
	del := func() error {
		_, err := s.DeleteArea(ctx, prop.PropertyID, z.AreaID)
		return err
	}
	if createFirst {
		store.stream, store.eventType = "area-"+z.AreaID.String(), area.AreaDeleted{}.EventType()
		store.before = func() { createErr = create() }
		delErr = del()
		require.NoError(t, createErr, "Z1 went under Z first")
		require.ErrorIs(t, delErr, area.ErrAreaHasSubAreas, "Z now has a sub-area")
	} else {
		store.stream, store.eventType = "", area.AreaCreated{}.EventType()
		store.before = func() { delErr = del() }
		createErr = create()
		require.NoError(t, delErr, "Z went first")
		require.ErrorIs(t, createErr, area.ErrParentNotFound, "Z is gone")
	}

	zs, err := commands.Load(ctx, s.Pipeline(), commands.Aggregate[area.State]{Category: area.Category, Evolve: area.Evolve}, z.AreaID)
	require.NoError(t, err)
	assert.Equal(t, createFirst, zs.State.Exists(), "Z stays only if Z1 went under it")
	if createFirst {
		subs, err := commands.Load(ctx, s.Pipeline(), commands.Aggregate[area.State]{Category: area.Category, Evolve: area.Evolve}, sub.AreaID)
		require.NoError(t, err)
		assert.Equal(t, z.AreaID, subs.State.ParentAreaID())
		return
	}
	// No area names the deleted Z as its parent.
	recs, err := store.ReadAll(ctx, 0, 10000, eventstore.Filter{EventTypes: []string{area.AreaCreated{}.EventType()}})
	require.NoError(t, err)
	require.Len(t, recs, 1, "Z only")
	for _, r := range recs {
		assert.NotContains(t, string(r.Data), `"parentAreaId"`, "an area created under the deleted Z")
	}
	// Nor is the abandoned area's own group left live, taking members.
	groups, err := store.ReadAll(ctx, 0, 10000, eventstore.Filter{EventTypes: []string{
		group.UserGroupCreated{}.EventType(), group.UserGroupDeleted{}.EventType()}})
	require.NoError(t, err)
	live := map[string]int{}
	for _, r := range groups {
		if r.Type == (group.UserGroupCreated{}).EventType() {
			live[r.Stream]++
		} else {
			live[r.Stream]--
		}
	}
	for stream, n := range live {
		assert.Zero(t, n, "%s: the group of an area deleted or never created is live", stream)
	}
}

// TestMoveUnderAndDeleteAtOnce: a move of X under Z and the deletion of Z
// at once, with a read model that never shows X under Z. One of the two
// runs whole between the other's reads and its append: never may both
// succeed, leaving X under a deleted parent.
func TestMoveUnderAndDeleteAtOnce(t *testing.T) {
	t.Parallel()
	t.Run("delete before the move's append", func(t *testing.T) {
		t.Parallel()
		testMoveUnderAndDelete(t, false)
	})
	t.Run("move before the delete's append", func(t *testing.T) {
		t.Parallel()
		testMoveUnderAndDelete(t, true)
	})
}

// testMoveUnderAndDelete deletes Z just before the move appends AreaMoved,
// or (moveFirst) moves X just before the deletion appends AreaDeleted.
func testMoveUnderAndDelete(t *testing.T, moveFirst bool) {
	s, store, ctx, prop := newInterleaved(t)
	z, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Z", AreaType: area.TypeCommon})
	require.NoError(t, err)
	x, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "X", AreaType: area.TypeCommon})
	require.NoError(t, err)

	var moveErr, delErr error
	move := func() error {
		_, err := s.UpdateArea(ctx, prop.PropertyID, x.AreaID, commands.UpdateArea{
			DisplayName: "X", AreaType: area.TypeCommon, ParentAreaID: z.AreaID, AccessList: []area.AccessEntry{}})
		return err
	}
	del := func() error {
		_, err := s.DeleteArea(ctx, prop.PropertyID, z.AreaID)
		return err
	}
	if moveFirst {
		store.stream, store.eventType = "area-"+z.AreaID.String(), area.AreaDeleted{}.EventType()
		store.before = func() { moveErr = move() }
		delErr = del()
		require.NoError(t, moveErr, "X went under Z first")
		require.ErrorIs(t, delErr, area.ErrAreaHasSubAreas, "Z now has a sub-area")
	} else {
		store.stream, store.eventType = "area-"+x.AreaID.String(), area.AreaMoved{}.EventType()
		store.before = func() { delErr = del() }
		moveErr = move()
		require.NoError(t, delErr, "Z went first")
		require.ErrorIs(t, moveErr, area.ErrParentNotFound, "Z is gone")
	}

	agg := commands.Aggregate[area.State]{Category: area.Category, Evolve: area.Evolve}
	zs, err := commands.Load(ctx, s.Pipeline(), agg, z.AreaID)
	require.NoError(t, err)
	xs, err := commands.Load(ctx, s.Pipeline(), agg, x.AreaID)
	require.NoError(t, err)
	assert.Equal(t, moveFirst, zs.State.Exists(), "Z stays only if X went under it")
	assert.Equal(t, moveFirst, xs.State.ParentAreaID() == z.AreaID, "X is under Z only if Z stays")
}

// A deletion refused anyway (Z keeps a lock) abandons no creation under
// way beneath Z: the sub-area is created, and the deletion is a 409.
func TestRefusedDeleteAbandonsNoCreationUnderWay(t *testing.T) {
	s, store, ctx, prop := newInterleaved(t)
	z, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Z", AreaType: area.TypeCommon})
	require.NoError(t, err)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	provisioned, err := s.ProvisionLock(ctx, commands.ProvisionLock{DisplayName: "door",
		PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())})
	require.NoError(t, err)
	_, err = s.InstallLock(ctx, prop.PropertyID, z.AreaID, provisioned.LockID)
	require.NoError(t, err)

	var delErr error
	store.stream, store.eventType = "", area.AreaCreated{}.EventType()
	store.before = func() { _, delErr = s.DeleteArea(ctx, prop.PropertyID, z.AreaID) }
	sub, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Z1",
		AreaType: area.TypeCommon, ParentAreaID: z.AreaID})
	require.ErrorIs(t, delErr, area.ErrAreaHasLocks, "Z keeps its lock")
	require.NoError(t, err, "the creation under Z goes on")
	l, err := commands.Load(ctx, s.Pipeline(), commands.Aggregate[area.State]{Category: area.Category, Evolve: area.Evolve}, sub.AreaID)
	require.NoError(t, err)
	assert.Equal(t, z.AreaID, l.State.ParentAreaID())
}
