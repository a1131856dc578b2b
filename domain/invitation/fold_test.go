package invitation

import (
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
)

// TestFoldIsEvolveOneByOne: folding any history, from any state reached
// by part of it, gives the state Evolve gives event by event, and leaves
// the state it started from as it was (the pipeline caches states).
func TestFoldIsEvolveOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prop := uuid.New()
	users, invs := make([]uuid.UUID, 6), make([]uuid.UUID, 6)
	for i := range users {
		users[i], invs[i] = uuid.New(), uuid.New()
	}
	for range 300 {
		var evs []domain.Event
		for range 1 + rng.IntN(60) {
			u, inv := users[rng.IntN(len(users))], invs[rng.IntN(len(invs))]
			switch rng.IntN(5) {
			case 0:
				evs = append(evs, PropertyInvitationCreated{InvitationID: inv, PropertyID: prop, EmailHash: u.String()})
			case 1:
				evs = append(evs, PropertyInvitationWithdrawn{InvitationID: inv, PropertyID: prop})
			case 2:
				evs = append(evs, PropertyInvitationAccepted{InvitationID: inv, PropertyID: prop, UserID: u, Role: "staff"})
			case 3:
				evs = append(evs, PropertyMemberUpdated{PropertyID: prop, UserID: u, Role: "manager"})
			default:
				evs = append(evs, PropertyMemberRemoved{PropertyID: prop, UserID: u})
			}
		}
		cut := rng.IntN(len(evs) + 1)
		start := Fold(State{}, evs[:cut])
		members, invitations := start.Members(), start.Invitations()

		want := start
		for _, e := range evs[cut:] {
			want = Evolve(want, e)
		}
		got := Fold(start, evs[cut:])
		require.Equal(t, want.Members(), got.Members())
		require.Equal(t, want.Invitations(), got.Invitations())
		for _, id := range invs {
			require.Equal(t, want.InvitationStatus(id), got.InvitationStatus(id))
		}
		for _, id := range users {
			wm, wok := want.Member(id)
			gm, gok := got.Member(id)
			require.Equal(t, wok, gok)
			require.Equal(t, wm, gm)
		}
		require.Equal(t, members, start.Members(), "the fold changed the members it started from")
		require.Equal(t, invitations, start.Invitations(), "the fold changed the invitations it started from")
	}
}
