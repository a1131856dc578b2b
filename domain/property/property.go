// Package property is the property aggregate: a building or site of an
// account, with its address, its time zone (the default zone of every
// schedule in it) and the users who manage access there.
package property

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `property-<id>`.
const Category = "property"

// MaxAccessManagers bounds a property's accessManagerIds.
const MaxAccessManagers = 100

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "property not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "property already exists")
	// ErrPropertyHasLocks: a property with installed locks cannot go.
	ErrPropertyHasLocks = domain.NewError(domain.ErrConflict, "the property still has installed locks; uninstall them first")
)

// State is a property as its events left it.
type State struct {
	id               uuid.UUID
	accountID        uuid.UUID
	displayName      string
	address          *domain.Address
	timezone         string
	accessManagerIDs []uuid.UUID
	externalRefs     []domain.ExternalRef
	bookingSettings  BookingSettings
	created          bool
	deleted          bool
}

// Exists reports whether the property was created and not deleted.
func (s State) Exists() bool { return s.created && !s.deleted }

// Deleted reports whether the property was deleted.
func (s State) Deleted() bool { return s.deleted }

// ID is the property's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the property belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// DisplayName is the property's name.
func (s State) DisplayName() string { return s.displayName }

// Address is the property's address (a copy), or nil.
func (s State) Address() *domain.Address { return s.address.Clone() }

// Timezone is the property's IANA zone, the default of its schedules.
func (s State) Timezone() string { return s.timezone }

// AccessManagerIDs are the users who manage access at the property (a copy).
func (s State) AccessManagerIDs() []uuid.UUID { return slices.Clone(s.accessManagerIDs) }

// ExternalRefs are the property's links to other systems (a copy).
func (s State) ExternalRefs() []domain.ExternalRef { return slices.Clone(s.externalRefs) }

// BookingSettings are the property's booking rules.
func (s State) BookingSettings() BookingSettings { return s.bookingSettings }

// Create adds a property to an account. An empty Timezone means UTC.
type Create struct {
	PropertyID       uuid.UUID
	AccountID        uuid.UUID
	DisplayName      string
	Address          *domain.Address
	Timezone         string
	AccessManagerIDs []uuid.UUID
	ExternalRefs     []domain.ExternalRef
	// BookingSettings: nil means the defaults.
	BookingSettings *BookingSettings
}

// Decide checks the property and records PropertyCreated.
func (c Create) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	if err := domain.RequireID("propertyId", c.PropertyID); err != nil {
		return nil, err
	}
	if err := domain.RequireID("accountId", c.AccountID); err != nil {
		return nil, err
	}
	f := fields{c.DisplayName, c.Address, c.Timezone, c.AccessManagerIDs, c.ExternalRefs, orDefault(c.BookingSettings)}.normal()
	if err := f.validate(); err != nil {
		return nil, err
	}
	return []domain.Event{PropertyCreated{
		PropertyID: c.PropertyID, AccountID: c.AccountID,
		DisplayName: f.displayName, Address: f.address, Timezone: f.timezone,
		AccessManagerIDs: f.accessManagerIDs, ExternalRefs: f.externalRefs, BookingSettings: &f.bookingSettings,
	}}, nil
}

// Update replaces every writable field of the property. An empty Timezone
// means UTC.
type Update struct {
	DisplayName      string
	Address          *domain.Address
	Timezone         string
	AccessManagerIDs []uuid.UUID
	ExternalRefs     []domain.ExternalRef
	// BookingSettings: nil means the defaults (a PUT replaces them too).
	BookingSettings *BookingSettings
}

// Decide records PropertyUpdated, or nothing when nothing changes.
func (c Update) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	f := fields{c.DisplayName, c.Address, c.Timezone, c.AccessManagerIDs, c.ExternalRefs, orDefault(c.BookingSettings)}.normal()
	if err := f.validate(); err != nil {
		return nil, err
	}
	if f.displayName == s.displayName && domain.EqualAddress(f.address, s.address) && f.timezone == s.timezone &&
		slices.Equal(f.accessManagerIDs, s.accessManagerIDs) && domain.EqualExternalRefs(f.externalRefs, s.externalRefs) &&
		f.bookingSettings == s.bookingSettings {
		return nil, nil
	}
	return []domain.Event{PropertyUpdated{
		PropertyID: s.id, AccountID: s.accountID,
		DisplayName: f.displayName, Address: f.address, Timezone: f.timezone,
		AccessManagerIDs: f.accessManagerIDs, ExternalRefs: f.externalRefs, BookingSettings: &f.bookingSettings,
	}}, nil
}

// Delete removes the property. InstalledLocks is how many locks are still
// installed in it, as the handler found them; any refuses the delete.
type Delete struct {
	InstalledLocks int
}

// Decide records PropertyDeleted.
func (c Delete) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if c.InstalledLocks > 0 {
		return nil, ErrPropertyHasLocks
	}
	return []domain.Event{PropertyDeleted{PropertyID: s.id, AccountID: s.accountID}}, nil
}

// fields are the writable fields, shared by Create and Update.
type fields struct {
	displayName      string
	address          *domain.Address
	timezone         string
	accessManagerIDs []uuid.UUID
	externalRefs     []domain.ExternalRef
	bookingSettings  BookingSettings
}

// normal copies the fields into the form events keep: the default zone
// filled in, lists never shared with the caller, accessManagerIds never nil.
func (f fields) normal() fields {
	if f.timezone == "" {
		f.timezone = domain.DefaultTimezone
	}
	f.address = f.address.Clone()
	f.accessManagerIDs = append([]uuid.UUID{}, f.accessManagerIDs...)
	f.externalRefs = domain.CloneExternalRefs(f.externalRefs)
	return f
}

func (f fields) validate() error {
	if err := domain.ValidateName("displayName", f.displayName); err != nil {
		return err
	}
	if err := f.address.Validate("address"); err != nil {
		return err
	}
	if err := domain.ValidateTimezone("timezone", f.timezone); err != nil {
		return err
	}
	if err := domain.ValidateIDs("accessManagerIds", f.accessManagerIDs, MaxAccessManagers); err != nil {
		return err
	}
	if err := domain.ValidateExternalRefs("externalRefs", f.externalRefs); err != nil {
		return err
	}
	return f.bookingSettings.validate()
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case PropertyCreated:
		s = State{
			id:               e.PropertyID,
			accountID:        e.AccountID,
			displayName:      e.DisplayName,
			address:          e.Address,
			timezone:         e.Timezone,
			accessManagerIDs: e.AccessManagerIDs,
			externalRefs:     e.ExternalRefs,
			bookingSettings:  orDefault(e.BookingSettings),
			created:          true,
		}
	case PropertyUpdated:
		s.displayName = e.DisplayName
		s.address = e.Address
		s.timezone = e.Timezone
		s.accessManagerIDs = e.AccessManagerIDs
		s.externalRefs = e.ExternalRefs
		s.bookingSettings = orDefault(e.BookingSettings)
	case PropertyDeleted:
		s.deleted = true
	}
	return s
}
