package httpapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
)

// recordingWaiter notes the waits it was asked for. Every read model has
// reached deferredAt; a wait beyond it succeeds (as once the read models
// get there) unless its context is already done (a check). WaitForCommands
// fails while failCommands is set, as a timed-out settle does.
type recordingWaiter struct {
	all, forCommands []uint64
	deferredAt       uint64
	failCommands     bool
}

func (w *recordingWaiter) WaitFor(ctx context.Context, p uint64) error {
	if p <= w.deferredAt {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.all = append(w.all, p)
	return nil
}

func (w *recordingWaiter) WaitForCommands(_ context.Context, p uint64) error {
	w.forCommands = append(w.forCommands, p)
	if w.failCommands {
		return errors.New("timed out")
	}
	return nil
}

// A key's next request waits for the deferred lane only on the routes that
// read it, and for the command lane only after a command whose answer
// could not wait for it; another key never waits for this key's writes.
// A write every read model shows is forgotten by the key's next request.
func TestCatchUpWaitsOnlyForWhatTheRouteReads(t *testing.T) {
	w := &recordingWaiter{}
	a := &API{waiter: w}
	actor := domain.Actor{APIKeyID: uuid.New()}
	other := domain.Actor{APIKeyID: uuid.New()}
	ctx := domain.WithActor(context.Background(), actor)

	assert.NoError(t, a.settle(ctx, commands.Result{Position: 10}))
	assert.Equal(t, []uint64{10}, w.forCommands, "the answer waits for the command lane")
	a.catchUp(ctx, actor, false)
	a.catchUp(ctx, other, true)
	assert.Empty(t, w.all, "a route of the command lane, or another key, does not wait")
	assert.Equal(t, []uint64{10}, w.forCommands)
	a.catchUp(ctx, actor, true)
	assert.Equal(t, []uint64{10}, w.all, "a route of the deferred lane waits for the last write")
	a.catchUp(ctx, actor, true)
	assert.Equal(t, []uint64{10}, w.all, "once reached, it is not waited for again")

	assert.NoError(t, a.settle(ctx, commands.Result{Position: 11}))
	w.deferredAt = 11
	a.catchUp(ctx, actor, false)
	_, kept := a.writes.Load(actor.APIKeyID)
	assert.False(t, kept, "a write every read model shows is forgotten")

	w.failCommands = true
	assert.Error(t, a.settle(ctx, commands.Result{Position: 12}))
	w.failCommands = false
	w.forCommands = nil
	a.catchUp(ctx, other, false)
	assert.Empty(t, w.forCommands, "another key does not wait")
	a.catchUp(ctx, actor, false)
	assert.Equal(t, []uint64{12}, w.forCommands, "after an unsettled command every route waits for the command lane")
	a.catchUp(ctx, actor, false)
	assert.Equal(t, []uint64{12}, w.forCommands, "once reached, it is not waited for again")
}

// The routes that read the deferred lane's read models are marked so.
func TestRoutesOfTheDeferredLaneAreMarked(t *testing.T) {
	deferred := func(path string) bool {
		for _, p := range []string{"/events", "/audit/", "/timeline/", "/calendar/"} {
			if strings.HasPrefix(path, p) {
				return true
			}
		}
		return strings.HasSuffix(path, "/logs") || strings.HasSuffix(path, "/calendar") || strings.HasSuffix(path, "/timeline/upcoming")
	}
	for _, rt := range (&API{}).routes() {
		assert.Equal(t, deferred(rt.path), rt.readsDeferred, "%s %s", rt.method, rt.path)
	}
}

// slowWaiter's read models never reach a command's position in time.
type slowWaiter struct{ recordingWaiter }

func (*slowWaiter) WaitForCommands(context.Context, uint64) error { return context.DeadlineExceeded }

// A command whose read models lag past the settle timeout is in the log
// already: its 503 says so, and how to retry without making it twice.
func TestSettleTimeoutSaysTheChangeWasRecorded(t *testing.T) {
	a := &API{waiter: &slowWaiter{}}
	ctx := domain.WithActor(context.Background(), domain.Actor{APIKeyID: uuid.New()})
	err := a.settle(ctx, commands.Result{Position: 42})
	assert.Equal(t, 503, statusOf(err))
	assert.Contains(t, err.Error(), "the change was recorded (position 42)")
	assert.Contains(t, err.Error(), "same Idempotency-Key")
}
