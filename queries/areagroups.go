package queries

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections/entities"
)

// AreaGroupsWithoutArea lists, in id order after the given one, the live
// area-source user groups whose area the read model has no live document
// for (none, or a deleted one): the candidates of the orphan-area-group
// repair. A group listed may still have its area in the log (the read
// model lags, or the area is being created): the repair decides from the
// log.
func (q *Entities) AreaGroupsWithoutArea(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	t := entities.Table
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT g.id FROM `+t+` g
		WHERE g.kind = ? AND g.parent_id <> '' AND g.state <> ? AND g.id > ?
			AND NOT EXISTS (SELECT 1 FROM `+t+` a WHERE a.kind = ? AND a.id = g.parent_id AND a.state <> ?)
		ORDER BY g.id LIMIT ?`),
		entities.KindGroup, entities.StateDeleted, after.String(), entities.KindArea, entities.StateDeleted, limit)
	if err != nil {
		return nil, fmt.Errorf("area groups without area: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("area groups without area: %w", err)
		}
		gid, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("area groups without area: group id %q: %w", id, err)
		}
		out = append(out, gid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("area groups without area: %w", err)
	}
	return out, nil
}
