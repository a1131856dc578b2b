package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
)

// Entities reads entity documents.
type Entities struct {
	db    *projections.DB
	stmts *statements
	locks *lockCache // nil: GetLock always reads the database
}

// NewEntities returns a reader over the entities read model.
func NewEntities(db *projections.DB) *Entities { return &Entities{db: db, stmts: newStatements(db)} }

// ErrEntityNotFound is the 404 for an id that does not exist, was deleted,
// or belongs to another account: the three are indistinguishable.
var ErrEntityNotFound = domain.NewError(domain.ErrNotFound, "not found")

// Document is one entity as stored: its row and its JSON.
type Document struct {
	entities.Row
	JSON json.RawMessage
}

// Get returns the live document of kind with id in account; withPrivate
// selects the document with its private part.
func (q *Entities) Get(ctx context.Context, kind, accountID, id string, withPrivate bool) (Document, error) {
	col := "public"
	if withPrivate {
		col = "doc"
	}
	d := Document{Row: entities.Row{Kind: kind, ID: id}}
	var raw string
	var pos int64
	err := q.stmts.queryRow(ctx, `SELECT account_id, property_id, parent_id, position, state, `+col+`
		FROM `+entities.Table+` WHERE kind = ? AND id = ? AND state <> ?`, kind, id, entities.StateDeleted).
		Scan(&d.AccountID, &d.PropertyID, &d.ParentID, &pos, &d.State, &raw)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && d.AccountID != accountID) {
		return d, fmt.Errorf("%s %s: %w", kind, id, ErrEntityNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("get %s: %w", kind, err)
	}
	d.Position, d.JSON = uint64(pos), json.RawMessage(raw)
	return d, nil
}

// ListFilter narrows a list within an account. Empty fields match all.
type ListFilter struct {
	PropertyID string
	// PropertyIDs limits the list to these properties (a property-scoped
	// caller); nil means every property.
	PropertyIDs []string
	ParentID    string
}

// List returns one page of live documents of kind in account, oldest first,
// and the token of the next page ("" on the last).
func (q *Entities) List(ctx context.Context, kind, accountID string, f ListFilter, page Page, withPrivate bool) ([]Document, string, error) {
	col := "public"
	if withPrivate {
		col = "doc"
	}
	query := `SELECT id, account_id, property_id, parent_id, position, state, ` + col + ` FROM ` + entities.Table +
		` WHERE kind = ? AND account_id = ? AND state <> ? AND position > ?`
	args := []any{kind, accountID, entities.StateDeleted, int64(page.After)}
	if f.PropertyID != "" {
		query += ` AND property_id = ?`
		args = append(args, f.PropertyID)
	}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return nil, "", nil
		}
		query += ` AND property_id IN (?` + repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	if f.ParentID != "" {
		query += ` AND parent_id = ?`
		args = append(args, f.ParentID)
	}
	query += ` ORDER BY position LIMIT ?`
	args = append(args, page.Size+1)
	return q.page(ctx, "list "+kind, kind, page, query, args...)
}

// Count returns how many live documents of kind match the filter.
func (q *Entities) Count(ctx context.Context, kind, accountID string, f ListFilter) (int, error) {
	query := `SELECT COUNT(*) FROM ` + entities.Table + ` WHERE kind = ? AND account_id = ? AND state <> ?`
	args := []any{kind, accountID, entities.StateDeleted}
	if f.PropertyID != "" {
		query += ` AND property_id = ?`
		args = append(args, f.PropertyID)
	}
	if f.ParentID != "" {
		query += ` AND parent_id = ?`
		args = append(args, f.ParentID)
	}
	var n int
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(query), args...).Scan(&n)
	return n, err
}

// byLookupSQL is ByLookup's query: lookup, kind, and the deleted state.
const byLookupSQL = `SELECT id, account_id, property_id, parent_id, position, state, doc
	FROM ` + entities.Table + ` WHERE lookup = ? AND lookup <> '' AND kind = ? AND state <> ?`

// ByLookup returns the live document of kind whose lookup key is key,
// whatever its account (API keys by hash).
//
// The "lookup <> ”" lets SQLite use the partial lookup index, which it
// cannot prove a bound value fits; without it every API key was read to
// authenticate a request (38% of the server's CPU under the mixed load).
func (q *Entities) ByLookup(ctx context.Context, kind, key string) (Document, error) {
	d := Document{Row: entities.Row{Kind: kind, Lookup: key}}
	var raw string
	var pos int64
	err := q.stmts.queryRow(ctx, byLookupSQL, key, kind, entities.StateDeleted).
		Scan(&d.ID, &d.AccountID, &d.PropertyID, &d.ParentID, &pos, &d.State, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrEntityNotFound
	}
	if err != nil {
		return d, fmt.Errorf("lookup %s: %w", kind, err)
	}
	d.Position, d.JSON = uint64(pos), json.RawMessage(raw)
	return d, nil
}

// maxLiveIDs bounds the ids one LiveIDs query names (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const maxLiveIDs = 500

// LiveIDs returns which of ids name a live (not deleted) document of kind
// in account: the properties an API key's or a user's scoped grants still
// stand for. An id deleted, unknown or of another account is left out.
func (q *Entities) LiveIDs(ctx context.Context, kind, accountID string, ids []string) (map[string]bool, error) {
	live := make(map[string]bool, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxLiveIDs)
		args := []any{kind, accountID, entities.StateDeleted}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT id FROM `+entities.Table+
			` WHERE kind = ? AND account_id = ? AND state <> ? AND id IN (?`+repeat(",?", n-1)+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("live %s: %w", kind, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("live %s: %w", kind, err)
			}
			live[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("live %s: %w", kind, err)
		}
	}
	return live, nil
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// Children returns one page of live documents of kind whose parent is
// parentID, across accounts (the child accounts of a reseller).
func (q *Entities) Children(ctx context.Context, kind, parentID string, page Page) ([]Document, string, error) {
	return q.page(ctx, "children "+kind, kind, page, `SELECT id, account_id, property_id, parent_id, position, state, public FROM `+entities.Table+`
		WHERE kind = ? AND parent_id = ? AND state <> ? AND position > ? ORDER BY position LIMIT ?`,
		kind, parentID, entities.StateDeleted, int64(page.After), page.Size+1)
}

// page runs a list query selecting (id, account_id, property_id, parent_id,
// position, state, document) with LIMIT page.Size+1, and answers the page
// and the token of the next one ("" on the last).
func (q *Entities) page(ctx context.Context, what, kind string, page Page, query string, args ...any) ([]Document, string, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d := Document{Row: entities.Row{Kind: kind}}
		var raw string
		var pos int64
		if err := rows.Scan(&d.ID, &d.AccountID, &d.PropertyID, &d.ParentID, &pos, &d.State, &raw); err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		d.Position, d.JSON = uint64(pos), json.RawMessage(raw)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(out[len(out)-1].Position)
	}
	return out, next, nil
}
