package commands

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

type keyTestEvent struct{}

func (keyTestEvent) EventType() string { return "Ticked" }

var keyTestAgg = Aggregate[int]{Category: "keyTestDecide", Evolve: func(n int, _ domain.Event) int { return n + 1 }}

func keyTestDecide(Loaded[int], time.Time) ([]domain.Event, error) {
	return []domain.Event{keyTestEvent{}}, nil
}

// An internal key derives other ids than the same text sent by a client,
// and no text a client may send (printable ASCII) reaches them.
func TestInternalKeysAreNotClientKeys(t *testing.T) {
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: uuid.New()})
	client := idempotencyKeyFrom(WithIdempotencyKey(ctx, "booking-scheduler/noCheckIn/x"))
	internal := idempotencyKeyFrom(withInternalKey(ctx, "booking-scheduler/noCheckIn/x"))
	assert.NotEqual(t, client, internal)
	assert.Equal(t, client, legacyKeyFrom(withInternalKey(ctx, "booking-scheduler/noCheckIn/x")))
	assert.Contains(t, internal, "\x1f", "a byte the Idempotency-Key header refuses")
	assert.Empty(t, fingerprintFrom(WithRequestFingerprint(withInternalKey(ctx, "k"), "fp")), "internal steps carry no client fingerprint")
}

// A log written before internal keys holds server-side steps under ids
// derived from the bare key text: the step reads as done. The same ids
// written by a client (an API key in the metadata) do not.
func TestLegacyInternalIDsCountOnlyWhenTheServerWroteThem(t *testing.T) {
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	reg := eventstore.NewRegistry()
	reg.Register(keyTestEvent{})
	reg.Register(IdempotencyKeyClaimed{})
	p, err := NewPipeline(store, reg, time.Now)
	require.NoError(t, err)
	account := uuid.New()
	server := domain.WithActor(context.Background(), domain.Actor{AccountID: account})
	client := domain.WithActor(context.Background(), domain.Actor{AccountID: account, APIKeyID: uuid.New()})

	done := uuid.New()
	_, err = Execute(WithIdempotencyKey(server, "booking-scheduler/completed/a"), p, keyTestAgg, done, "Complete", keyTestDecide) // an old build's step
	require.NoError(t, err)
	res, err := Execute(withInternalKey(server, "booking-scheduler/completed/a"), p, keyTestAgg, done, "Complete", keyTestDecide)
	require.NoError(t, err)
	assert.True(t, res.Replayed, "the old step is not run again")

	forged := uuid.New()
	_, err = Execute(WithIdempotencyKey(client, "booking-scheduler/completed/b"), p, keyTestAgg, forged, "Complete", keyTestDecide)
	require.NoError(t, err)
	res, err = Execute(withInternalKey(server, "booking-scheduler/completed/b"), p, keyTestAgg, forged, "Complete", keyTestDecide)
	require.NoError(t, err)
	assert.False(t, res.Replayed, "a client's events under the old ids do not stop the step")
	l, err := Load(context.Background(), p, keyTestAgg, forged)
	require.NoError(t, err)
	assert.Equal(t, 2, l.State)
}
