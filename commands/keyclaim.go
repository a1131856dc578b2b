package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
)

// IdempotencyKeyClaimed is the one event of a client Idempotency-Key's own
// stream: the key belongs to the request whose fingerprint its id derives
// from. It changes no state, so lists and histories leave it out (Guard).
type IdempotencyKeyClaimed struct{}

// EventType names the event in the log.
func (IdempotencyKeyClaimed) EventType() string { return "IdempotencyKeyClaimed" }

// Guard marks the claim as changing no state (eventstore.Guard).
func (IdempotencyKeyClaimed) Guard() {}

// KeyClaimStream is the stream of an account-scoped Idempotency-Key (as
// idempotencyKeyFrom gives it): the key itself stays out of stream names.
func KeyClaimStream(key string) string {
	return "idempotency-" + uuid.NewSHA1(idempotencyNamespace, []byte("key\x00"+key)).String()
}

// claimKey records, before a client's keyed request appends anything,
// that its Idempotency-Key is this request's: the first event of the
// key's stream, with an id derived from the key, the request's sealed
// fingerprint and the API key that sent it (a retry is the same caller's:
// another caller's, even with the same body, is another request, which
// must not be answered what the first caller was allowed to do). A retry (the same fingerprint) appends the same id, which
// the store takes as already done; another request under the key finds
// the stream holding another id and is refused with
// ErrIdempotencyKeyReused before it writes anything, whatever command or
// entity it names. Once per request; requests without a fingerprint (the
// server's own steps, callers outside HTTP) claim nothing.
func (p *Pipeline) claimKey(ctx context.Context) error {
	k, _ := ctx.Value(idempotencyKey{}).(keyed)
	if k.fingerprint == "" || k.claimed == nil {
		return nil
	}
	if k.reused.Load() {
		return ErrIdempotencyKeyReused
	}
	if k.claimed.Load() {
		return nil
	}
	key := idempotencyKeyFrom(ctx)
	sealed := p.sealFingerprint(k.fingerprint)
	stream := KeyClaimStream(key)
	id := uuid.NewSHA1(idempotencyNamespace, []byte("claim\x00"+key+"\x00"+sealed+"\x00"+callerOf(ctx)))
	meta := p.metadata(ctx)
	meta.OccurredAt = p.now().UTC()
	data, _, err := p.registry.EncodeChained(id, IdempotencyKeyClaimed{}, meta, stream, 0, "")
	if err != nil {
		return err
	}
	_, err = p.store.Append(ctx, stream, eventstore.NoStream, data)
	if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		k.reused.Store(true)
		return ErrIdempotencyKeyReused
	}
	if err != nil {
		return fmt.Errorf("claim the Idempotency-Key: %w", err)
	}
	k.claimed.Store(true)
	return nil
}

// callerOf names the API key acting in ctx, "" when none does.
func callerOf(ctx context.Context) string {
	if a, ok := domain.ActorFrom(ctx); ok && a.APIKeyID != uuid.Nil {
		return a.APIKeyID.String()
	}
	return ""
}
