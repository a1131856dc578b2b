package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

var readStreamTests = []test{
	{"ForwardsAndBackwards", func(t *testing.T, s *store) {
		// Ten events in lock-1, interleaved with other streams' events.
		var want []appended
		for i := range 5 {
			evs, _ := mustAppend(t, s, "lock-1", es.Any, events("LockChanged", i*2, 2)...)
			want = append(want, evs...)
			mustAppend(t, s, fmt.Sprintf("lock-%d", i+2), es.NoStream, event("LockProvisioned", 100+i))
		}
		reversed := make([]appended, len(want))
		for i, ev := range want {
			reversed[len(want)-1-i] = ev
		}
		cases := []struct {
			name string
			opts es.ReadStreamOptions
			want []appended
		}{
			{"forwards all", es.ReadStreamOptions{}, want},
			{"forwards from 3", es.ReadStreamOptions{From: 3}, want[3:]},
			{"forwards from 3 max 4", es.ReadStreamOptions{From: 3, Max: 4}, want[3:7]},
			{"forwards from 8 max 5", es.ReadStreamOptions{From: 8, Max: 5}, want[8:]},
			{"forwards from 9", es.ReadStreamOptions{From: 9}, want[9:]},
			{"forwards max 1", es.ReadStreamOptions{Max: 1}, want[:1]},
			{"backwards from end", es.ReadStreamOptions{Direction: es.Backwards, From: es.StreamEnd}, reversed},
			{"backwards from end max 3", es.ReadStreamOptions{Direction: es.Backwards, From: es.StreamEnd, Max: 3}, reversed[:3]},
			{"backwards from 9", es.ReadStreamOptions{Direction: es.Backwards, From: 9}, reversed},
			{"backwards from 5", es.ReadStreamOptions{Direction: es.Backwards, From: 5}, reversed[4:]},
			{"backwards from 5 max 2", es.ReadStreamOptions{Direction: es.Backwards, From: 5, Max: 2}, reversed[4:6]},
			{"backwards from 0", es.ReadStreamOptions{Direction: es.Backwards, From: 0}, reversed[9:]},
			{"backwards from 1 max 5", es.ReadStreamOptions{Direction: es.Backwards, From: 1, Max: 5}, reversed[8:]},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := readStream(t, s, "lock-1", c.opts)
				requireEvents(t, c.want, got)
			})
		}
	}},
	{"MissingStream", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 1))
		for _, opts := range []es.ReadStreamOptions{
			{},
			{From: 0, Max: 10},
			{Direction: es.Backwards, From: es.StreamEnd},
			{Direction: es.Backwards, From: 0, Max: 1},
		} {
			_, err := s.ReadStream(t.Context(), "lock-2", opts)
			require.ErrorIs(t, err, es.ErrStreamNotFound, "read a missing stream %+v", opts)
		}
		// A stream name is not a prefix: lock-1 exists, lock- does not.
		requireStreamNotFound(t, s, "lock-")
	}},
}

// filterFixture appends 30 events to streams and types chosen to tell exact
// type names and stream prefixes apart, and returns them in $all order.
func filterFixture(t *testing.T, s *store) []es.RecordedEvent {
	t.Helper()
	plan := []struct{ stream, typ string }{
		{"lock-1", "LockInstalled"},
		{"lock-2", "LockInstalledV2"},
		{"area-1", "AreaCreated"},
		{"lockdown-1", "LockInstalled"},
		{"user-1", "UserAdded"},
		{"lock-1", "LockRenamed"},
	}
	revs := map[string]es.ExpectedRevision{}
	for i := range 30 {
		p := plan[i%len(plan)]
		if i%7 == 3 {
			p = plan[(i/7)%len(plan)]
		}
		exp, ok := revs[p.stream]
		if !ok {
			exp = es.NoStream
		}
		_, res := mustAppend(t, s, p.stream, exp, event(p.typ, i))
		revs[p.stream] = es.Exact(res.NextExpectedRevision)
	}
	all := readAll(t, s, 0, es.Filter{})
	require.Len(t, all, 30)
	requireIncreasing(t, all)
	return all
}

