package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/eventstore"
)

// OrphanAreaGroupGrace is how old an area's own group must be before the
// repair may take its missing area for one that will never come.
// CreateArea appends the group, then the area, one store round trip
// apart; the longest a request may last is the server's 5 min write
// timeout (cmd/accessd serverTimeouts). Go does not cancel a handler at
// that timeout, so the grace is three times it: a CreateArea still
// between its appends after 15 min died there, it is not in flight.
const OrphanAreaGroupGrace = 15 * time.Minute

// AreaGroupsWithoutArea lists, in id order after the given one, the live
// area-source groups whose area the read model does not show live (never
// created, or deleted): the entities read model, so a run reads the
// groups that may be orphans, not the log.
type AreaGroupsWithoutArea interface {
	AreaGroupsWithoutArea(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error)
}

// AreaRepair deletes the orphans a crash leaves between an area command's
// two appends:
//   - CreateArea: an area's own group appended without its area. It first
//     abandons the area in the area's own stream (area.Abandon), then
//     deletes the group, so that a late retry of the CreateArea and the
//     repair cannot both win: whichever of AreaCreated and
//     AreaCreationAbandoned is appended first, the other is refused.
//   - DeleteArea: the area deleted, its own group still live. It deletes
//     the group, as DeleteArea would have (no grace: the area is gone for
//     good, and a DeleteArea still running finds the group deleted, which
//     it accepts).
type AreaRepair struct {
	s          *Service
	candidates AreaGroupsWithoutArea
	log        *slog.Logger
}

// NewAreaRepair returns a repair, refusing nil dependencies.
func NewAreaRepair(s *Service, candidates AreaGroupsWithoutArea, log *slog.Logger) (*AreaRepair, error) {
	if s == nil || candidates == nil || log == nil {
		return nil, errors.New("commands: area repair needs a service, a candidate list and a logger")
	}
	return &AreaRepair{s: s, candidates: candidates, log: log}, nil
}

// areaRepairBatch bounds the groups one page of a repair reads.
const areaRepairBatch = 200

// Repair deletes every area-source group older than OrphanAreaGroupGrace
// whose area was never created, after abandoning that area. The list
// comes from the read model, the decision from the log; the abandonment
// and the deletion each run under an idempotency key derived from the
// area or the group, so their event ids are deterministic and two repairs
// racing append each once. It returns how many groups it deleted (two
// racing repairs may both count one).
func (r *AreaRepair) Repair(ctx context.Context) (int, error) {
	n := 0
	after := uuid.Nil
	for {
		ids, err := r.candidates.AreaGroupsWithoutArea(ctx, after, areaRepairBatch)
		if err != nil {
			return n, fmt.Errorf("area repair candidates: %w", err)
		}
		for _, id := range ids {
			deleted, err := r.repair(ctx, id)
			if err != nil {
				return n, fmt.Errorf("area repair group %s: %w", id, err)
			}
			if deleted {
				n++
			}
			after = id
		}
		if len(ids) < areaRepairBatch {
			return n, nil
		}
	}
}

