package main

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

type reprocessFunc func(context.Context, uint64) error

func (f reprocessFunc) Reprocess(ctx context.Context, position uint64) error { return f(ctx, position) }

// A re-delivery whose bus step fails after the read models took the event
// is unavailable (503, retry), not an internal error; the read models'
// own failure is returned as it is.
func TestReprocessEachBusFailureIsUnavailable(t *testing.T) {
	var readModels int
	ok := reprocessFunc(func(context.Context, uint64) error { readModels++; return nil })
	busDown := reprocessFunc(func(context.Context, uint64) error { return errors.New("nats: connection closed") })
	err := reprocessEach{ok, busDown}.Reprocess(context.Background(), 7)
	require.ErrorIs(t, err, eventstore.ErrUnavailable)
	assert.Contains(t, err.Error(), "nats: connection closed")
	assert.Equal(t, 1, readModels)

	broken := errors.New("read model broken")
	err = reprocessEach{reprocessFunc(func(context.Context, uint64) error { return broken }), busDown}.Reprocess(context.Background(), 7)
	assert.Equal(t, broken, err)
}
