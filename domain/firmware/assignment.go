package firmware

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Assignment is a target's firmware assignment as its events left it: the
// version assigned there, or none.
type Assignment struct {
	accountID uuid.UUID
	target    Target
	version   string
}

// Version is the version assigned at the target; empty for none.
func (a Assignment) Version() string { return a.version }

// AccountID is the account of the target (uuid.Nil before the first
// event).
func (a Assignment) AccountID() uuid.UUID { return a.accountID }

// Target is the assignment's target (zero before the first event).
func (a Assignment) Target() Target { return a.target }

// Assign makes Version the one required at Target. The handler has
// checked that the version was uploaded and that the target exists, both
// in AccountID.
type Assign struct {
	AccountID uuid.UUID
	Target    Target
	Version   string
}

// Decide records FirmwareVersionAssigned; nothing when the version is
// already the one assigned there.
func (c Assign) Decide(s Assignment, _ time.Time) ([]domain.Event, error) {
	if c.AccountID == uuid.Nil {
		return nil, domain.InvalidField("accountId", "is required")
	}
	if err := ValidateVersion("version", c.Version); err != nil {
		return nil, err
	}
	if err := c.Target.Validate(); err != nil {
		return nil, err
	}
	if s.version == c.Version {
		return nil, nil
	}
	lockID, areaID, propertyID := c.Target.ids()
	return []domain.Event{FirmwareVersionAssigned{
		AccountID: c.AccountID, FirmwareVersion: c.Version, Scope: c.Target.Scope,
		LockID: lockID, AreaID: areaID, PropertyID: propertyID, PreviousFirmwareVersion: s.version,
	}}, nil
}

// Unassign removes the target's own version, so the next scope out
// applies to it again.
type Unassign struct {
	AccountID uuid.UUID
	Target    Target
}

// Decide records FirmwareVersionUnassigned; nothing when no version is
// assigned there.
func (c Unassign) Decide(s Assignment, _ time.Time) ([]domain.Event, error) {
	if c.AccountID == uuid.Nil {
		return nil, domain.InvalidField("accountId", "is required")
	}
	if err := c.Target.Validate(); err != nil {
		return nil, err
	}
	if s.version == "" {
		return nil, nil
	}
	lockID, areaID, propertyID := c.Target.ids()
	return []domain.Event{FirmwareVersionUnassigned{
		AccountID: c.AccountID, FirmwareVersion: s.version, Scope: c.Target.Scope,
		LockID: lockID, AreaID: areaID, PropertyID: propertyID,
	}}, nil
}

// EvolveAssignment applies one event to a target's assignment.
func EvolveAssignment(s Assignment, e domain.Event) Assignment {
	switch e := e.(type) {
	case FirmwareVersionAssigned:
		s.accountID, s.target, s.version = e.AccountID, e.Target(), e.FirmwareVersion
	case FirmwareVersionUnassigned:
		s.accountID, s.target, s.version = e.AccountID, e.Target(), ""
	}
	return s
}
