package commands

import (
	"context"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
)

// UploadFirmware records a firmware version whose bytes the caller has
// stored, content-addressed by SHA256 (lowercase hex).
type UploadFirmware struct {
	Version string
	Size    int64
	SHA256  string
}

// UploadedFirmware says what an upload recorded.
type UploadedFirmware struct {
	// Created is false when the version was there with the same bytes.
	Created bool
	Result
}

// AuthorizeFirmwareUpload checks, before a handler reads an upload's
// bytes, that the actor may upload firmware: `manage-firmware` (or
// `owner`) for the whole account, as a version is the account's.
func AuthorizeFirmwareUpload(ctx context.Context) error {
	_, err := authorize(ctx, uuid.Nil, domain.PermManageFirmware)
	return err
}

// UploadFirmware records a version of lock firmware in the actor's
// account. The same version with the same bytes records nothing; with
// other bytes it is a conflict. Needs `manage-firmware` (or `owner`) for
// the whole account.
func (s *Service) UploadFirmware(ctx context.Context, c UploadFirmware) (UploadedFirmware, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermManageFirmware)
	if err != nil {
		return UploadedFirmware{}, err
	}
	if err := firmware.ValidateVersion("version", c.Version); err != nil {
		return UploadedFirmware{}, err
	}
	res, err := Run(ctx, s.p, firmwareAgg, firmware.VersionID(actor.AccountID, c.Version), "UploadFirmwareVersion", firmware.Upload{
		AccountID: actor.AccountID, Version: c.Version, DeviceType: firmware.DeviceLock, Size: c.Size, SHA256: c.SHA256,
	})
	if err != nil {
		return UploadedFirmware{}, err
	}
	return UploadedFirmware{Created: len(res.Events) > 0, Result: res}, nil
}

// AssignFirmware makes an uploaded version the one required at a target:
// a lock, an area (and the areas under it), a property, or the whole
// account (global). The version and the target must exist in the actor's
// account (404 otherwise). Needs `manage-firmware` (or `owner`) for the
// target's property; for global, and for a lock in no property, for the
// whole account.
func (s *Service) AssignFirmware(ctx context.Context, version string, target firmware.Target) (Result, error) {
	actor, err := s.authorizeFirmwareTarget(ctx, target)
	if err != nil {
		return Result{}, err
	}
	if err := firmware.ValidateVersion("version", version); err != nil {
		return Result{}, err
	}
	v, err := Load(ctx, s.p, firmwareAgg, firmware.VersionID(actor.AccountID, version))
	if err != nil {
		return Result{}, err
	}
	if !v.State.Exists() || v.State.AccountID() != actor.AccountID {
		return Result{}, firmware.ErrNotFound
	}
	return Run(ctx, s.p, firmwareAssignmentAgg, firmware.TargetID(actor.AccountID, target), "AssignFirmwareVersion",
		firmware.Assign{AccountID: actor.AccountID, Target: target, Version: version})
}

// UnassignedFirmware says which version left a target.
type UnassignedFirmware struct {
	// Version is the version that was assigned there; empty when none was.
	Version string
	Result
}

// UnassignFirmware removes a target's own version, so the next scope out
// applies to it again; a target with none records nothing. Same
// permissions as AssignFirmware.
func (s *Service) UnassignFirmware(ctx context.Context, target firmware.Target) (UnassignedFirmware, error) {
	actor, err := s.authorizeFirmwareTarget(ctx, target)
	if err != nil {
		return UnassignedFirmware{}, err
	}
	res, err := Run(ctx, s.p, firmwareAssignmentAgg, firmware.TargetID(actor.AccountID, target), "UnassignFirmwareVersion",
		firmware.Unassign{AccountID: actor.AccountID, Target: target})
	if err != nil {
		return UnassignedFirmware{}, err
	}
	out := UnassignedFirmware{Result: res}
	for _, e := range res.Events {
		if u, ok := e.(firmware.FirmwareVersionUnassigned); ok {
			out.Version = u.FirmwareVersion
		}
	}
	return out, nil
}

// CanReadFirmware reports whether the actor may read firmware versions
// and download them: `owner`, `manage-firmware` or `support`, in any
// scope.
func CanReadFirmware(a domain.Actor) bool {
	return holdsAnyScope(a, domain.PermOwner, domain.PermManageFirmware, domain.PermSupport)
}

// authorizeFirmwareTarget checks the target and the actor's right to
// change its firmware: a caller without `manage-firmware` anywhere is
// refused first (403); a target missing from the account, or outside
// every property the caller sees, is not found (404); one the caller sees
// but may not change is 403.
func (s *Service) authorizeFirmwareTarget(ctx context.Context, target firmware.Target) (domain.Actor, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return actor, ErrNoActor
	}
	if !holdsAnyScope(actor, domain.PermManageFirmware, domain.PermOwner) {
		return actor, ErrPermission
	}
	if err := target.Validate(); err != nil {
		return actor, err
	}
	propertyID, err := s.firmwareTargetProperty(ctx, actor, target)
	if err != nil {
		return actor, err
	}
	if actor.CanAny(propertyID, domain.PermManageFirmware) {
		return actor, nil
	}
	if err := AuthorizeRead(actor, propertyID, firmwareTargetNotFound(target.Scope)); err != nil {
		return actor, err
	}
	return actor, ErrPermission
}

// firmwareTargetProperty finds the property a target is in (uuid.Nil for
// global and for a lock in no property); the target must exist in the
// actor's account.
func (s *Service) firmwareTargetProperty(ctx context.Context, actor domain.Actor, target firmware.Target) (uuid.UUID, error) {
	switch target.Scope {
	case firmware.ScopeLock:
		l, err := Load(ctx, s.p, lockAgg, target.ID)
		if err == nil && (!l.State.Exists() || l.State.AccountID() != actor.AccountID) {
			err = lock.ErrNotFound
		}
		return l.State.PropertyID(), err
	case firmware.ScopeArea:
		a, err := Load(ctx, s.p, areaAgg, target.ID)
		if err == nil && (!a.State.Exists() || a.State.AccountID() != actor.AccountID) {
			err = area.ErrNotFound
		}
		return a.State.PropertyID(), err
	case firmware.ScopeProperty:
		p, err := Load(ctx, s.p, propertyAgg, target.ID)
		if err == nil && (!p.State.Exists() || p.State.AccountID() != actor.AccountID) {
			err = property.ErrNotFound
		}
		return target.ID, err
	}
	return uuid.Nil, nil
}

// firmwareTargetNotFound is the not-found error of a target's kind.
func firmwareTargetNotFound(scope firmware.Scope) error {
	switch scope {
	case firmware.ScopeLock:
		return lock.ErrNotFound
	case firmware.ScopeArea:
		return area.ErrNotFound
	case firmware.ScopeProperty:
		return property.ErrNotFound
	}
	return ErrPermission
}
