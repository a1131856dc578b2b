package commands_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

var (
	gPropAgg  = commands.Aggregate[property.State]{Category: property.Category, Evolve: property.Evolve}
	gUserAgg  = commands.Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve}
	gGroupAgg = commands.Aggregate[group.State]{Category: group.Category, Evolve: group.Evolve}
)

// groupWorld is a service over a memory store with two accounts, each with
// a property and a user.
type groupWorld struct {
	t        *testing.T
	svc      *commands.Service
	p        *commands.Pipeline
	account  uuid.UUID
	other    uuid.UUID
	prop     uuid.UUID
	prop2    uuid.UUID
	theirs   uuid.UUID // the other account's property
	user     uuid.UUID
	theirUsr uuid.UUID
}

func newGroupWorld(t *testing.T) *groupWorld {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	p, err := commands.NewPipeline(store, commands.NewRegistry(), func() time.Time { return clock })
	require.NoError(t, err)
	svc, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	w := &groupWorld{t: t, svc: svc, p: p, account: uuid.New(), other: uuid.New(),
		prop: uuid.New(), prop2: uuid.New(), theirs: uuid.New(), user: uuid.New(), theirUsr: uuid.New()}
	ctx := context.Background()
	for _, pr := range []struct{ id, account uuid.UUID }{{w.prop, w.account}, {w.prop2, w.account}, {w.theirs, w.other}} {
		_, err := commands.Run(ctx, p, gPropAgg, pr.id, "seed", property.Create{PropertyID: pr.id, AccountID: pr.account, DisplayName: "P"})
		require.NoError(t, err)
	}
	for _, u := range []struct{ id, account uuid.UUID }{{w.user, w.account}, {w.theirUsr, w.other}} {
		_, err := commands.Run(ctx, p, gUserAgg, u.id, "seed", user.Create{UserID: u.id, AccountID: u.account, DisplayName: "U"})
		require.NoError(t, err)
	}
	return w
}

func (w *groupWorld) as(account uuid.UUID, grants ...domain.Grant) context.Context {
	return domain.WithActor(context.Background(), domain.Actor{AccountID: account, APIKeyID: uuid.New(), Grants: grants})
}

func (w *groupWorld) owner() context.Context {
	return w.as(w.account, domain.Grant{Permission: domain.PermOwner})
}

func (w *groupWorld) create(ctx context.Context, propertyID uuid.UUID) uuid.UUID {
	w.t.Helper()
	g, err := w.svc.CreateGroup(ctx, commands.CreateGroup{PropertyID: propertyID, DisplayName: "Cleaners", GroupType: group.TypeStaff})
	require.NoError(w.t, err)
	return g.UserGroupID
}

func (w *groupWorld) group(id uuid.UUID) group.State {
	w.t.Helper()
	l, err := commands.Load(context.Background(), w.p, gGroupAgg, id)
	require.NoError(w.t, err)
	return l.State
}

func TestCreateGroupChecksThePropertyAndThePermission(t *testing.T) {
	w := newGroupWorld(t)
	g, err := w.svc.CreateGroup(w.owner(), commands.CreateGroup{PropertyID: w.prop, DisplayName: "Cleaners", GroupType: group.TypeStaff})
	require.NoError(t, err)
	st := w.group(g.UserGroupID)
	assert.True(t, st.Exists())
	assert.Equal(t, group.SourceCustom, st.GroupSource())
	assert.Equal(t, w.prop, st.PropertyID())
	assert.Equal(t, w.account, st.AccountID())

	manage := func(p uuid.UUID) domain.Grant {
		return domain.Grant{Permission: domain.PermManageAccess, PropertyID: p}
	}
	cases := []struct {
		name     string
		ctx      context.Context
		property uuid.UUID
		want     error
	}{
		{"no actor", context.Background(), w.prop, domain.ErrUnauthenticated},
		{"missing property", w.owner(), uuid.New(), domain.ErrNotFound},
		{"another account's property", w.owner(), w.theirs, domain.ErrNotFound},
		{"manage-access scoped elsewhere", w.as(w.account, manage(w.prop2)), w.prop, domain.ErrNotFound},
		{"support", w.as(w.account, domain.Grant{Permission: domain.PermSupport}), w.prop, domain.ErrForbidden},
		{"me", w.as(w.account, domain.Grant{Permission: domain.PermMe, UserID: w.user}), w.prop, domain.ErrForbidden},
		{"manage-access scoped here", w.as(w.account, manage(w.prop)), w.prop, nil},
		{"manage-access account-wide", w.as(w.account, domain.Grant{Permission: domain.PermManageAccess}), w.prop, nil},
	}
	for _, c := range cases {
		_, err := w.svc.CreateGroup(c.ctx, commands.CreateGroup{PropertyID: c.property, DisplayName: "G", GroupType: group.TypeCommon})
		if c.want == nil {
			assert.NoError(t, err, c.name)
		} else {
			assert.ErrorIs(t, err, c.want, c.name)
		}
	}
	_, err = w.svc.CreateGroup(w.owner(), commands.CreateGroup{PropertyID: w.prop, DisplayName: "", GroupType: group.TypeStaff})
	assert.ErrorIs(t, err, domain.ErrInvalid)
	_, err = w.svc.CreateGroup(w.owner(), commands.CreateGroup{PropertyID: w.prop, DisplayName: "G", GroupType: "vip"})
	assert.ErrorIs(t, err, domain.ErrInvalid)
}

