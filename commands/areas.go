package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
)

// maxAreaDepth bounds the walk up an area's parents: deeper trees are not
// refused, their deepest ancestors are just not looked at.
const maxAreaDepth = 1000

// CreateArea adds an area to a property, at the top (ParentAreaID nil) or
// under another area of the same property.
type CreateArea struct {
	PropertyID   uuid.UUID
	DisplayName  string
	AreaType     area.Type
	ParentAreaID uuid.UUID
}

// NewArea is a created area and its own user group.
type NewArea struct {
	AreaID          uuid.UUID
	AreaUserGroupID uuid.UUID
	Result
}

// CreateArea needs `manage-access` (or `owner`) for the property, which
// must be in the actor's account. It makes the area's own group (source
// "area") first, then the area; both ids come from newID, so a request
// retried with its Idempotency-Key appends neither twice, and a retry
// after a crash between the two appends completes the area. The area is
// decided before the group is made, so a refused area leaves no group.
// A crash between the appends with no retry leaves an orphan group, which
// AreaRepair deletes after OrphanAreaGroupGrace, having first abandoned
// the area in its stream; a retry after that abandonment is refused
// (ErrAreaCreationAbandoned), by the area's own decision.
func (s *Service) CreateArea(ctx context.Context, c CreateArea) (NewArea, error) {
	actor, _, err := s.loadProperty(ctx, c.PropertyID, domain.PermManageAccess)
	if err != nil {
		return NewArea{}, err
	}
	// Both ids are checked before the group is made (see newRootID).
	groupID, err := s.newRootID(ctx, "area-group", group.Category)
	if err != nil {
		return NewArea{}, err
	}
	areaID, err := s.newRootID(ctx, "area", area.Category)
	if err != nil {
		return NewArea{}, err
	}
	cmd := area.Create{
		AreaID: areaID, AccountID: actor.AccountID, PropertyID: c.PropertyID,
		DisplayName: c.DisplayName, AreaType: c.AreaType, ParentAreaID: c.ParentAreaID, AreaUserGroupID: groupID,
	}
	if err := s.decideCreate(ctx, actor, &cmd); err != nil {
		return NewArea{}, err
	}
	gres, err := Run(ctx, s.p, groupAgg, groupID, "CreateArea", group.Create{
		UserGroupID: groupID, AccountID: actor.AccountID, PropertyID: c.PropertyID,
		DisplayName: c.DisplayName, GroupType: group.Type(c.AreaType), GroupSource: group.SourceArea, AreaID: areaID,
	})
	if err != nil {
		return NewArea{}, err
	}
	if gres.Replayed {
		if err := s.checkNotAbandoned(ctx, groupID, areaID); err != nil {
			return NewArea{}, err
		}
	}
	res, err := Run(ctx, s.p, areaAgg, areaID, "CreateArea", cmd)
	if errors.Is(err, area.ErrCreationAbandoned) {
		return NewArea{}, s.abandonedCreation(ctx, actor, c.ParentAreaID, groupID)
	}
	if err != nil {
		return NewArea{}, err
	}
	return NewArea{AreaID: areaID, AreaUserGroupID: groupID, Result: res}, nil
}

// abandonedCreation answers a creation whose area was abandoned before its
// append, and deletes the area's own group it made, which no area will
// ever have (the repair would delete it only after OrphanAreaGroupGrace,
// and until then it would take members). The abandonment came from a
// deletion of the parent (which abandons a marked creation before it
// appends its own AreaDeleted) or from the repair of an interrupted
// creation: to the caller of the first, the parent is gone, as if it had
// gone first, once that deletion lands.
func (s *Service) abandonedCreation(ctx context.Context, actor domain.Actor, parentID, groupID uuid.UUID) error {
	gctx := withInternalKey(ctx, "create-area/abandoned-group/"+groupID.String())
	_, err := Execute(gctx, s.p, groupAgg, groupID, "AbandonedAreaGroup", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() {
			return nil, nil // the repair deleted it
		}
		return group.Delete{AreaNeverCreated: true}.Decide(l.State, now)
	})
	if err != nil {
		return err
	}
	if parentID != uuid.Nil {
		for wait := 0; wait < parentGoneWait; wait++ {
			if p, _, err := s.parentOf(ctx, actor, parentID); err == nil && !p.Found {
				return area.ErrParentNotFound.At("parentAreaId")
			}
			if !sleepCtx(ctx, 10*time.Millisecond) {
				break
			}
		}
	}
	return ErrAreaCreationAbandoned
}

