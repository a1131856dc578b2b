package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/eventlist"
)

// Events reads the event list.
type Events struct {
	db *projections.DB
}

// NewEvents returns a reader over the event list.
func NewEvents(db *projections.DB) *Events { return &Events{db: db} }

// EventItem is one entry of GET /events.
type EventItem struct {
	EventID         string `json:"eventId"`
	EventName       string `json:"eventName"`
	PropertyID      string `json:"propertyId,omitempty"`
	AreaID          string `json:"areaId,omitempty"`
	UserGroupID     string `json:"userGroupId,omitempty"`
	LockID          string `json:"lockId,omitempty"`
	UserID          string `json:"userId,omitempty"`
	UserDeviceID    string `json:"userDeviceId,omitempty"`
	APIKeyID        string `json:"apiKeyId,omitempty"`
	KeyID           string `json:"keyId,omitempty"`
	FirmwareVersion string `json:"firmwareVersion,omitempty"`
	// Type and TypeState are "event" and "active", as every entity has
	// them; an event never changes, so LastModifiedAt is CreatedAt.
	Type           string `json:"type"`
	TypeState      string `json:"typeState"`
	CreatedAt      string `json:"createdAt"`
	LastModifiedAt string `json:"lastModifiedAt"`
	LastModifiedBy string `json:"lastModifiedBy,omitempty"`
	position       uint64
}

const eventColumns = `position, event_id, event_name, property_id, area_id, user_group_id, lock_id, user_id,
		user_device_id, api_key_id, key_id, firmware_version, created_at, last_modified_by`

// scanEvent reads a row of eventColumns.
func scanEvent(row interface{ Scan(...any) error }) (EventItem, error) {
	var e EventItem
	var pos int64
	if err := row.Scan(&pos, &e.EventID, &e.EventName, &e.PropertyID, &e.AreaID, &e.UserGroupID, &e.LockID, &e.UserID,
		&e.UserDeviceID, &e.APIKeyID, &e.KeyID, &e.FirmwareVersion, &e.CreatedAt, &e.LastModifiedBy); err != nil {
		return e, err
	}
	e.position = uint64(pos)
	e.Type, e.TypeState, e.LastModifiedAt = "event", "active", e.CreatedAt
	return e, nil
}

// EventFilter narrows GET /events within an account.
type EventFilter struct {
	// Categories are the stream categories of the event source (none: all).
	Categories []string
	// Equal maps an eventlist.IDColumns query parameter to its value.
	Equal map[string]string
	// PropertyIDs, when not nil, keeps only events of these properties (a
	// property-scoped caller).
	PropertyIDs []string
}

// List returns one page of events, newest first; page.After is the position
// the previous page ended at.
func (q *Events) List(ctx context.Context, accountID string, f EventFilter, page Page) ([]EventItem, string, error) {
	query, args, err := listEventsSQL(accountID, f, page)
	if err != nil || query == "" {
		return nil, "", err
	}
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []EventItem
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(out[len(out)-1].position)
	}
	return out, next, nil
}

// listEventsSQL is List's query and arguments; "" when nothing can match.
func listEventsSQL(accountID string, f EventFilter, page Page) (string, []any, error) {
	query := `SELECT ` + eventColumns + `
		FROM ` + eventlist.Table + ` WHERE account_id = ?`
	args := []any{accountID}
	if page.After > 0 {
		query += ` AND position < ?`
		args = append(args, int64(page.After))
	}
	switch len(f.Categories) {
	case 0:
	case 1:
		query += ` AND category = ?`
		args = append(args, f.Categories[0])
	default:
		query += ` AND category IN (?` + strings.Repeat(",?", len(f.Categories)-1) + `)`
		for _, c := range f.Categories {
			args = append(args, c)
		}
	}
	for param, value := range f.Equal {
		col, ok := eventlist.IDColumns[param]
		if !ok {
			return "", nil, fmt.Errorf("event filter %q: unknown", param)
		}
		// The "<> ''" lets SQLite use the column's partial index: it cannot
		// tell that a bound value is not empty.
		query += ` AND ` + col + ` = ? AND ` + col + ` <> ''`
		args = append(args, value)
	}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return "", nil, nil
		}
		query += ` AND property_id IN (?` + strings.Repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	query += ` ORDER BY position DESC LIMIT ?`
	args = append(args, page.Size+1)
	return query, args, nil
}

// ErrEventNotFound is the 404 for an event id that is not the account's.
var ErrEventNotFound = ErrEntityNotFound

// Find returns the log position and property of an event of the account.
func (q *Events) Find(ctx context.Context, accountID, eventID string) (position uint64, propertyID string, err error) {
	var pos int64
	err = q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT position, property_id FROM `+eventlist.Table+`
		WHERE event_id = ? AND account_id = ?`), eventID, accountID).Scan(&pos, &propertyID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("event %s: %w", eventID, ErrEventNotFound)
	}
	if err != nil {
		return 0, "", fmt.Errorf("find event: %w", err)
	}
	return uint64(pos), propertyID, nil
}

// Get returns one event of the account as the list shows it.
func (q *Events) Get(ctx context.Context, accountID, eventID string) (EventItem, error) {
	e, err := scanEvent(q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT `+eventColumns+` FROM `+eventlist.Table+`
		WHERE event_id = ? AND account_id = ?`), eventID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("event %s: %w", eventID, ErrEventNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("get event: %w", err)
	}
	return e, nil
}
