package commands_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// appendSizes is a store that notes how many events each append to a
// members stream holds.
type appendSizes struct {
	eventstore.Store
	mu    sync.Mutex
	sizes []int
}

func (a *appendSizes) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if strings.HasPrefix(stream, invitation.Category+"-") {
		a.mu.Lock()
		a.sizes = append(a.sizes, len(events))
		a.mu.Unlock()
	}
	return a.Store.Append(ctx, stream, expected, events...)
}

// noScopedUsers is a read model in which no user holds a property's scope.
type noScopedUsers struct{}

func (noScopedUsers) UsersScopedTo(context.Context, uuid.UUID, uuid.UUID, uint64, uuid.UUID, int) ([]uuid.UUID, error) {
	return nil, nil
}

// Deleting a property with more pending invitations than one append of
// its cascade holds withdraws them all, in appends no larger than the
// members' (a backend bounds an append's size: KurrentDB's 1 MiB).
func TestDeletingAPropertyWithManyInvitationsWithdrawsThemInBatches(t *testing.T) {
	t.Parallel()
	store := &appendSizes{Store: memstore.New()}
	f := newUserFixtureOn(t, store)
	svc, p := f.svc, f.svc.Pipeline()
	svc.SetCounts(noChildren{})
	svc.SetPropertyScopedUsers(noScopedUsers{})

	prop, err := svc.CreateProperty(userOwner, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	const n = 450
	members := commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve}
	_, err = commands.Execute(userOwner, p, members, prop.PropertyID, "ManyInvitations",
		func(commands.Loaded[invitation.State], time.Time) ([]domain.Event, error) {
			var events []domain.Event
			for range n {
				events = append(events, invitation.PropertyInvitationCreated{InvitationID: uuid.New(), AccountID: userAccount,
					PropertyID: prop.PropertyID, EmailHash: uuid.NewString(), Role: invitation.RoleStaff, TokenHash: "t"})
			}
			return events, nil
		})
	require.NoError(t, err)
	store.sizes = nil

	_, err = svc.DeleteProperty(userOwner, prop.PropertyID)
	require.NoError(t, err)
	l, err := commands.Load(context.Background(), p, members, prop.PropertyID)
	require.NoError(t, err)
	for _, id := range l.State.Invitations() {
		require.Equal(t, invitation.StatusWithdrawn, l.State.InvitationStatus(id))
	}
	require.NotEmpty(t, store.sizes)
	for _, size := range store.sizes {
		assert.LessOrEqual(t, size, 200, "an append of the cascade: %v", store.sizes)
	}
}