// parentGoneWait bounds, in 10 ms steps, how long an abandoned creation
// waits for the deletion of its parent that abandoned it to land.
const parentGoneWait = 50

// sleepCtx waits d, or less when ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// decideCreate checks a creation, its parent (cmd.ParentAreaID) read from
// the area streams, and marks that parent (area.AreaSubAreaChecked) at
// the revision read, before anything is appended for the new area: a
// deletion of the parent since the read fails the mark (read again: no
// parent), and a deletion after it sees the mark and either finds the new
// area under it or abandons its creation (area.Abandon, at no stream),
// which the creation's own append then finds. Both meet on the streams
// themselves, so this holds across servers sharing the log.
func (s *Service) decideCreate(ctx context.Context, actor domain.Actor, cmd *area.Create) error {
	for attempt := 1; ; attempt++ {
		var chain []Loaded[area.State]
		if cmd.ParentAreaID != uuid.Nil {
			var err error
			if cmd.Parent, chain, err = s.parentOf(ctx, actor, cmd.ParentAreaID); err != nil {
				return err
			}
		}
		if _, err := cmd.Decide(area.State{}, s.p.Now()); err != nil || len(chain) == 0 {
			return err
		}
		parent := chain[0]
		mark := area.AreaSubAreaChecked{AreaID: parent.State.ID(), AccountID: parent.State.AccountID(),
			PropertyID: parent.State.PropertyID(), SubAreaID: cmd.AreaID, AreaUserGroupID: cmd.AreaUserGroupID}
		err := appendMark(ctx, s.p, areaAgg.Stream(parent.State.ID()), parent, mark)
		if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			return err
		}
		// The parent changed since it was read: read it again.
		if attempt >= MaxAttempts {
			return ErrConcurrentChange
		}
		backoff(ctx, attempt)
	}
}

// ErrAreaCreationAbandoned answers a CreateArea retried with its
// Idempotency-Key after the first attempt was cut short between its two
// appends and the repair (AreaRepair) has since abandoned the area and
// deletes its group: completing it would make an area whose own group is
// gone.
var ErrAreaCreationAbandoned = domain.NewError(domain.ErrConflict,
	"this area's creation was interrupted and abandoned; retry with a new Idempotency-Key")

// checkNotAbandoned refuses to complete a retried CreateArea whose group
// was deleted while its area stream is still empty: a repair from before
// AreaCreationAbandoned existed deleted such groups without abandoning
// their area, so only this check stops their retries (the abandonment
// stops the others). An area stream with events (the retry of a complete
// request, or an abandoned area) is left to the area's own decision.
func (s *Service) checkNotAbandoned(ctx context.Context, groupID, areaID uuid.UUID) error {
	g, err := Load(ctx, s.p, groupAgg, groupID)
	if err != nil || g.State.Exists() {
		return err
	}
	a, err := Load(ctx, s.p, areaAgg, areaID)
	if err != nil || a.Exists {
		return err
	}
	return ErrAreaCreationAbandoned
}

// UpdateArea replaces every writable field of an area: name, type, parent
// (uuid.Nil: the top of the property) and the whole access list.
type UpdateArea struct {
	DisplayName  string
	AreaType     area.Type
	ParentAreaID uuid.UUID
	AccessList   []area.AccessEntry
}

