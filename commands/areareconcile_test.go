package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// crashingAreaAppends is a store that, while crashing is set, fails every
// append to an area stream: a CreateArea stops after its group, as if the
// server were killed between the two appends. While crashingGroups is
// set it fails every append to a group stream: a repair stops after
// abandoning the area. beforeNextAreaAppend slips other work in just
// before the next append to an area stream, after the command appending
// has loaded and decided.
type crashingAreaAppends struct {
	eventstore.Store
	crashing       atomic.Bool
	crashingGroups atomic.Bool
	nextAreaAppend atomic.Pointer[func()]
}

func (c *crashingAreaAppends) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	switch {
	case c.crashing.Load() && strings.HasPrefix(stream, area.Category+"-"),
		c.crashingGroups.Load() && strings.HasPrefix(stream, group.Category+"-"):
		return eventstore.AppendResult{}, errors.New("killed")
	}
	if strings.HasPrefix(stream, area.Category+"-") {
		if f := c.nextAreaAppend.Swap(nil); f != nil {
			(*f)()
		}
	}
	return c.Store.Append(ctx, stream, expected, events...)
}

// beforeNextAreaAppend runs f once, just before the next area append
// (f's own appends go through untouched).
func (c *crashingAreaAppends) beforeNextAreaAppend(f func()) { c.nextAreaAppend.Store(&f) }

// everyAreaGroup lists every area-source group the log holds, whether its
// area exists or not: a read model as pessimistic as can be, so the
// repair's own checks decide.
type everyAreaGroup struct{ store eventstore.Store }

