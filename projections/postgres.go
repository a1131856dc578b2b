package projections

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresPool is the number of pooled connections to a PostgreSQL read-model
// database: the runners' two lanes and a rebuild write, the API reads. The
// server, not this process, bounds the real concurrency, so a pool far
// larger than the cores only queues work there.
const postgresPool = 10

// postgresConnectTimeout bounds opening the database, so that an
// unreachable server fails at start with an error instead of hanging.
const postgresConnectTimeout = 10 * time.Second

// OpenPostgres opens the PostgreSQL read-model database at url (a
// postgres:// URL or a libpq keyword string; search_path selects a schema).
// Statements are prepared and cached per connection by pgx, not on the
// pool; a rebuild's swap makes every connection drop them (see
// schemaChanged), since they may name tables the swap renamed.
func OpenPostgres(ctx context.Context, rawURL string) (*DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("read models: postgres url: %w", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > postgresConnectTimeout {
		cfg.ConnectTimeout = postgresConnectTimeout
	}
	d := &DB{Dialect: Postgres}
	seen := &connGenerations{gen: map[*pgx.Conn]uint64{}}
	d.DB = stdlib.OpenDB(*cfg,
		stdlib.OptionResetSession(func(ctx context.Context, c *pgx.Conn) error {
			return seen.refresh(ctx, c, d.schemaGen.Load())
		}),
		stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
			seen.set(c, d.schemaGen.Load())
			return nil
		}))
	d.SetMaxOpenConns(postgresPool)
	d.SetMaxIdleConns(postgresPool)
	d.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, postgresConnectTimeout)
	defer cancel()
	if err := d.PingContext(pingCtx); err != nil {
		d.Close()
		return nil, fmt.Errorf("read models: postgres is not reachable: %w", err)
	}
	return d, nil
}

// connGenerations remembers, per connection, the schema generation its
// cached statements were prepared under.
type connGenerations struct {
	mu  sync.Mutex
	gen map[*pgx.Conn]uint64
}

func (g *connGenerations) set(c *pgx.Conn, gen uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen[c] = gen
}

// refresh drops c's prepared statements when the schema changed since it
// last ran: a statement prepared before a swap may describe a table the
// swap replaced, and PostgreSQL refuses a cached plan whose result changed.
func (g *connGenerations) refresh(ctx context.Context, c *pgx.Conn, gen uint64) error {
	g.mu.Lock()
	old, ok := g.gen[c]
	g.gen[c] = gen
	if len(g.gen) > 4*postgresPool {
		// Closed connections are never told apart from live ones here;
		// forgetting all is harmless (a forgotten one is refreshed once).
		g.gen = map[*pgx.Conn]uint64{c: gen}
	}
	g.mu.Unlock()
	if ok && old == gen {
		return nil
	}
	if err := c.DeallocateAll(ctx); err != nil {
		return fmt.Errorf("read models: drop prepared statements: %w", err)
	}
	return nil
}
