package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
)

func TestOpenPostgresFailsFastWhenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Port 1 on the loopback refuses connections at once.
	_, err := projections.OpenPostgres(ctx, "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable")
	require.ErrorContains(t, err, "not reachable")
	require.NotContains(t, err.Error(), "secret", "no password in errors")
}