func (e everyAreaGroup) AreaGroupsWithoutArea(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	recs, err := e.store.ReadAll(ctx, 0, 10000, eventstore.Filter{EventTypes: []string{group.UserGroupCreated{}.EventType()}})
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, r := range recs {
		var ev group.UserGroupCreated
		if err := json.Unmarshal(r.Data, &ev); err != nil {
			return nil, err
		}
		if ev.GroupSource == group.SourceArea && bytes.Compare(ev.UserGroupID[:], after[:]) > 0 {
			ids = append(ids, ev.UserGroupID)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids[:min(limit, len(ids))], nil
}

// repairWorld is one log with a clock the test moves, seen by two servers
// (two services, each with its own pipeline and cache), both running the
// repair.
type repairWorld struct {
	store    *crashingAreaAppends
	now      atomic.Pointer[time.Time]
	services [2]*commands.Service
	repairs  [2]*commands.AreaRepair
	ctx      context.Context
	prop     uuid.UUID
}

func newRepairWorld(t *testing.T) *repairWorld {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	w := &repairWorld{store: &crashingAreaAppends{Store: mem}}
	w.now.Store(&clock)
	for i := range w.services {
		p, err := commands.NewPipeline(w.store, commands.NewRegistry(), func() time.Time { return *w.now.Load() })
		require.NoError(t, err)
		s, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
		require.NoError(t, err)
		s.SetCounts(noChildren{})
		w.services[i] = s
		w.repairs[i], err = commands.NewAreaRepair(s, everyAreaGroup{w.store}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
	}
	w.ctx = domain.WithActor(context.Background(), domain.Actor{
		AccountID: uuid.New(), APIKeyID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}},
	})
	prop, err := w.services[0].CreateProperty(w.ctx, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	w.prop = prop.PropertyID
	return w
}

func (w *repairWorld) advance(d time.Duration) {
	next := w.now.Load().Add(d)
	w.now.Store(&next)
}

// crashedCreateArea runs a keyed CreateArea that is killed after its
// group, and returns the group it left.
func (w *repairWorld) crashedCreateArea(t *testing.T, key, name string) uuid.UUID {
	t.Helper()
	before, err := w.store.HeadPosition(w.ctx)
	require.NoError(t, err)
	w.store.crashing.Store(true)
	_, err = w.services[0].CreateArea(commands.WithIdempotencyKey(w.ctx, key), w.createArea(name))
	w.store.crashing.Store(false)
	require.Error(t, err)
	recs, err := w.store.ReadAll(w.ctx, before, 10, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 1, "only the group was appended")
	var ev group.UserGroupCreated
	require.NoError(t, json.Unmarshal(recs[0].Data, &ev))
	require.Equal(t, group.SourceArea, ev.GroupSource)
	require.Zero(t, streamLengthOrZero(t, w.store, area.Category+"-"+ev.AreaID.String()))
	return ev.UserGroupID
}

func (w *repairWorld) createArea(name string) commands.CreateArea {
	return commands.CreateArea{PropertyID: w.prop, DisplayName: name, AreaType: area.TypeResident}
}

// repairRacing runs both servers' repairs at once and returns how many
// deletions they reported together.
func (w *repairWorld) repairRacing(t *testing.T) int {
	t.Helper()
	var wg sync.WaitGroup
	var counts [2]int
	var errs [2]error
	for i := range w.repairs {
		wg.Go(func() { counts[i], errs[i] = w.repairs[i].Repair(context.Background()) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs[:]...))
	return counts[0] + counts[1]
}

// repairedDeletion checks that a group's stream ends in the one deletion
// a repair appended, as the system and under the repair's correlation id,
// and returns it.
func (w *repairWorld) repairedDeletion(t *testing.T, groupID uuid.UUID) (eventstore.Envelope, group.UserGroupDeleted) {
	t.Helper()
	recs, err := w.store.ReadStream(w.ctx, groupStream(groupID), eventstore.ReadStreamOptions{Max: 100})
	require.NoError(t, err)
	require.Len(t, recs, 2, "deleted exactly once, whichever server won")
	env, err := commands.NewRegistry().Decode(recs[1])
	require.NoError(t, err)
	deleted, ok := env.Event.(group.UserGroupDeleted)
	require.True(t, ok, "got %T", env.Event)
	assert.Empty(t, env.Metadata.APIKeyID, "the system's repair, not a caller's key")
	assert.Equal(t, "area-repair-"+groupID.String(), env.Metadata.CorrelationID)
	return env, deleted
}

func streamLengthOrZero(t *testing.T, store eventstore.Store, stream string) int {
	t.Helper()
	recs, err := store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{Max: 100})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return 0
	}
	require.NoError(t, err)
	return len(recs)
}

func groupStream(id uuid.UUID) string { return group.Category + "-" + id.String() }

func areaStream(id uuid.UUID) string { return area.Category + "-" + id.String() }

// areaOf is the area a group was made for.
func (w *repairWorld) areaOf(t *testing.T, groupID uuid.UUID) uuid.UUID {
	t.Helper()
	recs, err := w.store.ReadStream(w.ctx, groupStream(groupID), eventstore.ReadStreamOptions{Max: 1})
	require.NoError(t, err)
	var ev group.UserGroupCreated
	require.NoError(t, json.Unmarshal(recs[0].Data, &ev))
	return ev.AreaID
}

// areaEvents are the decoded events of an area's stream.
func (w *repairWorld) areaEvents(t *testing.T, areaID uuid.UUID) []eventstore.Envelope {
	t.Helper()
	recs, err := w.store.ReadStream(w.ctx, areaStream(areaID), eventstore.ReadStreamOptions{Max: 100})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil
	}
	require.NoError(t, err)
	var out []eventstore.Envelope
	for _, r := range recs {
		env, err := commands.NewRegistry().Decode(r)
		require.NoError(t, err)
		out = append(out, env)
	}
	return out
}

func TestAreaRepairDeletesAnOldOrphanGroupOnce(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	complete, err := w.services[0].CreateArea(w.ctx, w.createArea("Room 1"))
	require.NoError(t, err)
	orphan := w.crashedCreateArea(t, "req-old", "Room 2")

	assert.Zero(t, w.repairRacing(t), "an orphan younger than the grace may still get its area")
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(orphan)))

	w.advance(commands.OrphanAreaGroupGrace + time.Minute)
	young := w.crashedCreateArea(t, "req-young", "Room 3")

	assert.GreaterOrEqual(t, w.repairRacing(t), 1)
	env, deleted := w.repairedDeletion(t, orphan)
	assert.Equal(t, group.SourceArea, deleted.GroupSource)
	assert.Contains(t, env.Metadata.CausationID, "area-repair/orphan-group/"+orphan.String())

	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(complete.AreaUserGroupID)), "a complete area is never touched")
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(young)), "a young orphan is not touched")

	assert.Zero(t, w.repairRacing(t), "a repeated repair finds nothing")
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(orphan)))

	w.advance(commands.OrphanAreaGroupGrace)
	assert.GreaterOrEqual(t, w.repairRacing(t), 1, "the young orphan, once old, goes too")
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(young)))
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(complete.AreaUserGroupID)))
}

