package area

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// AccessType says whom an access-list entry admits.
type AccessType string

// The access types of the reference.
const (
	// AccessGroup admits the members of a user group.
	AccessGroup AccessType = "group"
	// AccessArea admits the members of another area's own group.
	AccessArea AccessType = "area"
)

// MaxAccessList bounds the entries of one access list.
const MaxAccessList = 100

// AccessEntry grants the members of a group, or of an area's own group,
// access to an area and its sub-areas, when Schedule admits (nil: always).
type AccessEntry struct {
	AccessType  AccessType       `json:"accessType"`
	UserGroupID uuid.UUID        `json:"userGroupId,omitzero"`
	AreaID      uuid.UUID        `json:"areaId,omitzero"`
	Schedule    *domain.Schedule `json:"schedule"`
}

// Clone is a deep copy, its schedule in the form events carry.
func (e AccessEntry) Clone() AccessEntry {
	e.Schedule = e.Schedule.Clone()
	return e
}

// Equal reports whether e and o grant the same thing.
func (e AccessEntry) Equal(o AccessEntry) bool {
	return e.AccessType == o.AccessType && e.UserGroupID == o.UserGroupID && e.AreaID == o.AreaID &&
		e.Schedule.Equal(o.Schedule)
}

func cloneList(list []AccessEntry) []AccessEntry {
	out := make([]AccessEntry, len(list))
	for i, e := range list {
		out[i] = e.Clone()
	}
	return out
}

func equalLists(a, b []AccessEntry) bool {
	return slices.EqualFunc(a, b, AccessEntry.Equal)
}

// validateList checks the shape of every entry (ErrInvalid, naming
// accessList[i]....), then that each names a group or area the handler
// found in the area's property (ErrUnprocessable).
func validateList(list []AccessEntry, knownGroups, knownAreas []uuid.UUID) error {
	if len(list) > MaxAccessList {
		return domain.InvalidField("accessList", fmt.Sprintf("at most %d entries", MaxAccessList))
	}
	for i, e := range list {
		at := fmt.Sprintf("accessList[%d]", i)
		switch e.AccessType {
		case AccessGroup:
			if err := domain.RequireID(at+".userGroupId", e.UserGroupID); err != nil {
				return err
			}
			if e.AreaID != uuid.Nil {
				return domain.InvalidField(at+".areaId", `is only for accessType "area"`)
			}
		case AccessArea:
			if err := domain.RequireID(at+".areaId", e.AreaID); err != nil {
				return err
			}
			if e.UserGroupID != uuid.Nil {
				return domain.InvalidField(at+".userGroupId", `is only for accessType "group"`)
			}
		default:
			return domain.InvalidField(at+".accessType", `must be "group" or "area"`)
		}
		if err := e.Schedule.Validate(at + ".schedule"); err != nil {
			return err
		}
	}
	for i, e := range list {
		at := fmt.Sprintf("accessList[%d]", i)
		if e.AccessType == AccessGroup && !slices.Contains(knownGroups, e.UserGroupID) {
			return ErrUnknownGroup.At(at + ".userGroupId")
		}
		if e.AccessType == AccessArea && !slices.Contains(knownAreas, e.AreaID) {
			return ErrUnknownArea.At(at + ".areaId")
		}
	}
	return nil
}