// UpdateArea needs `manage-access` (or `owner`) for the property. The
// handler finds the facts the decision needs: the new parent and its
// ancestors, and which groups and areas the access list names exist in
// the area's property. A new name or type is passed on to the area's own
// group.
//
// A move is checked against the new parent's chain of ancestors, read
// from their streams after the area's own: two moves at once (X under Y,
// Y under X) would each see the other at the top and make a cycle. So a
// move marks every area of that chain (AreaTreeChecked) at the revision
// it read before appending its own AreaMoved at the revision it loaded
// first: a move of one of those areas since the read fails the mark, and
// a mark of this area since its load (by the other move, which read it)
// fails the append; either way the move is decided again on fresh reads,
// and one of the two is refused as a cycle. The marks hold whichever
// server appended them, since they meet on the areas' own streams.
func (s *Service) UpdateArea(ctx context.Context, propertyID, areaID uuid.UUID, c UpdateArea) (Result, error) {
	actor, _, err := s.loadProperty(ctx, propertyID, domain.PermManageAccess)
	if err != nil {
		return Result{}, err
	}
	cmd := area.Update{DisplayName: c.DisplayName, AreaType: c.AreaType, ParentAreaID: c.ParentAreaID, AccessList: c.AccessList}
	if cmd.KnownGroupIDs, cmd.KnownAreaIDs, err = s.knownTargets(ctx, actor.AccountID, propertyID, c.AccessList); err != nil {
		return Result{}, err
	}
	var groupID uuid.UUID
	res, err := Execute(ctx, s.p, areaAgg, areaID, "UpdateArea", func(l Loaded[area.State], now time.Time) ([]domain.Event, error) {
		if !inProperty(l.State, actor.AccountID, propertyID) {
			return nil, area.ErrNotFound
		}
		groupID = l.State.AreaUserGroupID()
		for attempt := 1; ; attempt++ {
			var chain []Loaded[area.State]
			if c.ParentAreaID != uuid.Nil {
				var err error
				if cmd.Parent, chain, err = s.parentOf(ctx, actor, c.ParentAreaID); err != nil {
					return nil, err
				}
			}
			events, err := cmd.Decide(l.State, now)
			if err != nil || !moves(events) {
				return events, err
			}
			if err := s.markTree(ctx, areaID, l.Revision, chain); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
				if err != nil {
					return nil, err
				}
				return events, nil
			}
			// An area of the chain changed since it was read: read again.
			if attempt >= MaxAttempts {
				return nil, ErrConcurrentChange
			}
			backoff(ctx, attempt)
		}
	})
	if err != nil || res.Replayed {
		return res, err
	}
	for _, e := range res.Events {
		if u, ok := e.(area.AreaUpdated); ok {
			gres, err := Run(ctx, s.p, groupAgg, groupID, "UpdateArea",
				group.Update{DisplayName: u.DisplayName, GroupType: group.Type(u.AreaType)})
			if err != nil && !errors.Is(err, group.ErrNotFound) {
				return Result{}, err
			}
			res.Position = max(res.Position, gres.Position)
		}
	}
	return res, nil
}

// moves reports whether events move an area.
func moves(events []domain.Event) bool {
	for _, e := range events {
		if _, ok := e.(area.AreaMoved); ok {
			return true
		}
	}
	return false
}

// markTree appends AreaTreeChecked to each area of chain (as parentOf
// read them) at the revision read, for a move of movedID (to append at
// movedRev, which the mark of the new parent carries): an error
// wrapping eventstore.ErrWrongExpectedVersion says one of them changed
// since. The marks have ids of their own, never the Idempotency-Key's: a
// repeated request marks again, which is harmless, and its own events
// are still found by their derived ids.
func (s *Service) markTree(ctx context.Context, movedID uuid.UUID, movedRev uint64, chain []Loaded[area.State]) error {
	for i, l := range chain {
		st := l.State
		mark := area.AreaTreeChecked{AreaID: st.ID(), AccountID: st.AccountID(), PropertyID: st.PropertyID(), MovedAreaID: movedID}
		if i == 0 {
			// The new parent: a deletion of it settles the mark by
			// reading the moved area (settleMoveMark).
			mark.MovedAreaRevision = &movedRev
		}
		if err := appendMark(ctx, s.p, areaAgg.Stream(st.ID()), l, mark); err != nil {
			return err
		}
	}
	return nil
}