func TestCreateAreaRetriedAfterACrashCompletesTheArea(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	orphan := w.crashedCreateArea(t, "req-1", "Room 1")

	// The ids are derived from the key: the retry finds the group it made
	// and appends the area that names it.
	w.advance(time.Minute)
	done, err := w.services[1].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	require.NoError(t, err)
	assert.Equal(t, orphan, done.AreaUserGroupID)
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(orphan)))
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, area.Category+"-"+done.AreaID.String()))

	again, err := w.services[0].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	require.NoError(t, err)
	assert.Equal(t, done.AreaID, again.AreaID)
	assert.True(t, again.Replayed)

	w.advance(commands.OrphanAreaGroupGrace)
	assert.Zero(t, w.repairRacing(t), "the completed area's group is not an orphan")
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(orphan)))
}

func TestCreateAreaRetriedAfterTheRepairIsRefused(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	orphan := w.crashedCreateArea(t, "req-1", "Room 1")
	w.advance(commands.OrphanAreaGroupGrace + time.Second)
	require.GreaterOrEqual(t, w.repairRacing(t), 1)

	_, err := w.services[0].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	require.ErrorIs(t, err, commands.ErrAreaCreationAbandoned)
	assert.ErrorIs(t, err, domain.ErrConflict)
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(orphan)), "no area for a deleted group")

	// A new key is a new area.
	fresh, err := w.services[0].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-2"), w.createArea("Room 1"))
	require.NoError(t, err)
	assert.NotEqual(t, orphan, fresh.AreaUserGroupID)
}

func TestAreaRepairRun(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	orphan := w.crashedCreateArea(t, "req-1", "Room 1")
	w.advance(commands.OrphanAreaGroupGrace + time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.repairs[0].Run(ctx, time.Hour, func() bool { return true }); close(stopped) }()
	require.Eventually(t, func() bool {
		recs, err := w.store.ReadStream(context.Background(), groupStream(orphan), eventstore.ReadStreamOptions{Max: 100})
		return err == nil && len(recs) == 2
	}, 5*time.Second, 10*time.Millisecond, "the first pass repairs at start")
	cancel()
	<-stopped
}

// The race the abandonment closes, abandonment first: a retry has found
// its group still there and decided its area when the repair (on the
// other server) abandons the area and deletes the group. The retry's
// append then meets the abandonment and is refused; no area is made
// without its group.
func TestLateRetryLosesToTheRepairsAbandonment(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	orphan := w.crashedCreateArea(t, "req-1", "Room 1")
	areaID := w.areaOf(t, orphan)
	w.advance(commands.OrphanAreaGroupGrace + time.Second)

	var repaired int
	var repairErr error
	w.store.beforeNextAreaAppend(func() { repaired, repairErr = w.repairs[1].Repair(context.Background()) })
	_, err := w.services[0].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	require.NoError(t, repairErr)
	require.Equal(t, 1, repaired, "the repair ran between the retry's decision and its append")
	require.ErrorIs(t, err, commands.ErrAreaCreationAbandoned)
	assert.ErrorIs(t, err, domain.ErrConflict)

	evs := w.areaEvents(t, areaID)
	require.Len(t, evs, 1, "the abandonment, no area")
	abandoned, ok := evs[0].Event.(area.AreaCreationAbandoned)
	require.True(t, ok, "got %T", evs[0].Event)
	assert.Equal(t, area.AreaCreationAbandoned{AreaID: areaID, AccountID: abandoned.AccountID, PropertyID: w.prop, AreaUserGroupID: orphan}, abandoned)
	assert.NotEqual(t, uuid.Nil, abandoned.AccountID)
	assert.Empty(t, evs[0].Metadata.APIKeyID, "the system's repair, not a caller's key")
	assert.Equal(t, "area-repair-"+orphan.String(), evs[0].Metadata.CorrelationID)
	assert.Contains(t, evs[0].Metadata.CausationID, "area-repair/abandon/"+areaID.String())
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(orphan)), "the group deleted")

	_, err = w.services[1].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	require.ErrorIs(t, err, commands.ErrAreaCreationAbandoned, "and refused again")
	assert.Len(t, w.areaEvents(t, areaID), 1)
	assert.Zero(t, w.repairRacing(t), "nothing left to repair")
}

