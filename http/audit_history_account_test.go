package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections/auditindex"
)

// A history reads only its account's events, even when the index files
// another account's event under the entity (the index never does: this
// is defence in depth). Here every history row of another account's lock
// is planted under one's own lock: its history still holds only its own
// events.
func TestAuditHistoryKeepsToItsAccount(t *testing.T) {
	h := newHarness(t)
	mine := h.newAuditTenant(rootKey)
	theirs := h.newAuditTenant(h.newAccount())
	before, _ := h.history("/audit/locks/" + mine.lock)
	require.NotEmpty(t, before)

	ctx := context.Background()
	rows, err := h.db.QueryContext(ctx, h.db.Dialect.Rebind(`SELECT position, recorded_at FROM `+auditindex.Table+
		` WHERE entity_id = ? AND kind = ?`), theirs.lock, auditindex.KindHistory)
	require.NoError(t, err)
	type ref struct {
		position int64
		at       string
	}
	var planted []ref
	for rows.Next() {
		var r ref
		require.NoError(t, rows.Scan(&r.position, &r.at))
		planted = append(planted, r)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.NotEmpty(t, planted, "the other account's lock has history rows")
	for _, r := range planted {
		_, err := h.db.ExecContext(ctx, h.db.Dialect.Rebind(`INSERT INTO `+auditindex.Table+
			` (entity_id, kind, position, recorded_at) VALUES (?, ?, ?, ?)`), mine.lock, auditindex.KindHistory, r.position, r.at)
		require.NoError(t, err)
	}

	after, body := h.history("/audit/locks/" + mine.lock)
	assert.NotContains(t, body, theirs.lock, "no event of the other account's lock")
	for _, it := range after {
		assert.False(t, strings.HasSuffix(it.Stream, theirs.lock), "%+v", it)
	}
	assert.Equal(t, before, after, "the same history as before the rows were planted")
}
