package entities

import (
	"context"
	"slices"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Area is the output of GET /properties/{propertyId}/areas/{areaId}. The
// row's PropertyID is the area's property and its ParentID the parent
// area, so lists filter on both.
//
// ContainingAreaIDs, SubAreaIDs and LockIDs follow from other entities'
// events (a child created, a lock installed): keeping them does not touch
// lastModifiedAt, which says when the area itself last changed.
type Area struct {
	AreaID       string `json:"areaId"`
	PropertyID   string `json:"propertyId"`
	DisplayName  string `json:"displayName"`
	AreaType     string `json:"areaType"`
	ParentAreaID string `json:"parentAreaId,omitempty"`
	// ContainingAreaIDs are every ancestor, the nearest first.
	ContainingAreaIDs []string `json:"containingAreaIds"`
	// SubAreaIDs are the areas directly under this one.
	SubAreaIDs        []string           `json:"subAreaIds"`
	LockIDs           []string           `json:"lockIds"`
	AreaUserGroupID   string             `json:"areaUserGroupId"`
	AccessList        []area.AccessEntry `json:"accessList"`
	AccessListVersion int                `json:"accessListVersion"`
	Base
}

func areaHandlers() map[string]Handler {
	return map[string]Handler{
		area.AreaCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(area.AreaCreated)
			id := e.AreaID.String()
			if _, _, found, err := Load[Area](ctx, tx, KindArea, id); err != nil || found {
				return err // delivered again: the document has moved on since
			}
			doc := Area{
				AreaID: id, PropertyID: e.PropertyID.String(), DisplayName: e.DisplayName, AreaType: string(e.AreaType),
				ContainingAreaIDs: []string{}, SubAreaIDs: []string{}, LockIDs: []string{},
				AreaUserGroupID: e.AreaUserGroupID.String(), AccessList: []area.AccessEntry{}, Base: NewBase(KindArea, env),
			}
			if e.ParentAreaID.String() != zeroID {
				doc.ParentAreaID = e.ParentAreaID.String()
				containing, err := attachArea(ctx, tx, doc.ParentAreaID, id)
				if err != nil {
					return err
				}
				doc.ContainingAreaIDs = containing
			}
			return Save(ctx, tx, Row{
				Kind: KindArea, ID: id, AccountID: e.AccountID.String(), PropertyID: doc.PropertyID,
				ParentID: doc.ParentAreaID, Position: env.Position, State: StateActive,
			}, doc)
		},
		area.AreaUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(area.AreaUpdated)
			return Update(ctx, tx, KindArea, e.AreaID.String(), env, func(d *Area, _ *Row) error {
				d.DisplayName, d.AreaType = e.DisplayName, string(e.AreaType)
				return nil
			})
		},
		area.AreaMoved{}.EventType():             areaMoved,
		area.AreaAccessListChanged{}.EventType(): areaAccessListChanged,
		area.AreaDeleted{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(area.AreaDeleted)
			id := e.AreaID.String()
			doc, _, found, err := Load[Area](ctx, tx, KindArea, id)
			if err != nil || !found {
				return err
			}
			if doc.ParentAreaID != "" {
				if err := detachArea(ctx, tx, doc.ParentAreaID, id); err != nil {
					return err
				}
			}
			return Update(ctx, tx, KindArea, id, env, func(d *Area, r *Row) error {
				d.TypeState, r.State = StateDeleted, StateDeleted
				return nil
			})
		},
		// The lock's own document is lock.go's; these keep the area's
		// lockIds, chained after it (see New).
		lock.LockInstalled{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockInstalled)
			return editArea(ctx, tx, e.AreaID.String(), func(d *Area) {
				d.LockIDs = areaListAdd(d.LockIDs, e.LockID.String())
			})
		},
		lock.LockUninstalled{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockUninstalled)
			if e.AreaID.String() == zeroID {
				return nil
			}
			return editArea(ctx, tx, e.AreaID.String(), func(d *Area) {
				d.LockIDs = areaListRemove(d.LockIDs, e.LockID.String())
			})
		},
		// LockDeprovisioned needs nothing here: only a lock in no area may
		// be deprovisioned.
	}
}

