package keymaps_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/projections/keymaps"
)

// TestLockVersionsMoveTogetherPerArea: a change of an area's entries
// raises the version of each live lock of the area by one and records that
// version in the lock's history; a lock that never changed stays at 0 with
// no history, a lock installed later joins at the area's entries, and a
// deprovisioned lock stays where it was.
func TestLockVersionsMoveTogetherPerArea(t *testing.T) {
	w := newWorld(t)
	lb := w.lobby(t)
	prop, ar, grp, user := lb.prop, lb.area, lb.group, lb.user
	install := func() uuid.UUID {
		l, pos := w.installLock(t, prop, ar)
		w.wait(t, pos)
		return l
	}
	membership := func(add bool) {
		if add {
			w.wait(t, w.emit(t, "group-"+grp.String(), group.UserAddedToGroup{UserGroupID: grp, AccountID: w.account, PropertyID: prop, UserID: user}))
			return
		}
		w.wait(t, w.emit(t, "group-"+grp.String(), group.UserRemovedFromGroup{UserGroupID: grp, AccountID: w.account, PropertyID: prop, UserID: user}))
	}

	l1, l2 := install(), install()
	assert.Equal(t, map[uuid.UUID]int{l1: 0, l2: 0}, w.versions(t, l1, l2), "an empty key map is version 0")
	assert.Empty(t, w.history(t, l1, l2), "version 0 has no history row")

	membership(true)
	assert.Equal(t, map[uuid.UUID]int{l1: 1, l2: 1}, w.versions(t, l1, l2))
	assert.Equal(t, 1, w.areaEntries(t, ar), "one entry: the member's phone")

	l3 := install()
	assert.Equal(t, 1, w.versions(t, l3)[l3], "a lock installed later gets the area's entries")

	membership(false)
	assert.Equal(t, map[uuid.UUID]int{l1: 2, l2: 2, l3: 2}, w.versions(t, l1, l2, l3))
	assert.Equal(t, 0, w.areaEntries(t, ar))

	w.wait(t, w.emit(t, "lock-"+l2.String(), lock.LockDeprovisioned{LockID: l2, AccountID: w.account, PropertyID: prop}))
	membership(true)
	assert.Equal(t, map[uuid.UUID]int{l1: 3, l2: 2, l3: 3}, w.versions(t, l1, l2, l3), "a deprovisioned lock stays where it was")

	assert.Equal(t, []string{
		l1.String() + "/1", l1.String() + "/2", l1.String() + "/3",
		l2.String() + "/1", l2.String() + "/2",
		l3.String() + "/1", l3.String() + "/2", l3.String() + "/3",
	}, w.history(t, l1, l2, l3), "one history row per version")
}

func (w *world) versions(t *testing.T, locks ...uuid.UUID) map[uuid.UUID]int {
	out := map[uuid.UUID]int{}
	for _, l := range locks {
		var v int
		require.NoError(t, w.db.QueryRowContext(context.Background(), w.db.Dialect.Rebind(`SELECT version FROM `+keymaps.TableLocks+` WHERE lock_id = ?`), l.String()).Scan(&v))
		out[l] = v
	}
	return out
}

// history lists "lock/version" of the locks' history rows, in lock order
// as given, then version order.
func (w *world) history(t *testing.T, locks ...uuid.UUID) []string {
	var out []string
	for _, l := range locks {
		rows, err := w.db.QueryContext(context.Background(), w.db.Dialect.Rebind(`SELECT version FROM `+keymaps.TableLockHistory+` WHERE lock_id = ? ORDER BY version`), l.String())
		require.NoError(t, err)
		for rows.Next() {
			var v string
			require.NoError(t, rows.Scan(&v))
			out = append(out, l.String()+"/"+v)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
}

func (w *world) areaEntries(t *testing.T, areaID uuid.UUID) int {
	var n int
	require.NoError(t, w.db.QueryRowContext(context.Background(), w.db.Dialect.Rebind(`SELECT count(*) FROM `+keymaps.TableAreaEntries+` WHERE area_id = ?`), areaID.String()).Scan(&n))
	return n
}
