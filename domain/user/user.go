// Package user is the user aggregate: a person of an account who may hold
// devices, belong to groups and hold permissions. Personal data reaches the
// domain only sealed with the user's own key (SealedPrivate, opaque), so
// erasing that key erases the person from every old event.
package user

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
)

// Category names the aggregate's streams: `user-<id>`.
const Category = "user"

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "user not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "user already exists")
)

// State is a user as its events left it.
type State struct {
	id            uuid.UUID
	accountID     uuid.UUID
	displayName   string
	grants        []domain.Grant
	externalRefs  []domain.ExternalRef
	sealedPrivate string
	// sealedHistory is every sealed personal data recorded, oldest first.
	sealedHistory []string
	created       bool
	deleted       bool
}

// Exists reports whether the user was created and not deleted.
func (s State) Exists() bool { return s.created && !s.deleted }

// Deleted reports whether the user was deleted.
func (s State) Deleted() bool { return s.deleted }

// ID is the user's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the user belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// DisplayName is the user's name as shown to everyone in scope.
func (s State) DisplayName() string { return s.displayName }

// Grants are the user's permissions (a copy).
func (s State) Grants() []domain.Grant { return slices.Clone(s.grants) }

// ExternalRefs are the user's links to other systems (a copy).
func (s State) ExternalRefs() []domain.ExternalRef { return domain.CloneExternalRefs(s.externalRefs) }

// SealedPrivate is the user's personal data, sealed with the user's key.
func (s State) SealedPrivate() string { return s.sealedPrivate }

// SealedPrivateHistory is every distinct personal data the user's events
// recorded, sealed with the user's key, oldest first; unlike
// SealedPrivate it is kept after the deletion. The deletion's cascade
// opens it, before the key is erased, to find what was theirs (every
// e-mail address they had). Do not show it: what a user removed from
// their personal data is no longer theirs to be shown by.
func (s State) SealedPrivateHistory() []string { return slices.Clone(s.sealedHistory) }

// withSealed adds a sealed text to the history once, copying it (a state
// may be shared: the pipeline caches states).
func withSealed(history []string, sealed string) []string {
	if sealed == "" || slices.Contains(history, sealed) {
		return history
	}
	return append(slices.Clip(history), sealed)
}

// Create adds a user to an account. The handler seals `private` (first and
// last name, e-mail, phone) with a new key of the user first.
type Create struct {
	UserID        uuid.UUID
	AccountID     uuid.UUID
	DisplayName   string
	Permissions   []domain.Grant
	ExternalRefs  []domain.ExternalRef
	SealedPrivate string
}

// Decide checks the user and records UserCreated.
func (c Create) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	switch {
	case c.UserID == uuid.Nil:
		return nil, domain.InvalidField("userId", "is required")
	case c.AccountID == uuid.Nil:
		return nil, domain.InvalidField("accountId", "is required")
	}
	if err := validFields(c.DisplayName, c.Permissions, c.ExternalRefs); err != nil {
		return nil, err
	}
	return []domain.Event{UserCreated{
		UserID:          c.UserID,
		AccountID:       c.AccountID,
		DisplayName:     c.DisplayName,
		UserPermissions: apikey.FromGrants(c.Permissions),
		ExternalRefs:    domain.CloneExternalRefs(c.ExternalRefs),
		SealedPrivate:   c.SealedPrivate,
	}}, nil
}

// Update replaces every writable field of the user.
type Update struct {
	DisplayName   string
	Permissions   []domain.Grant
	ExternalRefs  []domain.ExternalRef
	SealedPrivate string
}

// Decide records UserUpdated, or nothing when nothing changes.
func (c Update) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := validFields(c.DisplayName, c.Permissions, c.ExternalRefs, s.grants...); err != nil {
		return nil, err
	}
	if c.DisplayName == s.displayName && slices.Equal(c.Permissions, s.grants) &&
		domain.EqualExternalRefs(c.ExternalRefs, s.externalRefs) && c.SealedPrivate == s.sealedPrivate {
		return nil, nil
	}
	return []domain.Event{UserUpdated{
		UserID:          s.id,
		AccountID:       s.accountID,
		DisplayName:     c.DisplayName,
		UserPermissions: apikey.FromGrants(c.Permissions),
		ExternalRefs:    domain.CloneExternalRefs(c.ExternalRefs),
		SealedPrivate:   c.SealedPrivate,
	}}, nil
}

// SetPropertyGrants makes the user's grants scoped to one property Grants
// (none: it takes them out), keeping every other grant where it is and
// the rest of the user as it is: what a membership of the property writes
// into the user's userPermissions. Unlike Update it is not bounded by
// apikey.MaxGrants: a user has one membership per property, each writing
// a few grants, so a member of many properties may hold more than a
// request may give.
type SetPropertyGrants struct {
	PropertyID uuid.UUID
	Grants     []domain.Grant
}

// Decide records UserUpdated, or nothing when the grants are those
// already held.
func (c SetPropertyGrants) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if c.PropertyID == uuid.Nil {
		return nil, domain.InvalidField("propertyId", "is required")
	}
	var grants []domain.Grant
	for _, g := range s.grants {
		if g.PropertyID != c.PropertyID {
			grants = append(grants, g)
		}
	}
	for i, g := range c.Grants {
		if g.PropertyID != c.PropertyID {
			return nil, domain.InvalidField(fmt.Sprintf("grants[%d].propertyId", i), "must be the property's")
		}
		grants = append(grants, g)
	}
	if err := apikey.ValidateGrantEntries("userPermissions", grants, s.grants...); err != nil {
		return nil, err
	}
	if slices.Equal(grants, s.grants) {
		return nil, nil
	}
	return []domain.Event{UserUpdated{
		UserID:          s.id,
		AccountID:       s.accountID,
		DisplayName:     s.displayName,
		UserPermissions: apikey.FromGrants(grants),
		ExternalRefs:    domain.CloneExternalRefs(s.externalRefs),
		SealedPrivate:   s.sealedPrivate,
	}}, nil
}

// Delete removes the user. The handler also ends their memberships,
// deprovisions their devices and erases their key.
type Delete struct{}

// Decide records UserDeleted.
func (Delete) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	return []domain.Event{UserDeleted{UserID: s.id, AccountID: s.accountID}}, nil
}

// validFields checks a user's fields; held are the grants the user holds
// already (see apikey.ValidateGrants).
func validFields(displayName string, gs []domain.Grant, refs []domain.ExternalRef, held ...domain.Grant) error {
	if err := domain.ValidateName("displayName", displayName); err != nil {
		return err
	}
	if err := apikey.ValidateGrants("userPermissions", gs, held...); err != nil {
		return err
	}
	return domain.ValidateExternalRefs("externalRefs", refs)
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case UserCreated:
		s = State{
			id:            e.UserID,
			accountID:     e.AccountID,
			displayName:   e.DisplayName,
			grants:        apikey.ToGrants(e.UserPermissions),
			externalRefs:  e.ExternalRefs,
			sealedPrivate: e.SealedPrivate,
			sealedHistory: withSealed(nil, e.SealedPrivate),
			created:       true,
		}
	case UserUpdated:
		s.displayName = e.DisplayName
		s.grants = apikey.ToGrants(e.UserPermissions)
		s.externalRefs = e.ExternalRefs
		s.sealedPrivate = e.SealedPrivate
		s.sealedHistory = withSealed(s.sealedHistory, e.SealedPrivate)
	case UserDeleted:
		s.deleted = true
		s.sealedPrivate = ""
	}
	return s
}
