package queries

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/accesslogs"
)

// AccessLogs reads the access logs of locks, users and properties.
type AccessLogs struct {
	db *projections.DB
}

// NewAccessLogs returns a reader over the access-log read model.
func NewAccessLogs(db *projections.DB) *AccessLogs { return &AccessLogs{db: db} }

// AccessLog is one access attempt as the API shows it.
type AccessLog struct {
	LockAccessLogID        string    `json:"lockAccessLogId"`
	LockID                 string    `json:"lockId"`
	PropertyID             string    `json:"propertyId,omitempty"`
	AreaID                 string    `json:"areaId,omitempty"`
	UserGroupID            string    `json:"userGroupId,omitempty"`
	UserID                 string    `json:"userId,omitempty"`
	UserDeviceID           string    `json:"userDeviceId,omitempty"`
	AccessCodeID           string    `json:"accessCodeId,omitempty"`
	AccessKeyID            string    `json:"accessKeyId,omitempty"`
	AccessDate             time.Time `json:"accessDate"`
	RecordedAt             time.Time `json:"recordedAt"`
	Result                 string    `json:"result"`
	DenyReason             string    `json:"denyReason,omitempty"`
	DeviceSignature        string    `json:"deviceSignature,omitempty"`
	DeviceSignatureFailure bool      `json:"deviceSignatureFailure"`
	StaleCredential        bool      `json:"staleCredential"`
	FutureDate             bool      `json:"futureDate"`
	KeyMapVersion          uint64    `json:"keyMapVersion"`
}

// AccessLogFilter picks one list: exactly one of LockID, UserID and
// PropertyID is set.
type AccessLogFilter struct {
	LockID, UserID, PropertyID string
	// PropertyIDs, when not nil, keeps only the entries of these
	// properties (a caller scoped to some properties).
	PropertyIDs []string
}

// AccessLogCursor is where a page of access logs resumes: after the entry
// with this access date (stored text), log id and lock id, in the order
// newest first.
type AccessLogCursor struct {
	AccessDate, LockAccessLogID, LockID string
}

// AccessLogPage asks for at most Size entries after the cursor (nil: from
// the newest) of one list.
type AccessLogPage struct {
	Size  int
	After *AccessLogCursor
	// List is the list the page is of: the tokens it issues continue it
	// only.
	List ListKey
}

// ParseAccessLogPage reads pageSize and pageToken as the API receives them,
// for list; a token this server did not issue for list is a 400 naming
// pageToken.
func ParseAccessLogPage(size, token string, list ListKey) (AccessLogPage, error) {
	p, err := ParsePage(size, "", list)
	if err != nil {
		return AccessLogPage{}, err
	}
	page := AccessLogPage{Size: p.Size, List: list}
	if token != "" {
		cursor, err := openToken(token, accessLogPrefix, list)
		if err != nil {
			return page, err
		}
		c, _ := parseAccessLogCursor(cursor)
		page.After = &c
	}
	return page, nil
}

// Token is the opaque pageToken that resumes the page's list after c.
func (p AccessLogPage) Token(c AccessLogCursor) string {
	return seal(accessLogPrefix, c.AccessDate+"|"+c.LockAccessLogID+"|"+c.LockID, p.List)
}

// parseAccessLogCursor reads a cursor as Token writes it.
func parseAccessLogCursor(s string) (AccessLogCursor, bool) {
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return AccessLogCursor{}, false
	}
	if _, err := time.Parse(accesslogs.TimeLayout, parts[0]); err != nil || len(parts[0]) != len(accesslogs.TimeLayout) {
		return AccessLogCursor{}, false
	}
	for _, s := range parts[1:] {
		if u, err := uuid.Parse(s); err != nil || len(s) != 36 || u.String() != s {
			return AccessLogCursor{}, false
		}
	}
	return AccessLogCursor{AccessDate: parts[0], LockAccessLogID: parts[1], LockID: parts[2]}, true
}

const accessLogColumns = `lock_access_log_id, lock_id, property_id, area_id, user_group_id, user_id, user_device_id, access_code_id,
	access_key_id, access_date, recorded_at, result, deny_reason, device_signature, device_signature_failure, stale_credential,
	future_date, key_map_version`

// List returns one page of an account's access logs, newest first by
// access date, and the next page's token ("" on the last). Each list
// walks its own index from the cursor, so a page costs the same however
// many entries are stored.
func (q *AccessLogs) List(ctx context.Context, accountID string, f AccessLogFilter, page AccessLogPage) ([]AccessLog, string, error) {
	var key, value string
	switch {
	case f.LockID != "":
		key, value = "lock_id", f.LockID
	case f.UserID != "":
		key, value = "user_id", f.UserID
	case f.PropertyID != "":
		key, value = "property_id", f.PropertyID
	default:
		return nil, "", fmt.Errorf("access logs: no lock, user or property to list")
	}
	query := `SELECT ` + accessLogColumns + ` FROM ` + accesslogs.Table + ` WHERE ` + key + ` = ? AND account_id = ?`
	if key != "lock_id" {
		// Spelled out so the planner may use the partial index.
		query += ` AND ` + key + ` <> ''`
	}
	args := []any{value, accountID}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return []AccessLog{}, "", nil
		}
		query += ` AND property_id IN (?` + strings.Repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	order := ` ORDER BY access_date DESC, lock_access_log_id DESC, lock_id DESC`
	if c := page.After; c != nil {
		if key == "lock_id" {
			// One lock: (date, log id) orders its entries.
			query += ` AND (access_date, lock_access_log_id) < (?, ?)`
			args = append(args, c.AccessDate, c.LockAccessLogID)
		} else {
			query += ` AND (access_date, lock_access_log_id, lock_id) < (?, ?, ?)`
			args = append(args, c.AccessDate, c.LockAccessLogID, c.LockID)
		}
	}
	if key == "lock_id" {
		order = ` ORDER BY access_date DESC, lock_access_log_id DESC`
	}
	query += order + ` LIMIT ?`
	args = append(args, page.Size+1)
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("access logs: %w", err)
	}
	defer rows.Close()
	out := []AccessLog{}
	var last AccessLogCursor
	for rows.Next() {
		var l AccessLog
		var accessDate, recordedAt string
		var failure, stale, future int
		var version int64
		if err := rows.Scan(&l.LockAccessLogID, &l.LockID, &l.PropertyID, &l.AreaID, &l.UserGroupID, &l.UserID, &l.UserDeviceID,
			&l.AccessCodeID, &l.AccessKeyID, &accessDate, &recordedAt, &l.Result, &l.DenyReason, &l.DeviceSignature,
			&failure, &stale, &future, &version); err != nil {
			return nil, "", fmt.Errorf("access logs: %w", err)
		}
		if len(out) == page.Size {
			// The extra row only says there is a next page.
			return out, page.Token(last), nil
		}
		if l.AccessDate, err = time.Parse(accesslogs.TimeLayout, accessDate); err != nil {
			return nil, "", fmt.Errorf("access logs: stored date %q: %w", accessDate, err)
		}
		if l.RecordedAt, err = time.Parse(accesslogs.TimeLayout, recordedAt); err != nil {
			return nil, "", fmt.Errorf("access logs: stored date %q: %w", recordedAt, err)
		}
		l.DeviceSignatureFailure, l.StaleCredential, l.FutureDate, l.KeyMapVersion = failure != 0, stale != 0, future != 0, uint64(version)
		out = append(out, l)
		last = AccessLogCursor{AccessDate: accessDate, LockAccessLogID: l.LockAccessLogID, LockID: l.LockID}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("access logs: %w", err)
	}
	return out, "", nil
}
