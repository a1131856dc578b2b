package entities

import (
	"context"
	"slices"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// User is the output of GET /users/{userId}, but for `private`: the stored
// document keeps the personal data only as sealed with the user's key
// (SealedPrivate), never in the clear; the API opens it at read time for
// the callers allowed to see it. DeviceIDs are the user's active devices.
type User struct {
	UserID          string               `json:"userId"`
	DisplayName     string               `json:"displayName"`
	UserPermissions []apikey.Permission  `json:"userPermissions"`
	DeviceIDs       []string             `json:"deviceIds"`
	ExternalRefs    []domain.ExternalRef `json:"externalRefs"`
	SealedPrivate   string               `json:"sealedPrivate,omitempty"`
	Base
}

// Public implements Privater: the document without its sealed personal
// data.
func (u User) Public() any {
	u.SealedPrivate = ""
	return u
}

func userHandlers() map[string]Handler {
	return map[string]Handler{
		user.UserCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(user.UserCreated)
			if _, _, found, err := Load[User](ctx, tx, KindUser, e.UserID.String()); err != nil || found {
				return err // a re-delivered creation must not undo later changes
			}
			doc := User{UserID: e.UserID.String(), DeviceIDs: []string{}, Base: NewBase(KindUser, env)}
			doc.set(e.DisplayName, e.UserPermissions, e.ExternalRefs, e.SealedPrivate)
			return Save(ctx, tx, Row{
				Kind: KindUser, ID: doc.UserID, AccountID: e.AccountID.String(), Position: env.Position, State: StateActive,
			}, doc)
		},
		user.UserUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(user.UserUpdated)
			return Update(ctx, tx, KindUser, e.UserID.String(), env, func(d *User, _ *Row) error {
				d.set(e.DisplayName, e.UserPermissions, e.ExternalRefs, e.SealedPrivate)
				return nil
			})
		},
		user.UserDeleted{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(user.UserDeleted)
			return Update(ctx, tx, KindUser, e.UserID.String(), env, func(d *User, r *Row) error {
				d.TypeState, r.State, d.SealedPrivate = StateDeleted, StateDeleted, ""
				return nil
			})
		},
	}
}

// set replaces the user's writable fields; lists are never null.
func (u *User) set(name string, perms []apikey.Permission, refs []domain.ExternalRef, sealed string) {
	u.DisplayName, u.SealedPrivate = name, sealed
	u.UserPermissions = perms
	if u.UserPermissions == nil {
		u.UserPermissions = []apikey.Permission{}
	}
	u.ExternalRefs = refs
	if u.ExternalRefs == nil {
		u.ExternalRefs = []domain.ExternalRef{}
	}
}

// addDevice lists a device on its user, once.
func (u *User) addDevice(id string) {
	if !slices.Contains(u.DeviceIDs, id) {
		u.DeviceIDs = append(u.DeviceIDs, id)
	}
}

// removeDevice takes a device off its user's list.
func (u *User) removeDevice(id string) {
	u.DeviceIDs = slices.DeleteFunc(u.DeviceIDs, func(d string) bool { return d == id })
	if u.DeviceIDs == nil {
		u.DeviceIDs = []string{}
	}
}
