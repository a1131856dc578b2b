// Package account is the account aggregate: the tenant every entity belongs
// to. A reseller's `owner` key may register child accounts under its own.
package account

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `account-<id>`.
const Category = "account"

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "account not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "account already exists")
)

// State is an account as its events left it.
type State struct {
	id          uuid.UUID
	parentID    uuid.UUID
	displayName string
	created     bool
}

// Exists reports whether the account was created.
func (s State) Exists() bool { return s.created }

// ID is the account's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account's id; every aggregate answers it, for tenancy.
func (s State) AccountID() uuid.UUID { return s.id }

// ParentAccountID is the reseller account that registered this one, or
// uuid.Nil for a top-level account.
func (s State) ParentAccountID() uuid.UUID { return s.parentID }

// DisplayName is the account's name.
func (s State) DisplayName() string { return s.displayName }

// Create opens an account; ParentAccountID is set when a reseller
// registers it as a child.
type Create struct {
	AccountID       uuid.UUID
	DisplayName     string
	ParentAccountID uuid.UUID
}

// Decide records AccountCreated.
func (c Create) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	if c.AccountID == uuid.Nil {
		return nil, domain.InvalidField("accountId", "is required")
	}
	if c.ParentAccountID == c.AccountID {
		return nil, domain.InvalidField("parentAccountId", "an account cannot be its own parent")
	}
	if err := domain.ValidateName("displayName", c.DisplayName); err != nil {
		return nil, err
	}
	return []domain.Event{AccountCreated{AccountID: c.AccountID, DisplayName: c.DisplayName, ParentAccountID: c.ParentAccountID}}, nil
}

// Update replaces the account's writable fields (its name).
type Update struct {
	DisplayName string
}

// Decide records AccountUpdated, or nothing when nothing changes.
func (c Update) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if err := domain.ValidateName("displayName", c.DisplayName); err != nil {
		return nil, err
	}
	if c.DisplayName == s.displayName {
		return nil, nil
	}
	return []domain.Event{AccountUpdated{AccountID: s.id, DisplayName: c.DisplayName}}, nil
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case AccountCreated:
		s = State{id: e.AccountID, parentID: e.ParentAccountID, displayName: e.DisplayName, created: true}
	case AccountUpdated:
		s.displayName = e.DisplayName
	}
	return s
}