// appendMark appends mark, an event that changes nothing, to stream (of
// an existing aggregate, loaded as l) at the revision loaded: an error
// wrapping eventstore.ErrWrongExpectedVersion says it changed since. A
// mark has an id of its own, never the Idempotency-Key's: a repeated
// request marks again, which is harmless.
func appendMark[S any](ctx context.Context, p *Pipeline, stream string, l Loaded[S], mark domain.Event) error {
	if err := p.claimKey(ctx); err != nil {
		return err
	}
	meta := p.metadata(ctx)
	meta.OccurredAt = p.now().UTC()
	data, _, err := p.encode(stream, l.Exists, l.Revision, l.Hash, []domain.Event{mark}, meta, "", "")
	if err != nil {
		return err
	}
	if _, err := p.store.Append(ctx, stream, eventstore.Exact(l.Revision), data...); err != nil {
		return fmt.Errorf("mark %s: %w", stream, err)
	}
	return nil
}

// DeleteArea removes an area in which no lock is installed and under which
// no area is left, then its own user group. Needs `manage-access` (or
// `owner`) for the property. Besides the read model's count, every lock
// an install marked the area for (area.AreaLockChecked) and every area a
// creation marked it for (area.AreaSubAreaChecked) is read from its own
// stream (settleLockMark, settleSubAreaMark); AreaDeleted is appended at
// the revision loaded, so a mark since then makes the deletion decide
// again. A move under the area (area.AreaTreeChecked) is settled alike
// (settleMoveMark).
func (s *Service) DeleteArea(ctx context.Context, propertyID, areaID uuid.UUID) (Result, error) {
	if s.counts == nil {
		return Result{}, errNoCounts
	}
	actor, _, err := s.loadProperty(ctx, propertyID, domain.PermManageAccess)
	if err != nil {
		return Result{}, err
	}
	res, err := Execute(ctx, s.p, areaAgg, areaID, "DeleteArea", func(l Loaded[area.State], now time.Time) ([]domain.Event, error) {
		if !inProperty(l.State, actor.AccountID, propertyID) {
			return nil, area.ErrNotFound
		}
		// A live booking of the area would be left pointing at nothing,
		// and a checked-in guest would lose their access with the group.
		idx, err := Load(ctx, s.p, areaIndexAgg, areaID)
		if err != nil {
			return nil, err
		}
		if idx.State.LiveAt(now) {
			return nil, booking.ErrAreaBooked
		}
		locks, subAreas, err := s.counts.AreaChildren(ctx, actor.AccountID, areaID)
		if err != nil {
			return nil, err
		}
		// Settling a sub-area's mark may abandon its creation for good, so
		// it comes last, and only for a deletion nothing else refuses: a
		// creation under an area that keeps a lock must not fail with it.
		refuse := func() bool { return locks+subAreas > 0 }
		if !refuse() {
			for subID := range l.State.SubAreaMarks() {
				sub, err := Load(ctx, s.p, areaAgg, subID)
				if err != nil {
					return nil, err
				}
				if sub.State.Exists() && sub.State.ParentAreaID() == areaID {
					subAreas++
				}
			}
		}
		for lockID, rev := range l.State.LockMarks() {
			if refuse() {
				break
			}
			installed, err := s.settleLockMark(ctx, areaID, lockID, rev)
			if err != nil {
				return nil, err
			}
			if installed {
				locks++
			}
		}
		for movedID, rev := range l.State.MoveMarks() {
			if refuse() {
				break
			}
			under, err := s.settleMoveMark(ctx, l.State, movedID, rev)
			if err != nil {
				return nil, err
			}
			if under {
				subAreas++
			}
		}
		for subID, groupID := range l.State.SubAreaMarks() {
			if refuse() {
				break
			}
			under, err := s.settleSubAreaMark(ctx, l.State, subID, groupID)
			if err != nil {
				return nil, err
			}
			if under {
				subAreas++
			}
		}
		return area.Delete{Locks: locks, SubAreas: subAreas}.Decide(l.State, now)
	})
	if err != nil {
		return Result{}, err
	}
	// The group id is in the event, whether this request appended it or
	// an Idempotency-Key repeat found it.
	for _, e := range res.Events {
		d, ok := e.(area.AreaDeleted)
		if !ok {
			continue
		}
		gres, err := Run(ctx, s.p, groupAgg, d.AreaUserGroupID, "DeleteArea", group.Delete{WithArea: true})
		if err != nil && !errors.Is(err, group.ErrNotFound) {
			return Result{}, err
		}
		res.Position = max(res.Position, gres.Position)
	}
	return res, nil
}

