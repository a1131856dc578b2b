package firmware

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// FirmwareVersionUploaded: an account stored a firmware version. The bytes
// are kept outside the log, addressed by SHA256 (lowercase hex).
type FirmwareVersionUploaded struct {
	AccountID       uuid.UUID  `json:"accountId"`
	FirmwareVersion string     `json:"firmwareVersion"`
	DeviceType      DeviceType `json:"deviceType"`
	Size            int64      `json:"size"`
	SHA256          string     `json:"sha256"`
}

// FirmwareVersionAssigned: a version became the one required at a target
// (a lock, an area, a property, or the account for global).
// PreviousFirmwareVersion is the one it replaced there, if any.
type FirmwareVersionAssigned struct {
	AccountID               uuid.UUID `json:"accountId"`
	FirmwareVersion         string    `json:"firmwareVersion"`
	Scope                   Scope     `json:"scope"`
	LockID                  uuid.UUID `json:"lockId,omitzero"`
	AreaID                  uuid.UUID `json:"areaId,omitzero"`
	PropertyID              uuid.UUID `json:"propertyId,omitzero"`
	PreviousFirmwareVersion string    `json:"previousFirmwareVersion,omitempty"`
}

// FirmwareVersionUnassigned: the target no longer has a version of its
// own; the next scope out applies again.
type FirmwareVersionUnassigned struct {
	AccountID       uuid.UUID `json:"accountId"`
	FirmwareVersion string    `json:"firmwareVersion"`
	Scope           Scope     `json:"scope"`
	LockID          uuid.UUID `json:"lockId,omitzero"`
	AreaID          uuid.UUID `json:"areaId,omitzero"`
	PropertyID      uuid.UUID `json:"propertyId,omitzero"`
}

// Target is where the version was assigned.
func (e FirmwareVersionAssigned) Target() Target {
	return targetOf(e.Scope, e.LockID, e.AreaID, e.PropertyID)
}

// Target is where the version was unassigned.
func (e FirmwareVersionUnassigned) Target() Target {
	return targetOf(e.Scope, e.LockID, e.AreaID, e.PropertyID)
}

// EventType names the event in the log.
func (FirmwareVersionUploaded) EventType() string { return "FirmwareVersionUploaded" }

// EventType names the event in the log.
func (FirmwareVersionAssigned) EventType() string { return "FirmwareVersionAssigned" }

// EventType names the event in the log.
func (FirmwareVersionUnassigned) EventType() string { return "FirmwareVersionUnassigned" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{FirmwareVersionUploaded{}, FirmwareVersionAssigned{}, FirmwareVersionUnassigned{}}
}
