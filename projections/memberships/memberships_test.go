package memberships_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/memberships"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

type fixture struct {
	t        *testing.T
	store    *memstore.Store
	db       *projections.DB
	registry *eventstore.Registry
	set      *projections.Set
	q        *queries.Memberships
}

// membersList names the list these tests walk: a list of no key issues
// tokens that never verify.
var membersList = queries.NewListKey(queries.NewPageTokenKey(bytes.Repeat([]byte{3}, 32)), "members of a group")

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := memstore.New()
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	reg := eventstore.NewRegistry()
	for _, e := range append(group.Events(), user.Events()...) {
		reg.Register(e)
	}
	log := slog.New(slog.DiscardHandler)
	var runners []*projections.Runner
	for _, p := range []projections.Projection{entities.New(), memberships.New()} {
		r, err := projections.NewRunner(db, store, reg, p, log)
		require.NoError(t, err)
		runners = append(runners, r)
	}
	set := projections.NewSet(store, runners...)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
		store.Close()
	})
	return &fixture{t: t, store: store, db: db, registry: reg, set: set, q: queries.NewMemberships(db)}
}

// append writes events to a stream and waits for the read models.
func (f *fixture) append(stream string, evs ...eventstore.TypedEvent) uint64 {
	f.t.Helper()
	var data []eventstore.EventData
	for _, e := range evs {
		d, err := f.registry.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now()})
		require.NoError(f.t, err)
		data = append(data, d)
	}
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, data...)
	require.NoError(f.t, err)
	f.wait(res.Position)
	return res.Position
}

func (f *fixture) wait(pos uint64) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(f.t, f.set.WaitFor(ctx, pos))
}

func (f *fixture) groupIDs(account, userID uuid.UUID) []uuid.UUID {
	f.t.Helper()
	ids, err := f.q.GroupIDsOfUser(context.Background(), account, userID)
	require.NoError(f.t, err)
	return ids
}

func (f *fixture) members(account, groupID uuid.UUID) []queries.Member {
	f.t.Helper()
	ms, _, err := f.q.UsersOfGroup(context.Background(), account.String(), groupID.String(), queries.Page{Size: 50})
	require.NoError(f.t, err)
	return ms
}

func at(s string) *time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return &t
}

func TestMembershipsFollowTheGroupsAndUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	account, other := uuid.New(), uuid.New()
	p1, p2 := uuid.New(), uuid.New()
	g1, g2 := uuid.New(), uuid.New()
	u1, u2 := uuid.New(), uuid.New()
	stream := func(id uuid.UUID) string { return group.Category + "-" + id.String() }
	created := func(g, p uuid.UUID) group.UserGroupCreated {
		return group.UserGroupCreated{UserGroupID: g, AccountID: account, PropertyID: p, DisplayName: "G",
			GroupType: group.TypeStaff, GroupSource: group.SourceCustom}
	}
	f.append(stream(g1), created(g1, p1))
	f.append(stream(g2), created(g2, p2))

	from, until := at("2024-03-02T15:00:00.5+01:00"), at("2024-03-05T11:00:00Z")
	addU2 := group.UserAddedToGroup{UserGroupID: g1, AccountID: account, PropertyID: p1, UserID: u2}
	f.append(stream(g1), group.UserAddedToGroup{UserGroupID: g1, AccountID: account, PropertyID: p1, UserID: u1, ValidFrom: from, ValidUntil: until})
	addU2Pos := f.append(stream(g1), addU2)
	f.append(stream(g2), group.UserAddedToGroup{UserGroupID: g2, AccountID: account, PropertyID: p2, UserID: u1})

	ms := f.members(account, g1)
	require.Len(t, ms, 2)
	assert.Equal(t, u1.String(), ms[0].UserID, "oldest membership first")
	require.NotNil(t, ms[0].ValidFrom)
	assert.True(t, ms[0].ValidFrom.Equal(*from))
	assert.Equal(t, time.UTC, ms[0].ValidFrom.Location())
	assert.True(t, ms[0].ValidUntil.Equal(*until))
	assert.Nil(t, ms[1].ValidFrom)
	assert.Equal(t, []uuid.UUID{g1, g2}, f.groupIDs(account, u1))
	assert.Empty(t, f.groupIDs(other, u1), "another account sees nothing")

	// Groups of a user, everywhere and at one property, as documents.
	docs, _, err := f.q.GroupsOfUser(ctx, account.String(), u1.String(), queries.GroupsFilter{}, queries.Page{Size: 50})
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Contains(t, string(docs[0].JSON), g1.String())
	docs, _, err = f.q.GroupsOfUser(ctx, account.String(), u1.String(), queries.GroupsFilter{PropertyID: p2.String()}, queries.Page{Size: 50})
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, g2.String(), docs[0].ID)
	docs, _, err = f.q.GroupsOfUser(ctx, account.String(), u1.String(), queries.GroupsFilter{PropertyIDs: []string{}}, queries.Page{Size: 50})
	require.NoError(t, err)
	assert.Empty(t, docs)

	// A new window keeps the membership's place.
	f.append(stream(g1), group.UserGroupMembershipChanged{UserGroupID: g1, AccountID: account, PropertyID: p1, UserID: u1})
	ms = f.members(account, g1)
	require.Len(t, ms, 2)
	assert.Equal(t, u1.String(), ms[0].UserID)
	assert.Nil(t, ms[0].ValidFrom)
	assert.Nil(t, ms[0].ValidUntil)

	// Removed, then the old addition re-delivered: still removed.
	f.append(stream(g1), group.UserRemovedFromGroup{UserGroupID: g1, AccountID: account, PropertyID: p1, UserID: u2})
	require.Len(t, f.members(account, g1), 1)
	recs, err := f.store.ReadAll(ctx, addU2Pos-1, 1, eventstore.Filter{})
	require.NoError(t, err)
	require.NoError(t, f.set.Reprocess(ctx, recs[0].Position))
	require.Len(t, f.members(account, g1), 1, "re-delivering an old event changes nothing")

	// A deleted group takes its memberships with it.
	f.append(stream(g2), group.UserGroupDeleted{UserGroupID: g2, AccountID: account, PropertyID: p2, GroupSource: group.SourceCustom})
	assert.Equal(t, []uuid.UUID{g1}, f.groupIDs(account, u1))

	// A deleted user is at once a member of nothing; the memberships the
	// groups' streams still hold are orphans the cascade finds and ends.
	g3 := uuid.New()
	f.append(stream(g3), created(g3, p1))
	f.append(user.Category+"-"+u1.String(), user.UserDeleted{UserID: u1, AccountID: account})
	assert.Empty(t, f.members(account, g1))
	assert.Equal(t, []uuid.UUID{g1}, f.groupIDs(account, u1))
	docs, _, err = f.q.GroupsOfUser(ctx, account.String(), u1.String(), queries.GroupsFilter{}, queries.Page{Size: 50})
	require.NoError(t, err)
	assert.Empty(t, docs)
	// An addition racing the deletion is an orphan too.
	f.append(stream(g3), group.UserAddedToGroup{UserGroupID: g3, AccountID: account, PropertyID: p1, UserID: u1})
	assert.Empty(t, f.members(account, g3))
	assert.Equal(t, []uuid.UUID{g1, g3}, f.groupIDs(account, u1))
	f.append(stream(g1), group.UserRemovedFromGroup{UserGroupID: g1, AccountID: account, PropertyID: p1, UserID: u1})
	f.append(stream(g3), group.UserGroupDeleted{UserGroupID: g3, AccountID: account, PropertyID: p1, GroupSource: group.SourceCustom})
	assert.Empty(t, f.groupIDs(account, u1))
}

