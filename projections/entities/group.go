package entities

import (
	"context"

	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// UserGroup is the output of GET /properties/{propertyId}/groups/{userGroupId}.
// The row's PropertyID is the group's property and its ParentID the area
// whose own group it is (empty for a custom group). Members are kept apart,
// in the memberships read model.
type UserGroup struct {
	UserGroupID string `json:"userGroupId"`
	PropertyID  string `json:"propertyId"`
	DisplayName string `json:"displayName"`
	GroupType   string `json:"groupType"`
	GroupSource string `json:"groupSource"`
	AreaID      string `json:"areaId,omitempty"`
	Base
}

func groupHandlers() map[string]Handler {
	return map[string]Handler{
		group.UserGroupCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(group.UserGroupCreated)
			if _, _, found, err := Load[UserGroup](ctx, tx, KindGroup, e.UserGroupID.String()); err != nil || found {
				return err // a re-delivered creation must not undo later changes
			}
			doc := UserGroup{
				UserGroupID: e.UserGroupID.String(), PropertyID: e.PropertyID.String(), DisplayName: e.DisplayName,
				GroupType: string(e.GroupType), GroupSource: string(e.GroupSource), Base: NewBase(KindGroup, env),
			}
			if e.AreaID.String() != zeroID {
				doc.AreaID = e.AreaID.String()
			}
			return Save(ctx, tx, Row{
				Kind: KindGroup, ID: doc.UserGroupID, AccountID: e.AccountID.String(), PropertyID: doc.PropertyID,
				ParentID: doc.AreaID, Position: env.Position, State: StateActive,
			}, doc)
		},
		group.UserGroupUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(group.UserGroupUpdated)
			return Update(ctx, tx, KindGroup, e.UserGroupID.String(), env, func(d *UserGroup, _ *Row) error {
				d.DisplayName, d.GroupType = e.DisplayName, string(e.GroupType)
				return nil
			})
		},
		group.UserGroupDeleted{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(group.UserGroupDeleted)
			return Update(ctx, tx, KindGroup, e.UserGroupID.String(), env, func(d *UserGroup, r *Row) error {
				d.TypeState, r.State = StateDeleted, StateDeleted
				return nil
			})
		},
	}
}
