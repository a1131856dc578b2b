package commands

import (
	"context"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	// ErrNoActor is returned by every command run without an actor.
	ErrNoActor = domain.NewError(domain.ErrUnauthenticated, "no credentials")
	// ErrPermission is returned when the actor lacks the permission.
	ErrPermission = domain.NewError(domain.ErrForbidden, "the API key lacks the permission for this operation")
)

// authorize returns the actor in ctx if it holds one of perms for
// propertyID (uuid.Nil: account-wide). The same check applies whether the
// command came over HTTP, from the CLI or from a message.
func authorize(ctx context.Context, propertyID uuid.UUID, perms ...domain.Permission) (domain.Actor, error) {
	a, ok := domain.ActorFrom(ctx)
	if !ok || a.AccountID == uuid.Nil {
		return a, ErrNoActor
	}
	if !a.CanAny(propertyID, perms...) {
		return a, ErrPermission
	}
	return a, nil
}