// filterCases are the filters every read and subscription of $all is tried
// with, and how many of filterFixture's events each keeps.
var filterCases = []struct {
	name   string
	filter es.Filter
	count  int
}{
	{"none", es.Filter{}, 30},
	{"one type", es.Filter{EventTypes: []string{"LockInstalled"}}, 10},
	{"two types", es.Filter{EventTypes: []string{"LockInstalled", "AreaCreated"}}, 16},
	{"one prefix", es.Filter{StreamPrefixes: []string{"lock-"}}, 15},
	{"two prefixes", es.Filter{StreamPrefixes: []string{"lock-", "area-"}}, 21},
	{"type and prefix", es.Filter{EventTypes: []string{"LockInstalled"}, StreamPrefixes: []string{"lock-"}}, 5},
	{"matches nothing", es.Filter{EventTypes: []string{"Lock"}}, 0},
}

// filtered is the part of all that f keeps.
func filtered(all []es.RecordedEvent, f es.Filter) []es.RecordedEvent {
	var out []es.RecordedEvent
	for _, ev := range all {
		if f.Match(ev.Stream, ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// requireSame checks that got are the events of want, as stored.
func requireSame(t *testing.T, want, got []es.RecordedEvent) {
	t.Helper()
	require.Equal(t, ids(want), ids(got), "event ids")
	for i := range want {
		require.Equal(t, want[i].Position, got[i].Position, "position of %s", want[i].ID)
		require.Equal(t, want[i].Stream, got[i].Stream)
		require.Equal(t, want[i].Revision, got[i].Revision)
		require.Equal(t, want[i].Type, got[i].Type)
		require.Equal(t, string(want[i].Data), string(got[i].Data), "data of %s", want[i].ID)
	}
}

var readAllTests = []test{
	{"FromPositionWithMax", func(t *testing.T, s *store) {
		all := filterFixture(t, s)
		ctx := t.Context()
		for _, c := range []struct {
			name  string
			after uint64
			max   int
			want  []es.RecordedEvent
		}{
			{"from 0, max larger than the log", 0, 100, all},
			{"from 0, max 5", 0, 5, all[:5]},
			{"after the 5th, max 5", all[4].Position, 5, all[5:10]},
			{"after the 28th, max 5", all[27].Position, 5, all[28:]},
			{"after the last", all[29].Position, 10, nil},
			{"max 1", all[10].Position, 1, all[11:12]},
		} {
			got, err := s.ReadAll(ctx, c.after, c.max, es.Filter{})
			require.NoError(t, err, c.name)
			if len(c.want) == 0 {
				require.Empty(t, got, c.name)
				continue
			}
			requireSame(t, c.want, got)
		}
	}},
	{"Filters", func(t *testing.T, s *store) {
		all := filterFixture(t, s)
		for _, c := range filterCases {
			want := filtered(all, c.filter)
			require.Len(t, want, c.count, "fixture for %s", c.name)
			got := readAll(t, s, 0, c.filter)
			if c.count == 0 {
				require.Empty(t, got, c.name)
				continue
			}
			requireSame(t, want, got)
			for _, ev := range got {
				require.True(t, c.filter.Match(ev.Stream, ev.Type), "%s: %s in %s does not pass", c.name, ev.Type, ev.Stream)
			}
		}
	}},
	{"FiltersFromPositionWithMax", func(t *testing.T, s *store) {
		all := filterFixture(t, s)
		for _, c := range filterCases {
			want := filtered(all, c.filter)
			if len(want) < 4 {
				continue
			}
			// From an event the filter keeps, and from one it drops.
			got, err := s.ReadAll(t.Context(), want[1].Position, 2, c.filter)
			require.NoError(t, err)
			requireSame(t, want[2:4], got)
			after := want[1].Position
			for _, ev := range all {
				if ev.Position > want[1].Position && ev.Position < want[2].Position {
					after = ev.Position // an event between, dropped by the filter
				}
			}
			got, err = s.ReadAll(t.Context(), after, 1, c.filter)
			require.NoError(t, err)
			requireSame(t, want[2:3], got)
		}
	}},
	{"EmptyLog", func(t *testing.T, s *store) {
		got, err := s.ReadAll(t.Context(), 0, 10, es.Filter{})
		require.NoError(t, err)
		require.Empty(t, got)
		requireHead(t, s, 0)
	}},
}

var subscribeFilterTests = []test{
	{"EachFilter", func(t *testing.T, s *store) {
		all := filterFixture(t, s)
		subs := make([]es.Subscription, len(filterCases))
		for i, c := range filterCases {
			subs[i] = subscribe(t, s, 0, c.filter)
			want := filtered(all, c.filter)
			requireSame(t, want, nextN(t, subs[i], len(want)))
		}
		// Live: one event that only the unfiltered subscription keeps, then
		// one that every filter but "matches nothing" keeps.
		_, dropped := mustAppend(t, s, "user-1", es.StreamExists, event("UserRenamed", 100))
		_, kept := mustAppend(t, s, "lock-1", es.StreamExists, event("LockInstalled", 101))
		for i, sub := range subs {
			c := filterCases[i]
			if c.count == 0 {
				continue
			}
			ev := next(t, sub)
			if c.filter.Match("user-1", "UserRenamed") {
				require.Equal(t, dropped.Position, ev.Position, "%s: live event", c.name)
				ev = next(t, sub)
			}
			require.Equal(t, kept.Position, ev.Position, "%s: live event", c.name)
			require.Equal(t, "LockInstalled", ev.Type)
		}
	}},
	{"MostEventsFilteredOut", func(t *testing.T, s *store) {
		// 1,000 events of which 5 pass, then 200 more live of which 1 does.
		const noise, batch = 1000, 50
		signalAt := map[int]bool{3: true, 250: true, 251: true, 700: true, 999: true}
		var signals []es.EventData
		for b := 0; b < noise; b += batch {
			for i := b; i < b+batch; i++ {
				if signalAt[i] {
					ev := event("SignalSent", i)
					signals = append(signals, ev)
					mustAppend(t, s, fmt.Sprintf("signal-%d", i), es.NoStream, ev)
				}
			}
			mustAppend(t, s, fmt.Sprintf("noise-%d", b/batch), es.NoStream, events("NoiseMade", b, batch)...)
		}
		all := readAll(t, s, 0, es.Filter{})
		middle := all[len(all)/2].Position
		byType := subscribe(t, s, 0, es.Filter{EventTypes: []string{"SignalSent"}})
		byPrefix := subscribe(t, s, 0, es.Filter{StreamPrefixes: []string{"signal-"}})
		fromMiddle := subscribe(t, s, middle, es.Filter{EventTypes: []string{"SignalSent"}})
		for _, sub := range []es.Subscription{byType, byPrefix} {
			got := nextN(t, sub, len(signals))
			for i, ev := range got {
				require.Equal(t, signals[i].ID, ev.ID, "signal %d", i)
			}
		}
		fromMiddleWant := filtered(all[len(all)/2+1:], es.Filter{EventTypes: []string{"SignalSent"}})
		require.Len(t, fromMiddleWant, 2)
		requireSame(t, fromMiddleWant, nextN(t, fromMiddle, len(fromMiddleWant)))

		for b := 0; b < 200; b += batch {
			mustAppend(t, s, fmt.Sprintf("noise-live-%d", b), es.NoStream, events("NoiseMade", noise+b, batch)...)
		}
		_, res := mustAppend(t, s, "signal-live", es.NoStream, event("SignalSent", 2000))
		for _, sub := range []es.Subscription{byType, byPrefix, fromMiddle} {
			require.Equal(t, res.Position, next(t, sub).Position, "the live signal after 200 filtered-out events")
		}
	}},
}

var unknownTypeTests = []test{
	{"TypeStringPreserved", func(t *testing.T, s *store) {
		types := []string{"NotRegisteredAnywhere", "Lock.Installed.v7", "Übergabe erfolgt", "a:b/c$d"}
		var want []appended
		for i, typ := range types {
			evs, _ := mustAppend(t, s, "future-1", es.Any, event(typ, i))
			want = append(want, evs...)
		}
		requireEvents(t, want, readStream(t, s, "future-1", es.ReadStreamOptions{}))
		all := readAll(t, s, 0, es.Filter{})
		requireEvents(t, want, all)
		got := readAll(t, s, 0, es.Filter{EventTypes: []string{types[2]}})
		requireEvents(t, want[2:3], got)

		// A build that knows none of them keeps them as raw events.
		reg := es.NewRegistry()
		for i, rec := range all {
			env, err := reg.Decode(rec)
			require.NoError(t, err, "decoding an unknown type is not an error")
			require.False(t, env.Known)
			require.Nil(t, env.Event)
			require.Equal(t, types[i], env.Type)
			require.JSONEq(t, string(want[i].Data), string(env.Raw))
		}
	}},
}