// settleLockMark decides what a mark of an install of lockID into areaID
// (area.AreaLockChecked, at lock revision rev) means for its deletion,
// from the lock's own stream rather than the read model, which may not
// have caught up: past rev, the install was appended or will never be,
// and the lock is in the area or not (installed). At rev, the install is
// under way or was cut short: the lock is fenced (lock.LockInstallFenced
// at rev), so that install's append fails and it finds the area gone.
func (s *Service) settleLockMark(ctx context.Context, areaID, lockID uuid.UUID, rev uint64) (installed bool, err error) {
	for attempt := 1; ; attempt++ {
		l, err := Load(ctx, s.p, lockAgg, lockID)
		if err != nil {
			return false, err
		}
		if !l.Exists || l.Revision != rev {
			return l.State.AreaID() == areaID, nil
		}
		fence := lock.LockInstallFenced{LockID: lockID, AccountID: l.State.AccountID(), AreaID: areaID}
		err = appendMark(ctx, s.p, lockAgg.Stream(lockID), l, fence)
		if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			return false, err
		}
		// The lock changed since: read it again.
		if attempt >= MaxAttempts {
			return false, ErrConcurrentChange
		}
		backoff(ctx, attempt)
	}
}

// settleSubAreaMark decides what a mark of a creation of area subID
// under parent (area.AreaSubAreaChecked) means for the parent's deletion,
// from subID's own stream rather than the read model: created, it is a
// sub-area if it is still under parent (under); never created (the
// creation under way, or cut short by a crash), its creation is abandoned
// (area.Abandon, as the area repair does), so that creation's own append
// is refused and it finds no parent; abandoned already, it counts for
// nothing.
func (s *Service) settleSubAreaMark(ctx context.Context, parent area.State, subID, groupID uuid.UUID) (under bool, err error) {
	abandon := area.Abandon{AreaID: subID, AccountID: parent.AccountID(), PropertyID: parent.PropertyID(), AreaUserGroupID: groupID}
	_, err = Run(withInternalKey(ctx, "area-delete/abandon/"+subID.String()), s.p, areaAgg, subID, "AbandonAreaCreation", abandon)
	if err != nil && !errors.Is(err, area.ErrExists) {
		return false, err
	}
	sub, err := Load(ctx, s.p, areaAgg, subID)
	if err != nil {
		return false, err
	}
	return sub.State.Exists() && sub.State.ParentAreaID() == parent.ID(), nil
}

