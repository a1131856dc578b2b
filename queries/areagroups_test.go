package queries_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

func TestAreaGroupsWithoutArea(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	p := entities.New()
	pos := uint64(0)
	tx := func(f func(projections.Tx) error) {
		t.Helper()
		sqlTx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, f(projections.Tx{Tx: sqlTx, Dialect: db.Dialect}))
		require.NoError(t, sqlTx.Commit())
	}
	tx(func(tx projections.Tx) error { return p.Setup(ctx, tx) })
	apply := func(e eventstore.TypedEvent) {
		t.Helper()
		pos++
		env := eventstore.Envelope{ID: uuid.New(), Type: e.EventType(), Position: pos, Event: e, Known: true,
			Metadata: eventstore.Metadata{OccurredAt: time.Date(2026, 1, 1, 0, 0, int(pos), 0, time.UTC)}}
		tx(func(tx projections.Tx) error { return p.Apply(ctx, tx, env) })
	}
	account, prop := uuid.New(), uuid.New()
	areaGroup := func(groupID, areaID uuid.UUID) group.UserGroupCreated {
		return group.UserGroupCreated{UserGroupID: groupID, AccountID: account, PropertyID: prop, DisplayName: "Room",
			GroupType: group.TypeResident, GroupSource: group.SourceArea, AreaID: areaID}
	}

	// An area with its group, a deleted area with its deleted group, a
	// custom group, a deleted orphan, two orphans and the live group of a
	// deleted area.
	completeArea, completeGroup := uuid.New(), uuid.New()
	apply(areaGroup(completeGroup, completeArea))
	apply(area.AreaCreated{AreaID: completeArea, AccountID: account, PropertyID: prop, DisplayName: "Room",
		AreaType: area.TypeResident, AreaUserGroupID: completeGroup})
	goneArea, goneGroup := uuid.New(), uuid.New()
	apply(areaGroup(goneGroup, goneArea))
	apply(area.AreaCreated{AreaID: goneArea, AccountID: account, PropertyID: prop, DisplayName: "Room",
		AreaType: area.TypeResident, AreaUserGroupID: goneGroup})
	apply(area.AreaDeleted{AreaID: goneArea, AccountID: account, PropertyID: prop, AreaUserGroupID: goneGroup})
	apply(group.UserGroupDeleted{UserGroupID: goneGroup, AccountID: account, PropertyID: prop, GroupSource: group.SourceArea, AreaID: goneArea})
	apply(group.UserGroupCreated{UserGroupID: uuid.New(), AccountID: account, PropertyID: prop, DisplayName: "Staff",
		GroupType: group.TypeStaff, GroupSource: group.SourceCustom})
	repaired := uuid.New()
	apply(areaGroup(repaired, uuid.New()))
	apply(group.UserGroupDeleted{UserGroupID: repaired, AccountID: account, PropertyID: prop, GroupSource: group.SourceArea})
	orphans := []uuid.UUID{uuid.New(), uuid.New()}
	for _, id := range orphans {
		apply(areaGroup(id, uuid.New()))
	}
	leftArea, leftGroup := uuid.New(), uuid.New()
	apply(areaGroup(leftGroup, leftArea))
	apply(area.AreaCreated{AreaID: leftArea, AccountID: account, PropertyID: prop, DisplayName: "Room",
		AreaType: area.TypeResident, AreaUserGroupID: leftGroup})
	apply(area.AreaDeleted{AreaID: leftArea, AccountID: account, PropertyID: prop, AreaUserGroupID: leftGroup})
	orphans = append(orphans, leftGroup)
	slices.SortFunc(orphans, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })

	q := queries.NewEntities(db)
	got, err := q.AreaGroupsWithoutArea(ctx, uuid.Nil, 10)
	require.NoError(t, err)
	assert.Equal(t, orphans, got)
	first, err := q.AreaGroupsWithoutArea(ctx, uuid.Nil, 1)
	require.NoError(t, err)
	assert.Equal(t, orphans[:1], first)
	rest, err := q.AreaGroupsWithoutArea(ctx, first[0], 10)
	require.NoError(t, err)
	assert.Equal(t, orphans[1:], rest)
}
