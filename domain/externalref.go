package domain

import (
	"fmt"
	"time"
)

// ExternalRef links an entity to its record in another system (the
// reference's ExternalRef).
type ExternalRef struct {
	ID            string `json:"id"`
	Source        string `json:"source"`
	SyncDirection string `json:"syncDirection,omitempty"`
	SyncStatus    string `json:"syncStatus,omitempty"`
	SyncSchedule  string `json:"syncSchedule,omitempty"`
	// LastSyncDate is nil when not given; 0001-01-01T00:00:00Z (time.Time's
	// zero) is a date as any other.
	LastSyncDate *time.Time `json:"lastSyncDate,omitempty"`
}

// MaxExternalRefs bounds the links one entity keeps.
const MaxExternalRefs = 50

// ValidateExternalRefs checks each link: an id and a source, the
// reference's values for syncDirection and syncStatus when given, and a
// lastSyncDate that JSON can carry.
func ValidateExternalRefs(field string, refs []ExternalRef) error {
	if len(refs) > MaxExternalRefs {
		return InvalidField(field, fmt.Sprintf("at most %d entries", MaxExternalRefs))
	}
	for i, r := range refs {
		at := fmt.Sprintf("%s[%d]", field, i)
		if err := ValidateName(at+".id", r.ID); err != nil {
			return err
		}
		if err := ValidateName(at+".source", r.Source); err != nil {
			return err
		}
		switch r.SyncDirection {
		case "", "fromExternalToInternal", "fromInternalToExternal":
		default:
			return InvalidField(at+".syncDirection", `must be "fromExternalToInternal" or "fromInternalToExternal"`)
		}
		switch r.SyncStatus {
		case "", "disabled", "pending", "failed", "synced":
		default:
			return InvalidField(at+".syncStatus", `must be "disabled", "pending", "failed" or "synced"`)
		}
		if err := ValidateText(at+".syncSchedule", r.SyncSchedule, MaxNameLength); err != nil {
			return err
		}
		if r.LastSyncDate != nil {
			if err := ValidateInstant(at+".lastSyncDate", *r.LastSyncDate); err != nil {
				return err
			}
		}
	}
	return nil
}

// CloneExternalRefs copies refs with every lastSyncDate in UTC, as events
// keep them. Nil stays nil.
func CloneExternalRefs(refs []ExternalRef) []ExternalRef {
	if refs == nil {
		return nil
	}
	out := make([]ExternalRef, len(refs))
	for i, r := range refs {
		if r.LastSyncDate != nil {
			utc := r.LastSyncDate.UTC()
			r.LastSyncDate = &utc
		}
		out[i] = r
	}
	return out
}

// EqualExternalRefs reports whether a and b hold the same links in the same
// order (instants compared as instants; nil equals empty).
func EqualExternalRefs(a, b []ExternalRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Source != y.Source || x.SyncDirection != y.SyncDirection ||
			x.SyncStatus != y.SyncStatus || x.SyncSchedule != y.SyncSchedule || !equalInstants(x.LastSyncDate, y.LastSyncDate) {
			return false
		}
	}
	return true
}

// equalInstants reports whether a and b are both nil or the same instant.
func equalInstants(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
