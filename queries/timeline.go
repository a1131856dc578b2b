package queries

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/timeline"
)

// Activity reads the activity feed.
type Activity struct {
	db *projections.DB
}

// NewActivity returns a reader over the activity feed.
func NewActivity(db *projections.DB) *Activity { return &Activity{db: db} }

// ActivityFilter narrows the feed within an account.
type ActivityFilter struct {
	// PropertyID keeps one property's entries ("" for all).
	PropertyID string
	// PropertyIDs, when not nil, keeps only these properties' entries (a
	// property-scoped caller).
	PropertyIDs []string
}

// List returns one page of the feed, newest first; page.After is the log
// position the previous page ended at, so entries appended meanwhile never
// shift a later page.
func (q *Activity) List(ctx context.Context, accountID string, f ActivityFilter, page Page) ([]timeline.Entry, string, error) {
	query := `SELECT position, at, actor, action, subject, property_id, details FROM ` + timeline.Table + ` WHERE account_id = ?`
	args := []any{accountID}
	if page.After > 0 {
		query += ` AND position < ?`
		args = append(args, int64(page.After))
	}
	if f.PropertyID != "" {
		query += ` AND property_id = ?`
		args = append(args, f.PropertyID)
	}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return []timeline.Entry{}, "", nil
		}
		query += ` AND property_id IN (?` + strings.Repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	query += ` ORDER BY position DESC LIMIT ?`
	args = append(args, page.Size+1)
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("activity feed: %w", err)
	}
	defer rows.Close()
	out := []timeline.Entry{}
	var positions []uint64
	for rows.Next() {
		var e timeline.Entry
		var pos int64
		var at, details string
		if err := rows.Scan(&pos, &at, &e.Actor, &e.Action, &e.Subject, &e.PropertyID, &details); err != nil {
			return nil, "", fmt.Errorf("activity feed: %w", err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, "", fmt.Errorf("activity feed at %d: %w", pos, err)
		}
		e.Details = json.RawMessage(details)
		out = append(out, e)
		positions = append(positions, uint64(pos))
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("activity feed: %w", err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(positions[page.Size-1])
	}
	return out, next, nil
}