func TestMembersPageStablyWhileMembersAreAdded(t *testing.T) {
	f := newFixture(t)
	account, p, g := uuid.New(), uuid.New(), uuid.New()
	stream := group.Category + "-" + g.String()
	f.append(stream, group.UserGroupCreated{UserGroupID: g, AccountID: account, PropertyID: p, DisplayName: "G",
		GroupType: group.TypeStaff, GroupSource: group.SourceCustom})
	add := func() uuid.UUID {
		u := uuid.New()
		f.append(stream, group.UserAddedToGroup{UserGroupID: g, AccountID: account, PropertyID: p, UserID: u})
		return u
	}
	var want []string
	for range 5 {
		want = append(want, add().String())
	}
	var got []string
	page := queries.Page{Size: 2, List: membersList}
	for {
		ms, next, err := f.q.UsersOfGroup(context.Background(), account.String(), g.String(), page)
		require.NoError(t, err)
		for _, m := range ms {
			got = append(got, m.UserID)
		}
		if len(got) == 2 {
			want = append(want, add().String()) // appended between pages
		}
		if next == "" {
			break
		}
		page, err = queries.ParsePage("2", next, page.List)
		require.NoError(t, err)
	}
	assert.Equal(t, want, got)
}

// A member removed and added again comes back to the place they first
// joined at: a walk of the list that passed them does not meet them twice.
func TestMemberAddedAgainKeepsTheirPlace(t *testing.T) {
	f := newFixture(t)
	account, p, g := uuid.New(), uuid.New(), uuid.New()
	stream := group.Category + "-" + g.String()
	f.append(stream, group.UserGroupCreated{UserGroupID: g, AccountID: account, PropertyID: p, DisplayName: "G",
		GroupType: group.TypeStaff, GroupSource: group.SourceCustom})
	var users []string
	for range 3 {
		u := uuid.New()
		f.append(stream, group.UserAddedToGroup{UserGroupID: g, AccountID: account, PropertyID: p, UserID: u})
		users = append(users, u.String())
	}
	first, err := queries.ParsePage("1", "", membersList)
	require.NoError(t, err)
	ms, next, err := f.q.UsersOfGroup(context.Background(), account.String(), g.String(), first)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	got := []string{ms[0].UserID}
	// The first member, already read, leaves and comes back.
	u0 := uuid.MustParse(users[0])
	f.append(stream, group.UserRemovedFromGroup{UserGroupID: g, AccountID: account, PropertyID: p, UserID: u0})
	f.append(stream, group.UserAddedToGroup{UserGroupID: g, AccountID: account, PropertyID: p, UserID: u0})
	for next != "" {
		page, err := queries.ParsePage("1", next, first.List)
		require.NoError(t, err)
		ms, next, err = f.q.UsersOfGroup(context.Background(), account.String(), g.String(), page)
		require.NoError(t, err)
		for _, m := range ms {
			got = append(got, m.UserID)
		}
	}
	assert.Equal(t, users, got, "each member once, in the order they first joined")

	var listed []string
	for _, m := range f.members(account, g) {
		listed = append(listed, m.UserID)
	}
	assert.Equal(t, users, listed)
}

func TestStoredTimesSortAsInstants(t *testing.T) {
	a := memberships.FormatTime(at("2024-03-02T15:00:00.5Z")).(string)
	b := memberships.FormatTime(at("2024-03-02T15:00:00.25Z")).(string)
	c := memberships.FormatTime(at("2024-03-02T16:00:00+02:00")).(string)
	assert.Less(t, b, a)
	assert.Less(t, c, b)
	back, err := memberships.ParseTime(sql.NullString{String: a, Valid: true})
	require.NoError(t, err)
	assert.True(t, back.Equal(*at("2024-03-02T15:00:00.5Z")))
	none, err := memberships.ParseTime(sql.NullString{})
	require.NoError(t, err)
	assert.Nil(t, none)
	assert.Nil(t, memberships.FormatTime(nil))
}