func TestIdempotentCreateGroupMakesOneGroup(t *testing.T) {
	w := newGroupWorld(t)
	ctx := commands.WithIdempotencyKey(w.owner(), "create-cleaners")
	a, err := w.svc.CreateGroup(ctx, commands.CreateGroup{PropertyID: w.prop, DisplayName: "Cleaners", GroupType: group.TypeStaff})
	require.NoError(t, err)
	b, err := w.svc.CreateGroup(ctx, commands.CreateGroup{PropertyID: w.prop, DisplayName: "Cleaners", GroupType: group.TypeStaff})
	require.NoError(t, err)
	assert.Equal(t, a.UserGroupID, b.UserGroupID)
	assert.True(t, b.Replayed)
}

func TestGroupsOfAnotherAccountOrPropertyAreNotFound(t *testing.T) {
	w := newGroupWorld(t)
	g := w.create(w.owner(), w.prop)
	theirs := w.as(w.other, domain.Grant{Permission: domain.PermOwner})
	_, err := w.svc.UpdateGroup(theirs, w.prop, g, group.Update{DisplayName: "x", GroupType: group.TypeStaff})
	assert.ErrorIs(t, err, domain.ErrNotFound)
	_, err = w.svc.DeleteGroup(theirs, w.prop, g)
	assert.ErrorIs(t, err, domain.ErrNotFound)
	_, err = w.svc.AddMember(theirs, commands.AddMember{PropertyID: w.prop, UserGroupID: g, UserID: w.theirUsr})
	assert.ErrorIs(t, err, domain.ErrNotFound)
	_, err = w.svc.RemoveMember(theirs, w.prop, g, w.user)
	assert.ErrorIs(t, err, domain.ErrNotFound)
	// The right account but the wrong property in the path.
	_, err = w.svc.UpdateGroup(w.owner(), w.prop2, g, group.Update{DisplayName: "x", GroupType: group.TypeStaff})
	assert.ErrorIs(t, err, domain.ErrNotFound)
	// A reader may not change it; a key scoped elsewhere does not see it.
	support := w.as(w.account, domain.Grant{Permission: domain.PermSupport})
	_, err = w.svc.DeleteGroup(support, w.prop, g)
	assert.ErrorIs(t, err, domain.ErrForbidden)
	elsewhere := w.as(w.account, domain.Grant{Permission: domain.PermManageAccess, PropertyID: w.prop2})
	_, err = w.svc.DeleteGroup(elsewhere, w.prop, g)
	assert.ErrorIs(t, err, domain.ErrNotFound)
	assert.True(t, w.group(g).Exists())
}

func TestUpdateAndDeleteGroup(t *testing.T) {
	w := newGroupWorld(t)
	g := w.create(w.owner(), w.prop)
	res, err := w.svc.UpdateGroup(w.owner(), w.prop, g, group.Update{DisplayName: "Housekeeping", GroupType: group.TypeStaff})
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, "Housekeeping", w.group(g).DisplayName())
	res, err = w.svc.UpdateGroup(w.owner(), w.prop, g, group.Update{DisplayName: "Housekeeping", GroupType: group.TypeStaff})
	require.NoError(t, err)
	assert.Empty(t, res.Events, "no change, no event")

	_, err = w.svc.DeleteGroup(w.owner(), w.prop, g)
	require.NoError(t, err)
	assert.True(t, w.group(g).Deleted())
	_, err = w.svc.DeleteGroup(w.owner(), w.prop, g)
	assert.ErrorIs(t, err, domain.ErrNotFound)

	// An area's own group goes only with its area.
	areaGroup := uuid.New()
	_, err = commands.Run(context.Background(), w.p, gGroupAgg, areaGroup, "seed", group.Create{
		UserGroupID: areaGroup, AccountID: w.account, PropertyID: w.prop, DisplayName: "Room 101",
		GroupType: group.TypeResident, GroupSource: group.SourceArea, AreaID: uuid.New(),
	})
	require.NoError(t, err)
	_, err = w.svc.DeleteGroup(w.owner(), w.prop, areaGroup)
	assert.ErrorIs(t, err, group.ErrAreaGroup)
	assert.ErrorIs(t, err, domain.ErrConflict)
}

