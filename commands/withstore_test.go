package commands_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore/overlay"
)

// A copy of the service on an overlay appends only to the overlay, sees
// the base's events, and leaves the original's aggregate cache alone: the
// same command run for real afterwards decides against the real stream.
func TestServiceWithStoreOverlayAppendsToTheCopyOnly(t *testing.T) {
	w := newGroupWorld(t)
	ctx := context.Background()
	g := w.create(w.owner(), w.prop)
	_ = w.group(g) // the original's cache now holds the group
	base := w.p.Store()
	head, err := base.HeadPosition(ctx)
	require.NoError(t, err)

	o, err := overlay.New(ctx, base, nil)
	require.NoError(t, err)
	copySvc, err := w.svc.WithStore(o)
	require.NoError(t, err)
	res, err := copySvc.AddMember(w.owner(), commands.AddMember{PropertyID: w.prop, UserGroupID: g, UserID: w.user})
	require.NoError(t, err)
	assert.Greater(t, res.Position, head)
	l, err := commands.Load(ctx, copySvc.Pipeline(), gGroupAgg, g)
	require.NoError(t, err)
	_, member := l.State.Member(w.user)
	assert.True(t, member, "the copy sees its own append")

	after, err := base.HeadPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, after, "nothing reached the base")
	_, member = w.group(g).Member(w.user)
	assert.False(t, member)

	_, err = w.svc.AddMember(w.owner(), commands.AddMember{PropertyID: w.prop, UserGroupID: g, UserID: w.user})
	require.NoError(t, err, "the original decides against the real stream")
	_, member = w.group(g).Member(w.user)
	assert.True(t, member)
}
