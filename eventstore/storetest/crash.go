package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

const (
	// childEnv, set to a location, makes RunChild append to the store there.
	childEnv = "ACCESSD_STORETEST_CHILD"
	// runEnv numbers the child's run, which names its own stream.
	runEnv = "ACCESSD_STORETEST_RUN"
	// ackPrefix starts every acknowledgement line of the child.
	ackPrefix = "storetest-ack"
	// errPrefix starts the line of a child that failed.
	errPrefix = "storetest-error"
	// sharedStream is appended to by every run, continuing where it is.
	sharedStream = "crash-shared"
	// childAppends bounds a child that nobody kills.
	childAppends = 50000
	// crashRuns is how many children are killed in turn on one location.
	crashRuns = 3
)

// crashData is the payload of the child's events: enough to tell which
// append an event belongs to, and whether that append is whole.
type crashData struct {
	Run    int `json:"run"`
	Append int `json:"append"`
	Index  int `json:"index"`
	Count  int `json:"count"`
}

// RunChild makes a backend's test binary the crash test's child when the
// suite started it as one; call it first thing in TestMain and return when it
// reports true:
//
//	func TestMain(m *testing.M) {
//		if storetest.RunChild(backend) {
//			return
//		}
//		os.Exit(m.Run())
//	}
//
// The child opens the store at the location it was given and appends until
// it is killed, printing each acknowledged event on stdout.
func RunChild(b Backend) bool {
	location, ok := os.LookupEnv(childEnv)
	if !ok {
		return false
	}
	run, err := strconv.Atoi(os.Getenv(runEnv))
	if err == nil {
		err = appendUntilKilled(b, location, run)
	}
	if err != nil {
		fmt.Printf("%s %v\n", errPrefix, err)
		os.Exit(1)
	}
	return true
}

// appendUntilKilled appends 1 to 3 events at a time, alternately to the run's
// own stream and to the stream every run shares, each at its exact revision,
// and prints one line per event once the append is acknowledged.
func appendUntilKilled(b Backend, location string, run int) error {
	if b.OpenAt == nil {
		return errors.New("backend has no OpenAt")
	}
	// The child is a process of its own: this is its main.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := b.OpenAt(location)
	if err != nil {
		return fmt.Errorf("open %s: %w", location, err)
	}
	defer s.Close()

	own := fmt.Sprintf("crash-%d", run)
	expected := map[string]es.ExpectedRevision{own: es.NoStream, sharedStream: es.NoStream}
	tail, err := s.ReadStream(ctx, sharedStream, es.ReadStreamOptions{Direction: es.Backwards, From: es.StreamEnd, Max: 1})
	switch {
	case errors.Is(err, es.ErrStreamNotFound):
	case err != nil:
		return fmt.Errorf("read %s: %w", sharedStream, err)
	case len(tail) == 1:
		expected[sharedStream] = es.Exact(tail[0].Revision)
	}

	var line bytes.Buffer
	for k := range childAppends {
		stream := own
		if k%2 == 1 {
			stream = sharedStream
		}
		count := k%3 + 1
		batch := make([]es.EventData, count)
		for i := range batch {
			data, _ := json.Marshal(crashData{Run: run, Append: k, Index: i, Count: count})
			batch[i] = es.EventData{ID: uuid.New(), Type: "CrashTested", Data: data, Metadata: json.RawMessage(`{}`)}
		}
		res, err := s.Append(ctx, stream, expected[stream], batch...)
		if err != nil {
			return fmt.Errorf("append %d to %s at %s: %w", k, stream, expected[stream], err)
		}
		expected[stream] = es.Exact(res.NextExpectedRevision)
		line.Reset()
		first := res.NextExpectedRevision + 1 - uint64(count)
		for i, ev := range batch {
			fmt.Fprintf(&line, "%s %s %d %s\n", ackPrefix, stream, first+uint64(i), ev.ID)
		}
		// One write per append (stdout is unbuffered): the lines reach the
		// pipe together, before the next append starts.
		if _, err := os.Stdout.Write(line.Bytes()); err != nil {
			return nil // the parent is gone
		}
	}
	return fmt.Errorf("appended %d times and was never killed", childAppends)
}

// ack is an event the child reported as appended.
type ack struct {
	stream   string
	revision uint64
	id       uuid.UUID
}

// testCrashDuringAppends kills a child appending to one location with
// SIGKILL at a random moment, three times in a row, and checks after each
// kill that every acknowledged append survived whole and that nothing but at
// most the one append in flight was added.
func testCrashDuringAppends(t *testing.T, b Backend) {
	if b.NewLocation == nil {
		t.Skipf("%s: no NewLocation: crash durability is the server's own, not tested here", b.Name)
	}
	require.NotNil(t, b.OpenAt, "%s: NewLocation without OpenAt", b.Name)
	location := b.NewLocation(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill points drawn with seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32))

	var before []es.RecordedEvent // $all after the previous run
	for run := 1; run <= crashRuns; run++ {
		killAfter := 200 + rng.IntN(400)
		acks := runChild(t, location, run, killAfter)
		s, err := b.OpenAt(location)
		require.NoError(t, err, "run %d: reopen %s after the kill", run, location)
		before = checkAfterCrash(t, s, run, before, acks)
		if run == crashRuns {
			// The recovered store takes appends where it stands.
			last := before[len(before)-1]
			_, err := s.Append(t.Context(), last.Stream, es.Exact(last.Revision), event("CrashTested", 0))
			require.NoError(t, err, "append after recovery")
		}
		require.NoError(t, s.Close())
	}
}