func TestAddAndRemoveMembers(t *testing.T) {
	w := newGroupWorld(t)
	g := w.create(w.owner(), w.prop)
	from := clock.Add(24 * time.Hour)
	until := from.Add(72 * time.Hour)
	add := func(userID uuid.UUID, from, until *time.Time) (commands.Result, error) {
		return w.svc.AddMember(w.owner(), commands.AddMember{PropertyID: w.prop, UserGroupID: g, UserID: userID, ValidFrom: from, ValidUntil: until})
	}

	_, err := add(uuid.New(), nil, nil)
	assert.ErrorIs(t, err, user.ErrNotFound, "a user that does not exist")
	_, err = add(w.theirUsr, nil, nil)
	assert.ErrorIs(t, err, user.ErrNotFound, "a user of another account")
	_, err = add(w.user, &until, &from)
	var fe *domain.Error
	require.True(t, errors.As(err, &fe))
	assert.ErrorIs(t, err, domain.ErrInvalid)
	assert.Equal(t, "validUntil", fe.Field)

	res, err := add(w.user, &from, &until)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.IsType(t, group.UserAddedToGroup{}, res.Events[0])
	res, err = add(w.user, &from, &until)
	require.NoError(t, err)
	assert.Empty(t, res.Events, "the same window again changes nothing")
	res, err = add(w.user, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.IsType(t, group.UserGroupMembershipChanged{}, res.Events[0])

	_, err = w.svc.RemoveMember(w.owner(), w.prop, g, w.user)
	require.NoError(t, err)
	_, member := w.group(g).Member(w.user)
	assert.False(t, member)
	_, err = w.svc.RemoveMember(w.owner(), w.prop, g, w.user)
	assert.ErrorIs(t, err, group.ErrNotMember)
}

type fakeMemberships map[uuid.UUID][]uuid.UUID

func (f fakeMemberships) GroupIDsOfUser(_ context.Context, _, userID uuid.UUID) ([]uuid.UUID, error) {
	return f[userID], nil
}

func TestRemoveUserFromAllGroups(t *testing.T) {
	w := newGroupWorld(t)
	_, err := w.svc.RemoveUserFromAllGroups(w.owner(), w.user)
	require.Error(t, err, "no memberships reader wired")

	g1, g2, gone := w.create(w.owner(), w.prop), w.create(w.owner(), w.prop2), w.create(w.owner(), w.prop)
	for _, g := range []uuid.UUID{g1, g2, gone} {
		_, err := w.svc.AddMember(w.owner(), commands.AddMember{PropertyID: w.group(g).PropertyID(), UserGroupID: g, UserID: w.user})
		require.NoError(t, err)
	}
	_, err = w.svc.DeleteGroup(w.owner(), w.prop, gone)
	require.NoError(t, err)
	notMember := w.create(w.owner(), w.prop)
	w.svc.SetMemberships(fakeMemberships{w.user: {g1, g2, gone, notMember}})

	_, err = w.svc.RemoveUserFromAllGroups(w.as(w.account, domain.Grant{Permission: domain.PermSupport}), w.user)
	assert.ErrorIs(t, err, domain.ErrForbidden)
	_, err = w.svc.RemoveUserFromAllGroups(w.as(w.other, domain.Grant{Permission: domain.PermOwner}), w.user)
	assert.ErrorIs(t, err, domain.ErrNotFound)

	res, err := w.svc.RemoveUserFromAllGroups(w.as(w.account, domain.Grant{Permission: domain.PermManageAccess, PropertyID: w.prop}), w.user)
	require.NoError(t, err)
	assert.NotZero(t, res.Position)
	for _, g := range []uuid.UUID{g1, g2} {
		_, member := w.group(g).Member(w.user)
		assert.False(t, member, "still in %s", g)
	}
	// Again: nothing left to do, and no error.
	_, err = w.svc.RemoveUserFromAllGroups(w.owner(), w.user)
	require.NoError(t, err)

	// Every removal is an event in the log.
	recs, err := w.p.Store().ReadAll(context.Background(), 0, 1000, eventstore.Filter{})
	require.NoError(t, err)
	removed := 0
	for _, r := range recs {
		if r.Type == (group.UserRemovedFromGroup{}).EventType() {
			removed++
		}
	}
	assert.Equal(t, 2, removed)
}
