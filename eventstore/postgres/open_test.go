package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
)

func TestOpenUnreachable(t *testing.T) {
	for _, url := range []string{
		"postgres://accessd:s3cret@127.0.0.1:1/test?sslmode=disable",
		"host=127.0.0.1 port=1 user=accessd password=s3cret dbname=test sslmode=disable",
	} {
		_, err := Open(t.Context(), url)
		require.Error(t, err, url)
		require.Contains(t, err.Error(), "127.0.0.1", "the error names the server")
		require.NotContains(t, err.Error(), "s3cret", "the error hides the password")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?search_path=s": "postgres://u:xxxxx@h:5432/db?search_path=s",
		"postgres://h/db?password=pw&user=u":      "postgres://h/db?password=xxxxx&user=u",
		"postgres://u@h/db":                       "postgres://u@h/db",
		"host=h password='p w' dbname=d":          "host=h password=xxxxx dbname=d",
		"host=h password=pw dbname=d":             "host=h password=xxxxx dbname=d",
		"postgres://u:p%zz@h/db":                  "postgres://u:xxxxx@h/db",
	} {
		require.Equal(t, want, redact(in), in)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	url := servicetest.WithSearchPath(servicetest.PostgresURL(t), "t_no_such_schema")
	_, err := Open(t.Context(), url)
	require.ErrorContains(t, err, "no schema")
}

// TestOpenConcurrently opens four stores on a fresh schema at once: the
// tables are created once, and every store uses them.
func TestOpenConcurrently(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), url)
		})
	}
	close(start)
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i], "open %d", i)
		t.Cleanup(func() { _ = s.Close() })
		require.Equal(t, stores[0].lockKey, s.lockKey, "one table")
	}
	res := mustAppend(t, stores[1], "s-1", eventstore.NoStream, event("E", 1))
	got, err := stores[3].ReadStream(t.Context(), "s-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, res.Position, got[0].Position)
}

// TestBytesSurviveReopen appends payloads that re-encoding would change
// and reads them back, after a reopen, byte for byte.
func TestBytesSurviveReopen(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	payloads := []eventstore.EventData{
		{ID: uuid.New(), Type: "Spaced", Data: json.RawMessage("{ \"b\" : 1,\n\t\"a\" : [ ] }"), Metadata: json.RawMessage(`{"z":1,"a":2}`)},
		{ID: uuid.New(), Type: "Escaped", Data: json.RawMessage(`{"s":"\u00e9\u0000\ud83d\ude00","n":1.50e+10}`), Metadata: json.RawMessage(`{}`)},
		{ID: uuid.New(), Type: "Übergabe erfolgt", Data: json.RawMessage(`"é 😀"`)},
		{ID: uuid.New(), Type: "Empty"},
	}
	s, err := Open(t.Context(), url)
	require.NoError(t, err)
	mustAppend(t, s, "bytes-1", eventstore.NoStream, payloads...)
	require.NoError(t, s.Close())

	s = openURL(t, url)
	got, err := s.ReadStream(t.Context(), "bytes-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, got, len(payloads))
	for i, ev := range got {
		want := payloads[i]
		require.Equal(t, want.ID, ev.ID)
		require.Equal(t, want.Type, ev.Type)
		require.True(t, bytes.Equal(want.Data, ev.Data), "data %d: %q", i, ev.Data)
		require.True(t, bytes.Equal(want.Metadata, ev.Metadata), "metadata %d: %q", i, ev.Metadata)
		require.Equal(t, want.Data == nil, ev.Data == nil, "absent data stays absent")
		require.Equal(t, want.Metadata == nil, ev.Metadata == nil, "absent metadata stays absent")
		require.Equal(t, time.UTC, ev.RecordedAt.Location())
		require.WithinDuration(t, time.Now(), ev.RecordedAt, time.Minute)
	}
	all, err := s.ReadAll(t.Context(), 0, 10, eventstore.Filter{})
	require.NoError(t, err)
	require.Equal(t, got, all)
}

func TestNotText(t *testing.T) {
	s := openFresh(t)
	_, err := s.Append(t.Context(), "lock-\xff", eventstore.Any, event("E", 1))
	require.ErrorIs(t, err, eventstore.ErrInvalidEvent)
	_, err = s.Append(t.Context(), "lock-1", eventstore.Any, event("E\x00", 1))
	require.ErrorIs(t, err, eventstore.ErrInvalidEvent)
	head, err := s.HeadPosition(t.Context())
	require.NoError(t, err)
	require.Zero(t, head)
}

func TestCancelledAppend(t *testing.T) {
	s := openFresh(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Append(ctx, "s-1", eventstore.Any, event("A", 1))
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Subscribe(ctx, 0, eventstore.Filter{})
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.ReadAll(ctx, 0, 10, eventstore.Filter{})
	require.ErrorIs(t, err, context.Canceled)
	head, err := s.HeadPosition(t.Context())
	require.NoError(t, err)
	require.Zero(t, head)
}

// TestGroupCommit has 64 writers append at once: their appends share
// commits, and each stream's revisions stay in order.
func TestGroupCommit(t *testing.T) {
	s := openFresh(t)
	const writers, each = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			stream := "w-" + uuid.NewString()
			exp := eventstore.NoStream
			for i := range each {
				res, err := s.Append(t.Context(), stream, exp, event("E", i))
				if err != nil {
					errs <- err
					return
				}
				exp = eventstore.Exact(res.NextExpectedRevision)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := s.Stats()
	require.Equal(t, uint64(writers*each), st.Appends)
	require.Less(t, st.Commits, st.Appends/2, "appends were not grouped: %+v", st)
	t.Logf("%d appends in %d commits", st.Appends, st.Commits)
}

// TestCloseWhileBusy closes a store under appends and a waiting
// subscription: every call ends (ErrClosed or success) and no goroutine of
// the store is left.
func TestCloseWhileBusy(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	before := runtime.NumGoroutine()
	s, err := Open(t.Context(), url)
	require.NoError(t, err)
	sub, err := s.Subscribe(t.Context(), 0, eventstore.Filter{EventTypes: []string{"Never"}})
	require.NoError(t, err)
	subErr := make(chan error, 1)
	go func() {
		_, err := sub.Next(t.Context())
		subErr <- err
	}()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := s.Append(t.Context(), "busy-"+string(rune('a'+w)), eventstore.Any, event("E", i))
				if err != nil {
					if !errors.Is(err, eventstore.ErrClosed) {
						t.Errorf("append during Close: %v", err)
					}
					return
				}
			}
		})
	}
	for s.Stats().Commits < 5 {
		runtime.Gosched()
	}
	require.NoError(t, s.Close())
	wg.Wait()
	require.ErrorIs(t, <-subErr, eventstore.ErrClosed)
	require.NoError(t, s.Close(), "closing twice")

	// The pools' and the store's goroutines end with Close.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestOpenRefusesNewerSchema keeps a store of this build away from tables a
// later build changed.
func TestOpenRefusesNewerSchema(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	s, err := Open(t.Context(), url)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	_, err = conn.Exec(t.Context(), `UPDATE es_schema SET version = $1`, schemaVersion+1)
	require.NoError(t, err)
	_, err = Open(t.Context(), url)
	require.ErrorContains(t, err, "newer than this build's")
}
