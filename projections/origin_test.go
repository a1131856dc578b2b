package projections

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

func headAt(pos uint64) func(context.Context) (uint64, error) {
	return func(context.Context) (uint64, error) { return pos, nil }
}

func setCheckpoint(t *testing.T, db *DB, pos uint64) {
	t.Helper()
	require.NoError(t, db.Update(t.Context(), func(tx Tx) error {
		if err := ensureCheckpointTable(t.Context(), tx); err != nil {
			return err
		}
		return writeCheckpoint(t.Context(), tx, "things", 1, pos)
	}))
}

func dropOrigin(t *testing.T, db *DB) {
	t.Helper()
	_, err := db.ExecContext(t.Context(), `DROP TABLE `+originTable)
	require.NoError(t, err)
}

// TestOrigin: read models take the identity of the first log and key that
// claim them, refuse any other, and adopt a log without one recorded
// unless they have applied events the log does not hold.
func TestOrigin(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *DB{
		"sqlite":   openTestSQLite,
		"postgres": func(t *testing.T) *DB { return openPostgresDB(t, servicetest.PostgresSchema(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := open(t)
			a := Origin{LogID: "log-a", KeyFingerprint: "key-a", Head: headAt(0)}

			// Fresh read models take the log's identity; the same log and
			// key are let in again, read-only or not.
			require.NoError(t, db.ClaimOrigin(ctx, a))
			require.NoError(t, db.ClaimOrigin(ctx, a))
			require.NoError(t, db.CheckOrigin(ctx, a))

			// Another log, or another key, is refused.
			for _, o := range []Origin{
				{LogID: "log-b", KeyFingerprint: "key-a", Head: headAt(0)},
				{LogID: "log-b", Head: headAt(0)},
			} {
				require.ErrorIs(t, db.ClaimOrigin(ctx, o), ErrOtherLog)
				require.ErrorIs(t, db.CheckOrigin(ctx, o), ErrOtherLog)
			}
			otherKey := Origin{LogID: "log-a", KeyFingerprint: "key-b", Head: headAt(0)}
			require.ErrorIs(t, db.ClaimOrigin(ctx, otherKey), ErrOtherKey)
			require.ErrorIs(t, db.CheckOrigin(ctx, otherKey), ErrOtherKey)

			// The signing key: read models that have none recorded take
			// the first one; another is refused, none is not compared.
			signed := Origin{LogID: "log-a", KeyFingerprint: "key-a", SigningKey: "pub-a", Head: headAt(0)}
			require.NoError(t, db.CheckOrigin(ctx, Origin{LogID: "log-a", SigningKey: "pub-z", Head: headAt(0)}), "read-only records nothing")
			require.NoError(t, db.ClaimOrigin(ctx, signed))
			require.NoError(t, db.ClaimOrigin(ctx, signed))
			require.NoError(t, db.ClaimOrigin(ctx, a))
			otherSigner := Origin{LogID: "log-a", KeyFingerprint: "key-a", SigningKey: "pub-b", Head: headAt(0)}
			require.ErrorIs(t, db.ClaimOrigin(ctx, otherSigner), ErrOtherSigningKey)
			require.ErrorIs(t, db.CheckOrigin(ctx, otherSigner), ErrOtherSigningKey)

			// Read models built before identities were recorded: adopted
			// by a log that holds what they applied...
			setCheckpoint(t, db, 7)
			dropOrigin(t, db)
			require.NoError(t, db.CheckOrigin(ctx, Origin{LogID: "log-c", Head: headAt(7)}))
			// ...refused by an empty log, or one that ends before it.
			for _, head := range []uint64{0, 6} {
				err := db.ClaimOrigin(ctx, Origin{LogID: "log-c", KeyFingerprint: "key-c", Head: headAt(head)})
				var oe *OriginError
				require.True(t, errors.As(err, &oe), "%v", err)
				require.ErrorIs(t, err, ErrOtherLog)
				require.Equal(t, uint64(7), oe.Checkpoint)
			}
			require.NoError(t, db.ClaimOrigin(ctx, Origin{LogID: "log-c", KeyFingerprint: "key-c", Head: headAt(9)}))
			// Once adopted, the identity decides.
			require.ErrorIs(t, db.ClaimOrigin(ctx, Origin{LogID: "log-a", Head: headAt(9)}), ErrOtherLog)
			require.NoError(t, db.ClaimOrigin(ctx, Origin{LogID: "log-c", KeyFingerprint: "key-c", Head: headAt(9)}))

			// A log without an identity (KurrentDB) is still held to the
			// checkpoints.
			dropOrigin(t, db)
			require.ErrorIs(t, db.ClaimOrigin(ctx, Origin{Head: headAt(0)}), ErrOtherLog)
			require.NoError(t, db.ClaimOrigin(ctx, Origin{Head: headAt(7)}))
		})
	}
}

func openPostgresDB(t *testing.T, url string) *DB {
	t.Helper()
	db, err := OpenPostgres(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
