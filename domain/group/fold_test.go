package group

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
)

// randomHistory is a group's history of n events drawn from every kind,
// members chosen among a few users so that adds, changes and removals meet.
func randomHistory(rng *rand.Rand, n int) []domain.Event {
	g := uuid.New()
	users := make([]uuid.UUID, 8)
	for i := range users {
		users[i] = uuid.New()
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []domain.Event{UserGroupCreated{UserGroupID: g, DisplayName: "a"}}
	for len(evs) < n {
		u := users[rng.IntN(len(users))]
		until := at.Add(time.Duration(rng.IntN(100)) * time.Hour)
		switch rng.IntN(10) {
		case 0:
			evs = append(evs, UserGroupDeleted{UserGroupID: g})
		case 1:
			evs = append(evs, UserGroupCreated{UserGroupID: g, DisplayName: "again"})
		case 2:
			evs = append(evs, UserGroupUpdated{UserGroupID: g, DisplayName: "b"})
		case 3, 4:
			evs = append(evs, UserRemovedFromGroup{UserGroupID: g, UserID: u})
		case 5:
			evs = append(evs, UserGroupMembershipChanged{UserGroupID: g, UserID: u, ValidUntil: &until})
		default:
			evs = append(evs, UserAddedToGroup{UserGroupID: g, UserID: u, ValidUntil: &until})
		}
	}
	return evs
}

// TestFoldIsEvolveOneByOne: folding any history, from any state reached
// by part of it, gives the state Evolve gives event by event, and leaves
// the state it started from as it was (the pipeline caches states).
func TestFoldIsEvolveOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		evs := randomHistory(rng, 1+rng.IntN(60))
		cut := rng.IntN(len(evs))
		var start State
		for _, e := range evs[:cut] {
			start = Evolve(start, e)
		}
		before := start.Members()

		want := start
		for _, e := range evs[cut:] {
			want = Evolve(want, e)
		}
		got := Fold(start, evs[cut:])
		require.Equal(t, want, got)
		require.Equal(t, before, start.Members(), "the fold changed the state it started from")

		// The folded state is the fold's own: evolving it further leaves
		// it as it was too.
		kept := got.Members()
		_ = Fold(got, randomHistory(rng, 20)[1:])
		require.Equal(t, kept, got.Members())
	}
}

// BenchmarkLoadGroupOf5000 loads a group of 5,000 members, as the command
// pipeline does on a cold cache.
func BenchmarkLoadGroupOf5000(b *testing.B) {
	g := uuid.New()
	evs := []domain.Event{UserGroupCreated{UserGroupID: g}}
	for range 5000 {
		evs = append(evs, UserAddedToGroup{UserGroupID: g, UserID: uuid.New()})
	}
	b.Run("Evolve", func(b *testing.B) {
		for b.Loop() {
			var s State
			for _, e := range evs {
				s = Evolve(s, e)
			}
		}
	})
	b.Run("Fold", func(b *testing.B) {
		for b.Loop() {
			Fold(State{}, evs)
		}
	})
}
