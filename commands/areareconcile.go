package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
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
// area-source groups whose area the read model does not show: the
// entities read model, so a run reads the groups that may be orphans,
// not the log.
type AreaGroupsWithoutArea interface {
	AreaGroupsWithoutArea(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error)
}

// AreaRepair deletes the orphans a crash in CreateArea leaves: an area's
// own group appended without its area.
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

// Repair deletes every area-source group whose area stream does not exist
// and that is older than OrphanAreaGroupGrace. The list comes from the
// read model, the decision from the log; each deletion runs under an
// idempotency key derived from the group, so its event id is
// deterministic and two repairs racing append it once. It returns how
// many groups it deleted (two racing repairs may both count one).
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

// repair deletes one group if it is an orphan old enough.
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
	if a, err := Load(ctx, r.s.p, areaAgg, areaID); err != nil || a.Exists {
		return false, err // the area came (the read model had not seen it yet)
	}
	created, err := r.createdAt(ctx, groupAgg.Stream(groupID))
	if err != nil {
		return false, err
	}
	if r.s.p.Now().Sub(created) < OrphanAreaGroupGrace {
		return false, nil // its CreateArea may still be between its appends
	}
	// The system's repair, not a caller: the account's owner for the
	// property, no API key or user; the correlation id and the key (the
	// event's causation) name the repair.
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: st.AccountID(),
		Grants: []domain.Grant{{Permission: domain.PermOwner, PropertyID: st.PropertyID()}}})
	ctx = WithCorrelationID(ctx, "area-repair-"+groupID.String())
	ctx = WithIdempotencyKey(ctx, "area-repair/orphan-group/"+groupID.String())
	res, err := Execute(ctx, r.s.p, groupAgg, groupID, "RepairOrphanAreaGroup", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() {
			return nil, nil // deleted meanwhile
		}
		return group.Delete{AreaNeverCreated: true}.Decide(l.State, now)
	})
	if err != nil || res.Replayed || len(res.Events) == 0 {
		return false, err
	}
	r.log.Info("area repair: deleted the group of an area never created",
		"userGroupId", groupID, "areaId", areaID, "accountId", st.AccountID(), "propertyId", st.PropertyID(),
		"groupCreatedAt", created)
	// A CreateArea retried with its Idempotency-Key checks the group
	// before appending the area; one that checked just before this
	// deletion could still append it. Cross-stream, this cannot be
	// fenced here, only seen.
	if a, err := Load(ctx, r.s.p, areaAgg, areaID); err == nil && a.Exists {
		r.log.Error("area repair: an area was created while its orphan group was deleted",
			"userGroupId", groupID, "areaId", areaID)
	}
	return true, nil
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
