package personaldata

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// Scale-out servers share the keys on PostgreSQL: what one server sealed,
// another opens, and an erase on one is an erase on all.
func TestPostgresKeysAreSharedAndErasable(t *testing.T) {
	ctx := context.Background()
	dsn := servicetest.PostgresSchema(t)
	a, err := OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	defer a.Close()
	b, err := OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	defer b.Close()

	subject := uuid.New()
	var wg sync.WaitGroup
	sealed := make([]string, 8)
	for i := range sealed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			var err error
			sealed[i], err = s.Seal(ctx, subject, []byte("Ana"))
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	for _, text := range sealed {
		got, err := b.Open(ctx, subject, text)
		require.NoError(t, err, "a racing first seal gave the subject two keys")
		require.Equal(t, "Ana", string(got))
	}

	require.NoError(t, a.Erase(ctx, subject))
	_, err = b.Open(ctx, subject, sealed[0])
	require.True(t, errors.Is(err, ErrErased), "got %v", err)
	_, err = b.Seal(ctx, subject, []byte("again"))
	require.True(t, errors.Is(err, ErrErased), "an erased subject got a fresh key: %v", err)
}
