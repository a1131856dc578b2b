package commands

import (
	"context"
	"sync/atomic"

	"github.com/accessd/accessd/domain"
)

type idempotencyKey struct{}
type correlationKey struct{}

// keyed is what a retry-safe command carries: its key, whether the server
// itself chose the key (internal), and the fingerprint of the client's
// request that came with it.
type keyed struct {
	key         string
	internal    bool
	fingerprint string
	// reused is set once a command of the request found the key used by
	// another request: every keyed command after it in the same request
	// refuses too, so a composed command's undo step (CreateBooking
	// releasing the slots it failed to hold) cannot act on what the
	// other request made under the same derived ids.
	reused *atomic.Bool
	// claimed is set once the request holds the key (claimKey).
	claimed *atomic.Bool
}

// WithIdempotencyKey marks the command in ctx as a retry-safe request: the
// ids of the events it appends are derived from key, so a repeat appends
// nothing and returns the first result. The key is a client's (the
// Idempotency-Key header); an empty key clears it. A fingerprint set
// before is dropped: it described another request.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, keyed{key: key})
}

// withInternalKey is WithIdempotencyKey for a key the server chooses (the
// booking scheduler's, the repairs'). Such keys live in a key space of
// their own, which no client key reaches (see internalKeyPrefix).
func withInternalKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, keyed{key: key, internal: true})
}

// WithRequestFingerprint records, with the Idempotency-Key already in ctx,
// the fingerprint of the request that carries it (method, path, canonical
// body: see the HTTP layer). The events a keyed command appends keep it in
// their metadata; a later command with the same key but another
// fingerprint is refused with ErrIdempotencyKeyReused instead of answered
// with the first request's result. Without a key in ctx it does nothing.
func WithRequestFingerprint(ctx context.Context, fingerprint string) context.Context {
	k, _ := ctx.Value(idempotencyKey{}).(keyed)
	if k.key == "" || k.internal {
		return ctx
	}
	k.fingerprint, k.reused, k.claimed = fingerprint, new(atomic.Bool), new(atomic.Bool)
	return context.WithValue(ctx, idempotencyKey{}, k)
}

// internalKeyPrefix starts every key the server chooses. It holds a byte
// (0x1f, unit separator) that the HTTP layer refuses in an Idempotency-Key
// header (1 to 255 printable ASCII characters), so no client key, however
// spelled, derives the ids of a server-side step: a client sending
// "booking-scheduler/noCheckIn/<id>" gets ids of its own and can neither
// pre-empt nor suppress the scheduler's step. The events' causation id
// names the step without the byte ("server-step:<account>/<key>").
const internalKeyPrefix = "\x1finternal/"

// idempotencyKeyFrom returns the request's key, scoped to the actor's
// account so two tenants choosing the same key never collide; an internal
// key also gets internalKeyPrefix.
func idempotencyKeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(idempotencyKey{}).(keyed)
	if k.key == "" {
		return ""
	}
	key := k.key
	if a, ok := domain.ActorFrom(ctx); ok {
		key = a.AccountID.String() + "/" + key
	}
	if k.internal {
		key = internalKeyPrefix + key
	}
	return key
}

// legacyKeyFrom returns, for an internal key, the key that builds before
// internalKeyPrefix derived the same step's ids from (the bare text, as a
// client's key is); "" for a client's key. Logs written by those builds
// hold server-side steps under those ids: Execute reads such an event as
// the step already done, but only when no client wrote it (see
// writtenByServer), since a client can produce those ids.
func legacyKeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(idempotencyKey{}).(keyed)
	if k.key == "" || !k.internal {
		return ""
	}
	if a, ok := domain.ActorFrom(ctx); ok {
		return a.AccountID.String() + "/" + k.key
	}
	return k.key
}

// keyReused reports whether a command of the request in ctx already found
// its Idempotency-Key used by another request.
func keyReused(ctx context.Context) bool {
	k, _ := ctx.Value(idempotencyKey{}).(keyed)
	return k.reused != nil && k.reused.Load()
}

// markKeyReused records that the request in ctx reuses another's key.
func markKeyReused(ctx context.Context) {
	if k, _ := ctx.Value(idempotencyKey{}).(keyed); k.reused != nil {
		k.reused.Store(true)
	}
}

// fingerprintFrom returns the fingerprint of the client's request that
// carries the key in ctx, "" when there is none.
func fingerprintFrom(ctx context.Context) string {
	k, _ := ctx.Value(idempotencyKey{}).(keyed)
	return k.fingerprint
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
