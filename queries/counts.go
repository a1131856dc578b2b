package queries

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections/entities"
)

// InstalledLocks counts the account's live locks still in a property, in
// one of its areas or not (commands.Counts).
func (q *Entities) InstalledLocks(ctx context.Context, accountID, propertyID uuid.UUID) (int, error) {
	n, err := q.Count(ctx, entities.KindLock, accountID.String(), ListFilter{PropertyID: propertyID.String()})
	if err != nil {
		return 0, fmt.Errorf("count locks in property %s: %w", propertyID, err)
	}
	return n, nil
}

// AreaChildren counts the account's live locks installed in an area and
// its live areas directly under it (commands.Counts).
func (q *Entities) AreaChildren(ctx context.Context, accountID, areaID uuid.UUID) (locks, subAreas int, err error) {
	f := ListFilter{ParentID: areaID.String()}
	if locks, err = q.Count(ctx, entities.KindLock, accountID.String(), f); err != nil {
		return 0, 0, fmt.Errorf("count locks in area %s: %w", areaID, err)
	}
	if subAreas, err = q.Count(ctx, entities.KindArea, accountID.String(), f); err != nil {
		return 0, 0, fmt.Errorf("count sub-areas of area %s: %w", areaID, err)
	}
	return locks, subAreas, nil
}
