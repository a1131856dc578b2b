package servicetest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestPostgresSchemaIsolatesTables(t *testing.T) {
	u := PostgresSchema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE probe (id int)")
	require.NoError(t, err)
	var schema string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema))
	require.Contains(t, u, schema)
}

func TestNATSReachable(t *testing.T) {
	require.NotEmpty(t, NATSURL(t))
}
