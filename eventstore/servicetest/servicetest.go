// Package servicetest finds the real PostgreSQL and NATS servers that tests
// run against. Outside CI a missing server skips the test with a message
// saying how to provide one; under CI=true it fails the test, so CI never
// passes by skipping.
package servicetest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const (
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultNATS     = "nats://127.0.0.1:4222"
)

// PostgresURL is the URL of the test PostgreSQL server
// (ACCESSD_TEST_POSTGRES_URL, default the machine's local server).
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := envOr("ACCESSD_TEST_POSTGRES_URL", defaultPostgres)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		unavailable(t, "PostgreSQL", "ACCESSD_TEST_POSTGRES_URL", u, err)
	}
	return u
}

// PostgresSchema creates a schema of its own for one test and returns a URL
// whose connections use it (search_path); the schema is dropped at cleanup.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	name := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	return WithSearchPath(base, name)
}

// WithSearchPath returns url with its connections' search_path set to schema.
func WithSearchPath(rawURL, schema string) string {
	u, err := withParams(rawURL, map[string]string{"search_path": schema})
	if err != nil {
		return rawURL
	}
	return u
}

// withParams returns url with its query parameters set to params.
func withParams(rawURL string, params map[string]string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("test server URL %q: %w", rawURL, err)
	}
	q := u.Query()
	for name, value := range params {
		q.Set(name, value)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// NATSURL is the URL of the test NATS server with JetStream
// (ACCESSD_TEST_NATS_URL, default the machine's local server).
func NATSURL(t testing.TB) string {
	t.Helper()
	u := envOr("ACCESSD_TEST_NATS_URL", defaultNATS)
	parsed, err := url.Parse(u)
	if err == nil {
		var conn net.Conn
		conn, err = net.DialTimeout("tcp", parsed.Host, 3*time.Second)
		if err == nil {
			conn.Close()
		}
	}
	if err != nil {
		unavailable(t, "NATS", "ACCESSD_TEST_NATS_URL", u, err)
	}
	return u
}

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

func unavailable(t testing.TB, what, env, u string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not reachable at %s (%v); set %s to a server", what, u, err, env)
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skipf("skipped outside CI: %s", msg)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
