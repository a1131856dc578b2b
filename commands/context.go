package commands

import (
	"context"

	"github.com/accessd/accessd/domain"
)

type idempotencyKey struct{}
type correlationKey struct{}

// WithIdempotencyKey marks the command in ctx as a retry-safe request: the
// ids of the events it appends are derived from key, so a repeat appends
// nothing and returns the first result.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// idempotencyKeyFrom returns the request's key, scoped to the actor's
// account so two tenants choosing the same key never collide.
func idempotencyKeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(idempotencyKey{}).(string)
	if k == "" {
		return ""
	}
	if a, ok := domain.ActorFrom(ctx); ok {
		return a.AccountID.String() + "/" + k
	}
	return k
}

// WithCorrelationID sets the correlation id (usually the request id) that
// every event appended under ctx carries.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

func correlationIDFrom(ctx context.Context) string {
	c, _ := ctx.Value(correlationKey{}).(string)
	return c
}