// The same race, the retry's area first: the repair has found no area
// and is about to abandon it when the retry (on the other server)
// appends it. The abandonment is refused, and the repair leaves the
// group, now the area's, alone.
func TestLateRetryBeatsTheRepair(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	orphan := w.crashedCreateArea(t, "req-1", "Room 1")
	areaID := w.areaOf(t, orphan)
	w.advance(commands.OrphanAreaGroupGrace + time.Second)

	var done commands.NewArea
	var retryErr error
	w.store.beforeNextAreaAppend(func() {
		done, retryErr = w.services[1].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	})
	var logs bytes.Buffer
	repair, err := commands.NewAreaRepair(w.services[0], everyAreaGroup{w.store}, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	n, err := repair.Repair(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing deleted")
	require.NoError(t, retryErr, "the retry ran between the repair's check and its abandonment")
	assert.Equal(t, areaID, done.AreaID)
	assert.Equal(t, orphan, done.AreaUserGroupID)

	evs := w.areaEvents(t, areaID)
	require.Len(t, evs, 1, "the area, not abandoned")
	created, ok := evs[0].Event.(area.AreaCreated)
	require.True(t, ok, "got %T", evs[0].Event)
	assert.Equal(t, orphan, created.AreaUserGroupID)
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(orphan)), "the group kept")
	assert.Contains(t, logs.String(), "level=INFO")
	assert.Contains(t, logs.String(), "created the area first")
	assert.NotContains(t, logs.String(), "level=ERROR")

	w.advance(commands.OrphanAreaGroupGrace)
	assert.Zero(t, w.repairRacing(t), "a complete area is never touched")
	assert.Len(t, w.areaEvents(t, areaID), 1)
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(orphan)))
}

// A repair killed between the abandonment and the group's deletion
// finishes on its next pass: the group is still listed, its area is
// abandoned, the abandonment is not appended again; a retry of the
// creation afterwards is refused and deletes nothing more.
func TestAreaRepairCutShortAfterTheAbandonmentFinishes(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	orphan := w.crashedCreateArea(t, "req-1", "Room 1")
	areaID := w.areaOf(t, orphan)
	w.advance(commands.OrphanAreaGroupGrace + time.Second)

	w.store.crashingGroups.Store(true)
	_, err := w.repairs[0].Repair(context.Background())
	w.store.crashingGroups.Store(false)
	require.Error(t, err)
	require.Len(t, w.areaEvents(t, areaID), 1, "abandoned")
	require.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(orphan)), "the group not deleted yet")

	assert.GreaterOrEqual(t, w.repairRacing(t), 1)
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(orphan)), "deleted")

	_, err = w.services[0].CreateArea(commands.WithIdempotencyKey(w.ctx, "req-1"), w.createArea("Room 1"))
	require.ErrorIs(t, err, commands.ErrAreaCreationAbandoned, "a retry is refused")
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(orphan)), "deleted once")
	assert.Len(t, w.areaEvents(t, areaID), 1, "abandoned once")
}

// A DeleteArea killed between its two appends leaves the deleted area's
// own group live: the repair deletes it at once (no grace), once whichever
// server wins, and a retry of the DeleteArea afterwards still succeeds.
func TestAreaRepairDeletesTheGroupADeleteAreaLeft(t *testing.T) {
	t.Parallel()
	w := newRepairWorld(t)
	kept, err := w.services[0].CreateArea(w.ctx, w.createArea("Room 1"))
	require.NoError(t, err)
	gone, err := w.services[0].CreateArea(w.ctx, w.createArea("Room 2"))
	require.NoError(t, err)

	w.store.crashingGroups.Store(true)
	_, err = w.services[0].DeleteArea(commands.WithIdempotencyKey(w.ctx, "del-1"), w.prop, gone.AreaID)
	w.store.crashingGroups.Store(false)
	require.Error(t, err)
	require.Equal(t, 2, streamLengthOrZero(t, w.store, areaStream(gone.AreaID)), "the area was deleted")
	require.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(gone.AreaUserGroupID)), "its group was not")

	assert.GreaterOrEqual(t, w.repairRacing(t), 1)
	_, deleted := w.repairedDeletion(t, gone.AreaUserGroupID)
	assert.Equal(t, gone.AreaID, deleted.AreaID)
	assert.Equal(t, 1, streamLengthOrZero(t, w.store, groupStream(kept.AreaUserGroupID)), "a live area's group is never touched")

	assert.Zero(t, w.repairRacing(t), "a repeated repair finds nothing")
	_, err = w.services[1].DeleteArea(commands.WithIdempotencyKey(w.ctx, "del-1"), w.prop, gone.AreaID)
	require.NoError(t, err, "the retry finds its area deleted and the group gone")
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, areaStream(gone.AreaID)))
	assert.Equal(t, 2, streamLengthOrZero(t, w.store, groupStream(gone.AreaUserGroupID)))
}
