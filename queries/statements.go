package queries

import (
	"context"
	"database/sql"
	"sync"

	"github.com/accessd/accessd/projections"
)

// statements prepares each hot query once per pool instead of once per
// call: parsing SQL was a seventh of the CPU of a read.
type statements struct {
	db *projections.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStatements(db *projections.DB) *statements {
	return &statements{db: db, m: map[string]*sql.Stmt{}}
}

// queryRow runs a `?`-placeholder query through its prepared statement.
//
// On PostgreSQL the driver prepares and caches statements per connection,
// and drops them when a rebuild swaps tables, so the query goes straight
// to the pool.
func (s *statements) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s.db.Dialect != projections.SQLite {
		return s.db.QueryRowContext(ctx, s.db.Dialect.Rebind(query), args...)
	}
	s.mu.RLock()
	st := s.m[query]
	s.mu.RUnlock()
	if st == nil {
		var err error
		st, err = s.db.PrepareContext(ctx, s.db.Dialect.Rebind(query))
		if err != nil {
			// The table may not exist yet (projection not set up): answer
			// through an unprepared query, which reports the same error.
			return s.db.QueryRowContext(ctx, s.db.Dialect.Rebind(query), args...)
		}
		s.mu.Lock()
		if prev := s.m[query]; prev != nil {
			st.Close()
			st = prev
		} else {
			s.m[query] = st
		}
		s.mu.Unlock()
	}
	// A lookup by key takes microseconds; with a context that can be
	// cancelled, database/sql and the driver would each start a goroutine
	// per query to watch it (5% of a read's CPU under a load of lock reads).
	return st.QueryRowContext(context.WithoutCancel(ctx), args...)
}
