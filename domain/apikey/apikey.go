// Package apikey is the API key aggregate: a secret of an account, known to
// the domain only by its hash, with the permissions it grants. A lock's own
// key (LockID set) grants nothing but that lock's sync.
package apikey

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `apikey-<id>`.
const Category = "apikey"

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "api key not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "api key already exists")
	// ErrLockKey refuses to delete a lock's own key other than with its lock.
	ErrLockKey = domain.NewError(domain.ErrConflict, "this key belongs to a lock and goes with it")
)

// State is an API key as its events left it.
type State struct {
	id          uuid.UUID
	accountID   uuid.UUID
	lockID      uuid.UUID
	displayName string
	keyHash     string
	grants      []domain.Grant
	created     bool
	deleted     bool
}

// Exists reports whether the key was created and not deleted.
func (s State) Exists() bool { return s.created && !s.deleted }

// Deleted reports whether the key was deleted.
func (s State) Deleted() bool { return s.deleted }

// ID is the key's id (`apiKeyId`).
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the key acts for.
func (s State) AccountID() uuid.UUID { return s.accountID }

// LockID is the lock whose own key this is, or uuid.Nil.
func (s State) LockID() uuid.UUID { return s.lockID }

// DisplayName is the key's name.
func (s State) DisplayName() string { return s.displayName }

// KeyHash is the stored hash of the secret.
func (s State) KeyHash() string { return s.keyHash }

// Grants are the permissions the key holds (a copy).
func (s State) Grants() []domain.Grant { return slices.Clone(s.grants) }

// Create registers a key. The handler makes the secret, shows it once and
// passes only its hash.
type Create struct {
	APIKeyID    uuid.UUID
	AccountID   uuid.UUID
	DisplayName string
	KeyHash     string
	Permissions []domain.Grant
	// LockID is set for a lock's own key, which holds no permissions.
	LockID uuid.UUID
}

// Decide checks the key and records APIKeyCreated.
func (c Create) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	switch {
	case c.APIKeyID == uuid.Nil:
		return nil, domain.InvalidField("apiKeyId", "is required")
	case c.AccountID == uuid.Nil:
		return nil, domain.InvalidField("accountId", "is required")
	case c.KeyHash == "":
		return nil, domain.InvalidField("keyHash", "is required")
	}
	if err := domain.ValidateName("displayName", c.DisplayName); err != nil {
		return nil, err
	}
	if c.LockID != uuid.Nil {
		if len(c.Permissions) > 0 {
			return nil, domain.InvalidField("apiPermissions", "a lock's own key holds no permissions")
		}
	} else {
		if len(c.Permissions) == 0 {
			return nil, domain.InvalidField("apiPermissions", "at least one permission is required")
		}
		if err := ValidateGrants("apiPermissions", c.Permissions); err != nil {
			return nil, err
		}
	}
	return []domain.Event{APIKeyCreated{
		APIKeyID:       c.APIKeyID,
		AccountID:      c.AccountID,
		DisplayName:    c.DisplayName,
		KeyHash:        c.KeyHash,
		APIPermissions: FromGrants(c.Permissions),
		LockID:         c.LockID,
	}}, nil
}

// Delete revokes a key at once.
type Delete struct {
	// LockID must name the lock when the key is a lock's own: only the
	// lock's deprovisioning or release deletes it.
	LockID uuid.UUID
}

// Decide records APIKeyDeleted.
func (c Delete) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if c.LockID != s.lockID {
		if s.lockID != uuid.Nil {
			return nil, ErrLockKey
		}
		return nil, ErrNotFound
	}
	return []domain.Event{APIKeyDeleted{APIKeyID: s.id, AccountID: s.accountID, LockID: s.lockID}}, nil
}

// ActsOnlyAs reports whether the key holds permissions and every one of
// them is `me` for userID: a key whose only use is to act as that user.
// A lock's own key holds none.
func (s State) ActsOnlyAs(userID uuid.UUID) bool {
	if len(s.grants) == 0 || userID == uuid.Nil {
		return false
	}
	for _, g := range s.grants {
		if g.Permission != domain.PermMe || g.UserID != userID {
			return false
		}
	}
	return true
}

// DeleteWithUser is a step of a user's deletion: it deletes a key whose
// only use was to act as that user (ActsOnlyAs), which is of no use once
// the user is gone. Anything else records nothing, so the step can run
// again: a key deleted already, one of a lock, and one holding any other
// permission besides (keys cannot be edited, and deleting it would take
// its other permissions with it: whether to is the owner's call).
type DeleteWithUser struct {
	UserID uuid.UUID
}

// Decide records APIKeyDeleted for a live key that only acts as the user.
func (c DeleteWithUser) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.Exists() || !s.ActsOnlyAs(c.UserID) {
		return nil, nil
	}
	return Delete{}.Decide(s, now)
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case APIKeyCreated:
		s = State{
			id:          e.APIKeyID,
			accountID:   e.AccountID,
			lockID:      e.LockID,
			displayName: e.DisplayName,
			keyHash:     e.KeyHash,
			grants:      ToGrants(e.APIPermissions),
			created:     true,
		}
	case APIKeyDeleted:
		s.deleted = true
	}
	return s
}
