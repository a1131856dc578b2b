package projections

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A memo lives for one transaction and one set of physical tables; a Tx
// made without one keeps nothing.
func TestTxMemoLivesForOneTransaction(t *testing.T) {
	ctx := context.Background()
	db := openTestSQLite(t)

	require.NoError(t, inDBTx(ctx, db, "", func(tx Tx) error {
		tx.Memo("m")["k"] = "live"
		tx.withSuffix(RebuildSuffix).Memo("m")["k"] = "rebuild"
		assert.Equal(t, "live", tx.Memo("m")["k"], "the same map for the rest of the transaction")
		assert.Equal(t, "rebuild", tx.withSuffix(RebuildSuffix).Memo("m")["k"], "other tables, other map")
		assert.Empty(t, tx.Memo("other"))
		return nil
	}))
	require.NoError(t, inDBTx(ctx, db, "", func(tx Tx) error {
		assert.Empty(t, tx.Memo("m"), "a new transaction starts empty")
		return nil
	}))
	assert.Nil(t, Tx{}.Memo("m"))
}
