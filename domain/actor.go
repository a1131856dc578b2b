package domain

import (
	"context"

	"github.com/google/uuid"
)

// Permission is one of the DoorLock reference's API permissions.
type Permission string

// The permissions an API key or user may hold.
const (
	PermOwner          Permission = "owner"
	PermProvisionLock  Permission = "provision-lock"
	PermInstallLock    Permission = "install-lock"
	PermManageAccess   Permission = "manage-access"
	PermManageFirmware Permission = "manage-firmware"
	PermSupport        Permission = "support"
	PermMe             Permission = "me"
)

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool {
	switch p {
	case PermOwner, PermProvisionLock, PermInstallLock, PermManageAccess, PermManageFirmware, PermSupport, PermMe:
		return true
	}
	return false
}

// Grant is a permission, optionally scoped to one property (and, for `me`,
// to one user). A nil PropertyID means the whole account.
type Grant struct {
	Permission Permission
	PropertyID uuid.UUID
	UserID     uuid.UUID
}

// Actor is who issues a command or a query: an API key of an account, and
// what it may do. A lock's own key has LockID set and no grants.
type Actor struct {
	AccountID uuid.UUID
	APIKeyID  uuid.UUID
	UserID    uuid.UUID
	LockID    uuid.UUID
	Grants    []Grant
}

// Can reports whether the actor holds p for propertyID (uuid.Nil asks for
// an account-wide grant). `owner` implies every permission.
func (a Actor) Can(p Permission, propertyID uuid.UUID) bool {
	for _, g := range a.Grants {
		if g.Permission != p && g.Permission != PermOwner {
			continue
		}
		if g.PropertyID == uuid.Nil || g.PropertyID == propertyID {
			return true
		}
	}
	return false
}

// CanAny reports whether the actor holds any of ps for propertyID.
func (a Actor) CanAny(propertyID uuid.UUID, ps ...Permission) bool {
	for _, p := range ps {
		if a.Can(p, propertyID) {
			return true
		}
	}
	return false
}

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}
