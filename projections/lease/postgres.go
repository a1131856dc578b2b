// Package lease gives scale-out servers one holder per worker: PostgreSQL
// session advisory locks, held on a connection of their own, so a holder
// that dies (even by SIGKILL) loses its leases as soon as PostgreSQL sees
// its connection close.
package lease

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accessd/accessd/projections"
)

// Postgres grants leases as PostgreSQL advisory locks.
type Postgres struct {
	url string
	log *slog.Logger
	// schema is the read models' schema (current_schema of url): leases
	// are per schema, as the deployments sharing a database are.
	schema string
	// retry is how often a waiting Acquire tries again; check how often a
	// holder confirms its connection is alive.
	retry, check time.Duration
	// warnEvery is how often a lease that keeps failing to ask PostgreSQL
	// says so again after its first warning.
	warnEvery time.Duration
}

// NewPostgres returns a leaser on the PostgreSQL server at url, checking
// now that it can be reached so a bad URL fails at start.
func NewPostgres(ctx context.Context, url string, log *slog.Logger) (*Postgres, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	defer conn.Close(ctx)
	var schema *string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	p := &Postgres{url: url, log: log, retry: time.Second, check: 2 * time.Second, warnEvery: time.Minute}
	if schema != nil {
		p.schema = *schema
	}
	return p, nil
}

// key maps a lease name to an advisory-lock key, namespaced so accessd's
// locks do not meet another application's on a shared server. Advisory
// locks belong to a database; the schema is in the key too, so that two
// deployments in two schemas of one database do not hold each other's
// leases. The public schema keeps the key it always had.
func (p *Postgres) key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("accessd.lease."))
	if p.schema != "" && p.schema != "public" {
		h.Write([]byte(p.schema + "."))
	}
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// Acquire blocks until this process holds the lease name or ctx ends.
// While PostgreSQL cannot be asked it warns at once, then at most once
// per warnEvery, not at every retry.
func (p *Postgres) Acquire(ctx context.Context, name string) (projections.Lease, error) {
	failures := 0
	var warned time.Time
	for {
		l, err := p.try(ctx, name)
		if l != nil {
			if failures > 0 {
				p.log.Info("lease: PostgreSQL answers again", "lease", name, "failures", failures)
			}
			return l, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			failures++
			if failures == 1 || time.Since(warned) >= p.warnEvery {
				p.log.Warn("lease: cannot ask PostgreSQL; retrying", "lease", name, "err", err, "failures", failures)
				warned = time.Now()
			}
		} else if failures > 0 {
			p.log.Info("lease: PostgreSQL answers again", "lease", name, "failures", failures)
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(p.retry):
		}
	}
}

// try takes the lease if it is free; a nil lease and nil error mean another
// process holds it.
func (p *Postgres) try(ctx context.Context, name string) (*held, error) {
	conn, err := pgx.Connect(ctx, p.url)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", p.key(name)).Scan(&ok); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	if !ok {
		conn.Close(context.Background())
		return nil, nil
	}
	l := &held{name: name, key: p.key(name), conn: conn, lost: make(chan struct{}), done: make(chan struct{}), log: p.log}
	go l.watch(p.check)
	return l, nil
}

// held is a lease this process holds on its own connection.
type held struct {
	name string
	key  int64
	log  *slog.Logger
	mu   sync.Mutex // guards conn: the watchdog and Release share it
	conn *pgx.Conn

	lost     chan struct{}
	lostOnce sync.Once
	done     chan struct{}
	doneOnce sync.Once
}

func (l *held) Lost() <-chan struct{} { return l.lost }

// pingTimeout bounds one ping of a lease's connection. It is not the
// check interval: a ping slowed by a busy machine or database is no lost
// connection (the lock is held while the session lives), and giving the
// lease up for it stops every projection for nothing.
const pingTimeout = 10 * time.Second

// watch pings the lease's connection; a failed ping means PostgreSQL may
// already have released the lock to another process.
func (l *held) watch(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), max(every, pingTimeout))
		err := l.conn.Ping(ctx)
		cancel()
		l.mu.Unlock()
		if err != nil {
			l.log.Warn("lease: connection failed; lease lost", "lease", l.name, "err", err)
			l.lostOnce.Do(func() { close(l.lost) })
			l.Release()
			return
		}
	}
}

// Release unlocks and closes the lease's connection (closing alone would
// release it too; unlocking first says so at once).
func (l *held) Release() {
	l.doneOnce.Do(func() {
		close(l.done)
		l.mu.Lock()
		defer l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var ok bool
		if err := l.conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", l.key).Scan(&ok); err != nil && !errors.Is(err, context.Canceled) {
			l.log.Debug("lease: unlock", "lease", l.name, "err", err)
		}
		l.conn.Close(ctx)
	})
}

// Local grants every lease at once: the embedded server is the only process
// on its data directory.
type Local struct{}

// Acquire returns a lease that is never lost.
func (Local) Acquire(ctx context.Context, name string) (projections.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return localLease{}, nil
}

type localLease struct{}

func (localLease) Lost() <-chan struct{} { return nil }
func (localLease) Release()              {}
