package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/firmware"
	"github.com/accessd/accessd/projections/keymaps"
)

// LockDocument is a lock as GET /locks/{lockId} answers it, read in one
// query: its document with the private part (JSON), without it (Public),
// and the version the key-map projection gave its key map (0: none yet).
// The entities read model stores 0 as the private keyMapVersion; the
// caller sets the real one.
type LockDocument struct {
	Document
	Public        json.RawMessage
	KeyMapVersion uint64
	// FirmwareAssigned: the account has a firmware version assigned
	// somewhere, so the lock may have a required one (Firmware.RequiredFor).
	FirmwareAssigned bool
}

// GetLock returns the live lock id of account, from the cache when the
// read models have not changed since it was read (see CacheLocks). The
// caller must not modify the document's bytes: the cache shares them.
func (q *Entities) GetLock(ctx context.Context, accountID, id string) (LockDocument, error) {
	count, cacheable := q.locks.count()
	if cacheable {
		if d, ok := q.locks.get(id, count); ok {
			if d.AccountID != accountID {
				return LockDocument{}, lockNotFound(id)
			}
			return d, nil
		}
	}
	d, err := q.readLock(ctx, id)
	if err != nil {
		return d, err
	}
	if cacheable {
		q.locks.put(id, count, d)
	}
	if d.AccountID != accountID {
		return LockDocument{}, lockNotFound(id)
	}
	return d, nil
}

func lockNotFound(id string) error {
	return fmt.Errorf("%s %s: %w", entities.KindLock, id, ErrEntityNotFound)
}

// readLock reads live lock id, whatever its account. Both read models run
// in one transaction per batch, so the document and the version are of
// the same log position.
func (q *Entities) readLock(ctx context.Context, id string) (LockDocument, error) {
	d := LockDocument{Document: Document{Row: entities.Row{Kind: entities.KindLock, ID: id}}}
	var private, public string
	var pos, version, assigned int64
	// Whether the account assigns firmware anywhere comes with the lock:
	// most do not, and their lock reads then need no second query for the
	// required version.
	err := q.stmts.queryRow(ctx, `SELECT e.account_id, e.property_id, e.parent_id, e.position, e.state, e.doc, e.public,
			COALESCE(k.version, 0),
			CASE WHEN EXISTS (SELECT 1 FROM `+firmware.TableAssignments+` x WHERE x.account_id = e.account_id AND x.version <> '') THEN 1 ELSE 0 END
		FROM `+entities.Table+` e LEFT JOIN `+keymaps.TableLocks+` k ON k.lock_id = e.id AND k.account_id = e.account_id AND k.deleted = 0
		WHERE e.kind = ? AND e.id = ? AND e.state <> ?`, entities.KindLock, id, entities.StateDeleted).
		Scan(&d.AccountID, &d.PropertyID, &d.ParentID, &pos, &d.State, &private, &public, &version, &assigned)
	if errors.Is(err, sql.ErrNoRows) {
		return d, lockNotFound(id)
	}
	if err != nil {
		return d, fmt.Errorf("get %s: %w", entities.KindLock, err)
	}
	d.Position, d.JSON, d.Public, d.KeyMapVersion = uint64(pos), json.RawMessage(private), json.RawMessage(public), uint64(version)
	d.FirmwareAssigned = assigned != 0
	return d, nil
}