func areaAccessListChanged(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	e := env.Event.(area.AreaAccessListChanged)
	return Update(ctx, tx, KindArea, e.AreaID.String(), env, func(d *Area, _ *Row) error {
		d.AccessList, d.AccessListVersion = e.AccessList, e.AccessListVersion
		if d.AccessList == nil {
			d.AccessList = []area.AccessEntry{}
		}
		return nil
	})
}

// areaMoved puts the area under its new parent (or at the top), takes it
// from the old parent's subAreaIds, and recomputes containingAreaIds for
// the area and every area below it.
func areaMoved(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	e := env.Event.(area.AreaMoved)
	id := e.AreaID.String()
	doc, _, found, err := Load[Area](ctx, tx, KindArea, id)
	if err != nil || !found {
		return err
	}
	if doc.ParentAreaID != "" {
		if err := detachArea(ctx, tx, doc.ParentAreaID, id); err != nil {
			return err
		}
	}
	parent, containing := "", []string{}
	if e.ParentAreaID.String() != zeroID {
		parent = e.ParentAreaID.String()
		if containing, err = attachArea(ctx, tx, parent, id); err != nil {
			return err
		}
	}
	if err := Update(ctx, tx, KindArea, id, env, func(d *Area, r *Row) error {
		d.ParentAreaID, d.ContainingAreaIDs, r.ParentID = parent, containing, parent
		return nil
	}); err != nil {
		return err
	}
	return recontainAreas(ctx, tx, id, containing)
}

// recontainAreas sets containingAreaIds of every area below id, whose own
// ancestors are now containing, breadth first. Each area is visited once,
// so even a corrupt tree (a cycle) cannot loop.
func recontainAreas(ctx context.Context, tx projections.Tx, id string, containing []string) error {
	type level struct {
		id         string
		containing []string
	}
	seen := map[string]bool{id: true}
	queue := []level{{id, containing}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		doc, _, found, err := Load[Area](ctx, tx, KindArea, cur.id)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		below := append([]string{cur.id}, cur.containing...)
		for _, child := range doc.SubAreaIDs {
			if seen[child] {
				continue
			}
			seen[child] = true
			if err := editArea(ctx, tx, child, func(d *Area) { d.ContainingAreaIDs = below }); err != nil {
				return err
			}
			queue = append(queue, level{child, below})
		}
	}
	return nil
}

// attachArea adds child to parent's subAreaIds and returns the child's
// containingAreaIds: the parent, then the parent's own ancestors.
func attachArea(ctx context.Context, tx projections.Tx, parent, child string) ([]string, error) {
	containing := []string{parent}
	doc, row, found, err := Load[Area](ctx, tx, KindArea, parent)
	if err != nil || !found {
		return containing, err
	}
	containing = append(containing, doc.ContainingAreaIDs...)
	doc.SubAreaIDs = areaListAdd(doc.SubAreaIDs, child)
	return containing, Save(ctx, tx, row, doc)
}

// detachArea takes child from parent's subAreaIds.
func detachArea(ctx context.Context, tx projections.Tx, parent, child string) error {
	return editArea(ctx, tx, parent, func(d *Area) { d.SubAreaIDs = areaListRemove(d.SubAreaIDs, child) })
}

// editArea changes an area's derived lists without touching it; a missing
// area is left alone.
func editArea(ctx context.Context, tx projections.Tx, id string, change func(*Area)) error {
	doc, row, found, err := Load[Area](ctx, tx, KindArea, id)
	if err != nil || !found {
		return err
	}
	change(&doc)
	return Save(ctx, tx, row, doc)
}

// areaListAdd adds id to a set kept as a list (a re-delivered event adds nothing).
func areaListAdd(ids []string, id string) []string {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// areaListRemove takes id out of a set kept as a list; never nil.
func areaListRemove(ids []string, id string) []string {
	out := make([]string, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
