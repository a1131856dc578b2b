package lease

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
)

func newLeaser(t *testing.T) *Postgres {
	t.Helper()
	p, err := NewPostgres(t.Context(), servicetest.PostgresURL(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	p.retry, p.check = 50*time.Millisecond, 100*time.Millisecond
	return p
}

// acquireAsync starts Acquire and returns a channel with its lease.
func acquireAsync(ctx context.Context, p *Postgres, name string) <-chan projections.Lease {
	ch := make(chan projections.Lease, 1)
	go func() {
		l, err := p.Acquire(ctx, name)
		if err == nil {
			ch <- l
		}
	}()
	return ch
}

func TestOneHolderUntilRelease(t *testing.T) {
	a, b := newLeaser(t), newLeaser(t)
	name := "test-" + uuid.NewString()
	first, err := a.Acquire(t.Context(), name)
	require.NoError(t, err)

	second := acquireAsync(t.Context(), b, name)
	select {
	case <-second:
		t.Fatal("a second process took a held lease")
	case <-time.After(500 * time.Millisecond):
	}
	first.Release()
	select {
	case l := <-second:
		l.Release()
	case <-time.After(10 * time.Second):
		t.Fatal("the released lease was not taken over")
	}
}

func TestDeadHolderLosesLease(t *testing.T) {
	a, b := newLeaser(t), newLeaser(t)
	name := "test-" + uuid.NewString()
	first, err := a.Acquire(t.Context(), name)
	require.NoError(t, err)
	second := acquireAsync(t.Context(), b, name)

	// Kill the holder's session from outside, as a dead process's would end.
	conn, err := pgx.Connect(t.Context(), servicetest.PostgresURL(t))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var killed bool
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1`, a.key(name)).Scan(&killed))
	require.True(t, killed)

	select {
	case <-first.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not notice it lost its lease")
	}
	select {
	case l := <-second:
		l.Release()
	case <-time.After(10 * time.Second):
		t.Fatal("nobody took over the dead holder's lease")
	}
}

// TestLeasesArePerSchema: two deployments in two schemas of one database
// each hold their own leases; one's holder does not keep the other's
// workers waiting (they would never run, and it would never be ready).
func TestLeasesArePerSchema(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := NewPostgres(t.Context(), servicetest.PostgresSchema(t), quiet)
	require.NoError(t, err)
	b, err := NewPostgres(t.Context(), servicetest.PostgresSchema(t), quiet)
	require.NoError(t, err)
	first, err := a.Acquire(t.Context(), "projections")
	require.NoError(t, err)
	defer first.Release()
	select {
	case l := <-acquireAsync(t.Context(), b, "projections"):
		l.Release()
	case <-time.After(5 * time.Second):
		t.Fatal("a lease of another schema kept this one's waiting")
	}
}

// TestUnreachableLeaseWarnsOnce: a lease that cannot ask PostgreSQL (it is
// down) warns once, then at most once per warnEvery, not at every retry.
func TestUnreachableLeaseWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	p := &Postgres{url: "postgres://postgres@127.0.0.1:1/test?connect_timeout=1", log: slog.New(slog.NewJSONHandler(&logs, nil)),
		retry: 5 * time.Millisecond, check: time.Second, warnEvery: time.Minute}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := p.Acquire(ctx, "projections")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, strings.Count(logs.String(), "cannot ask PostgreSQL"), logs.String())
}

func TestUnreachableServerFailsAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := NewPostgres(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", slog.Default())
	require.ErrorContains(t, err, "leases")
}

func TestLocalGrantsAtOnce(t *testing.T) {
	l, err := Local{}.Acquire(t.Context(), "x")
	require.NoError(t, err)
	require.Nil(t, l.Lost())
	l.Release()
}