// runChild starts the test binary as a child appending to location, kills it
// once it has acknowledged killAfter events, and returns every event it
// acknowledged before dying.
func runChild(t *testing.T, location string, run, killAfter int) []ack {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+location, runEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "start the child")

	var acks []ack
	var childErr string
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, errPrefix):
			childErr = line
		case strings.HasPrefix(line, ackPrefix):
			a, err := parseAck(line)
			require.NoError(t, err, "run %d: child printed %q", run, line)
			acks = append(acks, a)
		}
		if !killed && len(acks) >= killAfter {
			require.NoError(t, cmd.Process.Kill(), "kill the child")
			killed = true
		}
	}
	// Lines written before the kill are still read, to the pipe's end.
	require.NoError(t, sc.Err())
	waitErr := cmd.Wait()
	require.Empty(t, childErr, "run %d: the child failed; stderr:\n%s", run, tail(stderr.String()))
	require.True(t, killed, "run %d: the child exited (%v) after %d acknowledgements without being killed; "+
		"does the backend's TestMain call storetest.RunChild? stderr:\n%s", run, waitErr, len(acks), tail(stderr.String()))
	t.Logf("run %d: killed after %d acknowledgements (%d read in all)", run, killAfter, len(acks))
	return acks
}

func parseAck(line string) (ack, error) {
	f := strings.Fields(line)
	if len(f) != 4 {
		return ack{}, fmt.Errorf("want 4 fields, got %d", len(f))
	}
	rev, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return ack{}, err
	}
	id, err := uuid.Parse(f[3])
	if err != nil {
		return ack{}, err
	}
	return ack{stream: f[1], revision: rev, id: id}, nil
}

func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// checkAfterCrash checks the store reopened after run's child was killed and
// returns its $all.
func checkAfterCrash(t *testing.T, s es.Store, run int, before []es.RecordedEvent, acks []ack) []es.RecordedEvent {
	t.Helper()
	all := readAll(t, s, 0, es.Filter{})
	requireIncreasing(t, all)
	if len(all) > 0 {
		requireHead(t, s, all[len(all)-1].Position)
	}

	// Earlier runs' events are still there, unchanged, and first.
	require.GreaterOrEqual(t, len(all), len(before), "run %d: events of earlier runs lost", run)
	for i, ev := range before {
		require.Equal(t, ev.ID, all[i].ID, "run %d: $all[%d] changed", run, i)
		require.Equal(t, ev.Position, all[i].Position, "run %d: position of %s changed", run, ev.ID)
		require.Equal(t, ev.Stream, all[i].Stream)
		require.Equal(t, ev.Revision, all[i].Revision)
	}

	// Every stream's revisions follow each other in $all.
	revs := map[string]uint64{}
	for _, ev := range all {
		require.Equal(t, revs[ev.Stream], ev.Revision, "run %d: %s has a gap before %s", run, ev.Stream, ev.ID)
		revs[ev.Stream]++
	}

	// Every acknowledged event is there, with its id, at its revision.
	type place struct {
		stream   string
		revision uint64
	}
	at := map[place]uuid.UUID{}
	for _, ev := range all {
		at[place{ev.Stream, ev.Revision}] = ev.ID
	}
	for _, a := range acks {
		id, ok := at[place{a.stream, a.revision}]
		require.True(t, ok, "run %d: acknowledged %s@%d (%s) lost", run, a.stream, a.revision, a.id)
		require.Equal(t, a.id, id, "run %d: %s@%d holds another event than acknowledged", run, a.stream, a.revision)
	}
	if len(acks) > 0 {
		last := acks[len(acks)-1]
		got := readStream(t, s, last.stream, es.ReadStreamOptions{From: last.revision, Max: 1})
		require.Len(t, got, 1)
		require.Equal(t, last.id, got[0].ID, "run %d: the last acknowledged event, read from its stream", run)
	}

	// This run added its appends 0…n in order, each whole; all of them were
	// acknowledged but perhaps the last, which was in flight at the kill.
	added := all[len(before):]
	acked := make(map[uuid.UUID]bool, len(acks))
	for _, a := range acks {
		acked[a.id] = true
	}
	nextAppend, unacked := 0, 0
	for i := 0; i < len(added); {
		var d crashData
		require.NoError(t, json.Unmarshal(added[i].Data, &d), "run %d: data of %s", run, added[i].ID)
		require.Equal(t, run, d.Run, "run %d: an event of run %d appeared", run, d.Run)
		require.Equal(t, nextAppend, d.Append, "run %d: appends out of order or missing", run)
		require.Equal(t, 0, d.Index, "run %d: append %d starts with event %d: half-written", run, d.Append, d.Index)
		require.LessOrEqual(t, i+d.Count, len(added), "run %d: append %d has %d of its %d events: half-written", run, d.Append, len(added)-i, d.Count)
		for j := range d.Count {
			ev := added[i+j]
			var dj crashData
			require.NoError(t, json.Unmarshal(ev.Data, &dj))
			require.Equal(t, crashData{Run: run, Append: d.Append, Index: j, Count: d.Count}, dj, "run %d: append %d is not whole", run, d.Append)
			require.Equal(t, added[i].Stream, ev.Stream)
			if !acked[ev.ID] {
				unacked++
			}
		}
		if !acked[added[i].ID] {
			require.Equal(t, len(added), i+d.Count, "run %d: unacknowledged append %d is not the last one", run, d.Append)
		}
		nextAppend++
		i += d.Count
	}
	require.Equal(t, len(acks), len(added)-unacked, "run %d: acknowledged events missing from $all", run)
	t.Logf("run %d: %d events found, %d of them acknowledged", run, len(added), len(acks))
	return all
}