// settleMoveMark decides what a mark of a move of area movedID under
// parent (area.AreaTreeChecked, at movedID's revision rev) means for the
// parent's deletion, from movedID's own stream rather than the read
// model: past rev, the move was appended or will never be, and the area
// is under parent or not (under). At rev, the move is under way or was
// cut short: the area is fenced (area.AreaMoveFenced at rev), so that
// move's append fails and it finds the parent gone.
func (s *Service) settleMoveMark(ctx context.Context, parent area.State, movedID uuid.UUID, rev uint64) (under bool, err error) {
	for attempt := 1; ; attempt++ {
		m, err := Load(ctx, s.p, areaAgg, movedID)
		if err != nil {
			return false, err
		}
		if !m.Exists || m.Revision != rev {
			return m.State.Exists() && m.State.ParentAreaID() == parent.ID(), nil
		}
		fence := area.AreaMoveFenced{AreaID: movedID, AccountID: m.State.AccountID(), PropertyID: m.State.PropertyID(),
			ParentAreaID: parent.ID()}
		err = appendMark(ctx, s.p, areaAgg.Stream(movedID), m, fence)
		if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			return false, err
		}
		// The area changed since: read it again.
		if attempt >= MaxAttempts {
			return false, ErrConcurrentChange
		}
		backoff(ctx, attempt)
	}
}

// inProperty reports whether area s exists in the account's property.
func inProperty(s area.State, accountID, propertyID uuid.UUID) bool {
	return s.Exists() && s.AccountID() == accountID && s.PropertyID() == propertyID
}

// parentOf finds what area.Parent says of the area an area is to go under:
// whether it exists in the actor's account, its property, and its
// ancestors, by walking up the area streams. An area in a property the
// actor does not see is, to it, an area that does not exist, as another
// account's is. It also returns the areas it read, as loaded: the parent
// first, then each ancestor (none when the parent is not found).
func (s *Service) parentOf(ctx context.Context, actor domain.Actor, parentID uuid.UUID) (area.Parent, []Loaded[area.State], error) {
	l, err := Load(ctx, s.p, areaAgg, parentID)
	if err != nil {
		return area.Parent{}, nil, err
	}
	if !l.State.Exists() || l.State.AccountID() != actor.AccountID || !SeesProperty(actor, l.State.PropertyID()) {
		return area.Parent{}, nil, nil
	}
	p := area.Parent{Found: true, PropertyID: l.State.PropertyID()}
	chain := []Loaded[area.State]{l}
	seen := map[uuid.UUID]bool{parentID: true}
	for next := l.State.ParentAreaID(); next != uuid.Nil && !seen[next] && len(p.Ancestors) < maxAreaDepth; {
		up, err := Load(ctx, s.p, areaAgg, next)
		if err != nil {
			return area.Parent{}, nil, err
		}
		if !up.State.Exists() {
			break
		}
		p.Ancestors = append(p.Ancestors, next)
		chain = append(chain, up)
		seen[next] = true
		next = up.State.ParentAreaID()
	}
	return p, chain, nil
}

// knownTargets returns which of the groups and areas an access list names
// exist in the account's property. A list too long to be accepted is not
// looked into: the decision refuses it anyway.
func (s *Service) knownTargets(ctx context.Context, accountID, propertyID uuid.UUID, list []area.AccessEntry) (groups, areas []uuid.UUID, err error) {
	if len(list) > area.MaxAccessList {
		return nil, nil, nil
	}
	seen := map[uuid.UUID]bool{}
	for _, e := range list {
		switch {
		case e.UserGroupID != uuid.Nil && !seen[e.UserGroupID]:
			seen[e.UserGroupID] = true
			g, err := Load(ctx, s.p, groupAgg, e.UserGroupID)
			if err != nil {
				return nil, nil, err
			}
			if g.State.Exists() && g.State.AccountID() == accountID && g.State.PropertyID() == propertyID {
				groups = append(groups, e.UserGroupID)
			}
		case e.AreaID != uuid.Nil && !seen[e.AreaID]:
			seen[e.AreaID] = true
			a, err := Load(ctx, s.p, areaAgg, e.AreaID)
			if err != nil {
				return nil, nil, err
			}
			if inProperty(a.State, accountID, propertyID) {
				areas = append(areas, e.AreaID)
			}
		}
	}
	return groups, areas, nil
}