// repair deletes one group if it is an orphan old enough, once its area
// is abandoned.
func (r *AreaRepair) repair(ctx context.Context, groupID uuid.UUID) (bool, error) {
	g, err := Load(ctx, r.s.p, groupAgg, groupID)
	if err != nil {
		return false, err
	}
	st := g.State
	if !st.Exists() || st.GroupSource() != group.SourceArea || st.AreaID() == uuid.Nil {
		return false, nil // the read model lags: deleted, or not an area's group
	}
	areaID := st.AreaID()
	a, err := Load(ctx, r.s.p, areaAgg, areaID)
	if err != nil {
		return false, err
	}
	if a.State.Deleted() {
		return r.deleteGroupOfDeletedArea(ctx, st, groupID)
	}
	if a.Exists && !a.State.Abandoned() {
		return false, nil // the area came (the read model had not seen it yet)
	}
	// An abandoned area is a repair cut short before its deletion: finish it.
	created, err := r.createdAt(ctx, groupAgg.Stream(groupID))
	if err != nil {
		return false, err
	}
	if r.s.p.Now().Sub(created) < OrphanAreaGroupGrace {
		return false, nil // its CreateArea may still be between its appends
	}
	ctx = repairActor(ctx, st, groupID)
	// A retry of the CreateArea may have checked the group already and be
	// about to append the area. Both append to a stream that does not
	// exist yet, so one wins: if the area did, the group is its own and
	// stays; if the abandonment did, the retry's area.Create is refused.
	abandon := area.Abandon{AreaID: areaID, AccountID: st.AccountID(), PropertyID: st.PropertyID(), AreaUserGroupID: groupID}
	_, err = Run(withInternalKey(ctx, "area-repair/abandon/"+areaID.String()), r.s.p, areaAgg, areaID, "AbandonAreaCreation", abandon)
	if errors.Is(err, area.ErrExists) {
		r.log.Info("area repair: a retried CreateArea created the area first; its group stays",
			"userGroupId", groupID, "areaId", areaID, "accountId", st.AccountID(), "propertyId", st.PropertyID())
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ctx = withInternalKey(ctx, "area-repair/orphan-group/"+groupID.String())
	res, err := Execute(ctx, r.s.p, groupAgg, groupID, "RepairOrphanAreaGroup", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() {
			return nil, nil // deleted meanwhile
		}
		return group.Delete{AreaNeverCreated: true}.Decide(l.State, now)
	})
	if err != nil || res.Replayed || len(res.Events) == 0 {
		return false, err
	}
	r.log.Info("area repair: abandoned an area never created and deleted its group",
		"userGroupId", groupID, "areaId", areaID, "accountId", st.AccountID(), "propertyId", st.PropertyID(),
		"groupCreatedAt", created)
	return true, nil
}

// deleteGroupOfDeletedArea deletes the live own group of a deleted area.
func (r *AreaRepair) deleteGroupOfDeletedArea(ctx context.Context, st group.State, groupID uuid.UUID) (bool, error) {
	ctx = repairActor(ctx, st, groupID)
	ctx = withInternalKey(ctx, "area-repair/deleted-area-group/"+groupID.String())
	res, err := Execute(ctx, r.s.p, groupAgg, groupID, "RepairDeletedAreaGroup", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() {
			return nil, nil // the DeleteArea finished meanwhile
		}
		return group.Delete{WithArea: true}.Decide(l.State, now)
	})
	if err != nil || res.Replayed || len(res.Events) == 0 {
		return false, err
	}
	r.log.Info("area repair: deleted the group a DeleteArea left behind",
		"userGroupId", groupID, "areaId", st.AreaID(), "accountId", st.AccountID(), "propertyId", st.PropertyID())
	return true, nil
}

// repairActor is the system's repair, not a caller: the account's owner
// for the property, no API key or user; the correlation id and the keys
// (the events' causation) name the repair.
func repairActor(ctx context.Context, st group.State, groupID uuid.UUID) context.Context {
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: st.AccountID(),
		Grants: []domain.Grant{{Permission: domain.PermOwner, PropertyID: st.PropertyID()}}})
	return WithCorrelationID(ctx, "area-repair-"+groupID.String())
}

// createdAt is when the stream's first event was appended, by the
// pipeline's clock (the one the grace is measured with).
func (r *AreaRepair) createdAt(ctx context.Context, stream string) (time.Time, error) {
	recs, err := r.s.p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Max: 1})
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", stream, err)
	}
	if len(recs) == 0 {
		return time.Time{}, fmt.Errorf("read %s: %w", stream, eventstore.ErrStreamNotFound)
	}
	env, err := r.s.p.registry.Decode(recs[0])
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", stream, err)
	}
	return env.Metadata.OccurredAt, nil
}

// areaRepairReadyPoll is how often Run looks again whether the read
// models have caught up, before it repairs for the first time.
const areaRepairReadyPoll = 10 * time.Second

// Run repairs once the read models have caught up since start (ready, if
// given; a candidate list read before then would be incomplete) and
// every interval after, until ctx ends, logging failures. The first pass
// right after start repairs what a crash just before it left.
func (r *AreaRepair) Run(ctx context.Context, interval time.Duration, ready func() bool) {
	for {
		wait := min(interval, areaRepairReadyPoll)
		if ready == nil || ready() {
			r.repairAndLog(ctx)
			wait = interval
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (r *AreaRepair) repairAndLog(ctx context.Context) {
	n, err := r.Repair(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		r.log.Error("area repair", "err", err)
	case n > 0:
		r.log.Info("area repair: deleted orphan area groups", "repairs", n)
	}
}
