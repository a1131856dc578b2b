// Package firmware holds the lock firmware an account uploads and where it
// is assigned. Two aggregates: a Version (one per account and version
// string: its size and sha256; the bytes live outside the log, addressed
// by the hash) and an Assignment (one per account and target: a lock, an
// area, a property or the whole account, and the version assigned there).
// An assignment has its own stream so that assigning and unassigning a
// target is decided against that target's current version, whichever
// version it is.
package firmware

import (
	"fmt"
	"regexp"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Stream categories: `firmware-<id>` for versions, `firmwareassignment-<id>`
// for targets. Both ids are derived (VersionID, TargetID), since a version
// is named by text and firmware is per account.
const (
	Category           = "firmware"
	AssignmentCategory = "firmwareassignment"
)

// MaxVersionLength bounds a version string.
const MaxVersionLength = 64

var versionPattern = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)

// DeviceType is the kind of device a firmware is for.
type DeviceType string

// DeviceLock is the only device type the reference knows.
const DeviceLock DeviceType = "Lock"

// Scope says what a version is assigned to.
type Scope string

// The scopes of the reference, nearest first: a lock's own assignment wins
// over its area's, which wins over its property's, which wins over the
// account's global one.
const (
	ScopeLock     Scope = "lock"
	ScopeArea     Scope = "area"
	ScopeProperty Scope = "property"
	ScopeGlobal   Scope = "global"
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool {
	return s == ScopeLock || s == ScopeArea || s == ScopeProperty || s == ScopeGlobal
}

// IDField is the input field naming the target of a scope (`lockId`,
// `areaId`, `propertyId`); global has none.
func (s Scope) IDField() string {
	switch s {
	case ScopeLock:
		return "lockId"
	case ScopeArea:
		return "areaId"
	case ScopeProperty:
		return "propertyId"
	}
	return ""
}

// Errors of the aggregates' decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "firmware version not found")
	// ErrOtherBytes: the version was uploaded before with other content.
	ErrOtherBytes = domain.NewError(domain.ErrConflict, "this firmware version was uploaded with other content; upload it under a new version")
)

// ValidateVersion checks a version string: 1 to 64 letters, digits, dots
// and dashes, and not `.` or `..`: a version is a segment of its routes'
// paths, and those two are cleaned away there (sent as %2e%2e, one could be
// uploaded but never fetched again).
func ValidateVersion(field, v string) error {
	if v == "" {
		return domain.InvalidField(field, "is required")
	}
	if !versionPattern.MatchString(v) {
		return domain.InvalidField(field, fmt.Sprintf("must be 1 to %d letters, digits, dots or dashes", MaxVersionLength))
	}
	if v == "." || v == ".." {
		return domain.InvalidField(field, `must not be "." or "..", which cannot be a segment of a URL path`)
	}
	return nil
}

// RecordedVersionValid reports whether v is a version the log may hold:
// ValidateVersion's characters, `.` and `..` included, which were
// accepted before they were refused.
func RecordedVersionValid(v string) bool { return versionPattern.MatchString(v) }

// Target is where a version is assigned: a scope and, but for global, the
// id of the lock, area or property.
type Target struct {
	Scope Scope
	ID    uuid.UUID
}

// Validate checks that the scope is known and names an id exactly when it
// needs one.
func (t Target) Validate() error {
	if !t.Scope.Valid() {
		return domain.InvalidField("scope", `must be "lock", "area", "property" or "global"`)
	}
	if t.Scope == ScopeGlobal {
		if t.ID != uuid.Nil {
			return domain.InvalidField("scope", "global takes no lockId, areaId or propertyId")
		}
		return nil
	}
	return domain.RequireID(t.Scope.IDField(), t.ID)
}

// ids spreads the target over the three id fields events carry.
func (t Target) ids() (lockID, areaID, propertyID uuid.UUID) {
	switch t.Scope {
	case ScopeLock:
		lockID = t.ID
	case ScopeArea:
		areaID = t.ID
	case ScopeProperty:
		propertyID = t.ID
	}
	return lockID, areaID, propertyID
}

// targetOf is the inverse of ids.
func targetOf(scope Scope, lockID, areaID, propertyID uuid.UUID) Target {
	switch scope {
	case ScopeLock:
		return Target{Scope: scope, ID: lockID}
	case ScopeArea:
		return Target{Scope: scope, ID: areaID}
	case ScopeProperty:
		return Target{Scope: scope, ID: propertyID}
	}
	return Target{Scope: scope}
}

// namespace seeds the derived ids of firmware streams.
var namespace = uuid.MustParse("5b0c2f6e-8d3a-4f0e-b1f6-2c9a7e4d8a10")

// VersionID is the id of the stream of a version of an account.
func VersionID(accountID uuid.UUID, version string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("version\x00"+accountID.String()+"\x00"+version))
}

// TargetID is the id of the assignment stream of a target of an account.
func TargetID(accountID uuid.UUID, t Target) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("target\x00"+accountID.String()+"\x00"+string(t.Scope)+"\x00"+t.ID.String()))
}
