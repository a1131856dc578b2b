// Package lock is the lock aggregate: a door lock provisioned by an
// account, installed into an area of a property, uninstalled, released and
// deprovisioned. The lock made its own key pairs; only the public halves
// are here.
package lock

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/device"
)

// Category names the aggregate's streams: `lock-<id>`.
const Category = "lock"

// UninstallMode says how far a lock leaves: its area, its property, or its
// owner's account.
type UninstallMode string

// The uninstall modes of the reference.
const (
	// UninstallArea takes the lock out of its area; it stays in the property.
	UninstallArea UninstallMode = "area"
	// UninstallProperty takes the lock out of its area and its property.
	UninstallProperty UninstallMode = "property"
	// UninstallOwner releases the lock from the account altogether.
	UninstallOwner UninstallMode = "owner"
)

// Valid reports whether m is a known mode.
func (m UninstallMode) Valid() bool {
	return m == UninstallArea || m == UninstallProperty || m == UninstallOwner
}

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "lock not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "lock already exists")
	// ErrLockAlreadyInstalled: the lock is installed in another area.
	ErrLockAlreadyInstalled = domain.NewError(domain.ErrConflict, "the lock is installed in another area; uninstall it first")
	// ErrLockInAnotherProperty: the lock left its area but is still in
	// another property.
	ErrLockInAnotherProperty = domain.NewError(domain.ErrConflict, "the lock belongs to another property; uninstall it from that property first")
	// ErrLockInstalled: an installed lock cannot be deprovisioned.
	ErrLockInstalled = domain.NewError(domain.ErrConflict, "the lock is installed in an area; uninstall it first")
)

// State is a lock as its events left it.
type State struct {
	id                  uuid.UUID
	accountID           uuid.UUID
	propertyID          uuid.UUID
	areaID              uuid.UUID
	apiKeyID            uuid.UUID
	displayName         string
	publicKey           string
	encryptionPublicKey string
	purchaseDate        *time.Time
	externalRefs        []domain.ExternalRef
	provisioned         bool
	deprovisioned       bool
	released            bool
	sync                syncState
}

// Exists reports whether the lock is provisioned and still its account's:
// neither deprovisioned nor released.
func (s State) Exists() bool { return s.provisioned && !s.deprovisioned && !s.released }

// Deprovisioned reports whether the lock was deprovisioned.
func (s State) Deprovisioned() bool { return s.deprovisioned }

// Released reports whether the lock was released from its account
// (uninstalled with mode owner).
func (s State) Released() bool { return s.released }

// ID is the lock's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account that owns the lock; uuid.Nil once released.
func (s State) AccountID() uuid.UUID {
	if s.released {
		return uuid.Nil
	}
	return s.accountID
}

// PropertyID is the property the lock is in, or uuid.Nil.
func (s State) PropertyID() uuid.UUID { return s.propertyID }

// AreaID is the area the lock is installed in, or uuid.Nil.
func (s State) AreaID() uuid.UUID { return s.areaID }

// Installed reports whether the lock is installed in an area.
func (s State) Installed() bool { return s.areaID != uuid.Nil }

// APIKeyID is the lock's own API key, which lets it call only its sync.
func (s State) APIKeyID() uuid.UUID { return s.apiKeyID }

// DisplayName is the lock's name.
func (s State) DisplayName() string { return s.displayName }

// PublicKey is the lock's Ed25519 public key, standard base64.
func (s State) PublicKey() string { return s.publicKey }

// EncryptionPublicKey is the lock's X25519 public key, standard base64.
func (s State) EncryptionPublicKey() string { return s.encryptionPublicKey }

// PurchaseDate is when the lock was bought; nil when unknown.
func (s State) PurchaseDate() *time.Time { return domain.UTCPtr(s.purchaseDate) }

// ExternalRefs are the lock's links to other systems (a copy); nil when
// none.
func (s State) ExternalRefs() []domain.ExternalRef { return domain.CloneExternalRefs(s.externalRefs) }

// Provision registers a lock with an account. The handler creates the
// lock's own API key first and passes its id.
type Provision struct {
	LockID              uuid.UUID
	AccountID           uuid.UUID
	DisplayName         string
	PublicKey           string
	EncryptionPublicKey string
	// PurchaseDate is optional (nil: unknown) and not in the future.
	PurchaseDate *time.Time
	APIKeyID     uuid.UUID
	// ExternalRefs are optional: at most domain.MaxExternalRefs, each
	// with an id and a source.
	ExternalRefs []domain.ExternalRef
}

// Decide checks the lock and its keys and records LockProvisioned.
func (c Provision) Decide(s State, now time.Time) ([]domain.Event, error) {
	if s.provisioned {
		return nil, ErrExists
	}
	switch {
	case c.LockID == uuid.Nil:
		return nil, domain.InvalidField("lockId", "is required")
	case c.AccountID == uuid.Nil:
		return nil, domain.InvalidField("accountId", "is required")
	case c.APIKeyID == uuid.Nil:
		return nil, domain.InvalidField("apiKeyId", "is required")
	}
	if err := validatePurchaseDate(c.PurchaseDate, now); err != nil {
		return nil, err
	}
	if err := domain.ValidateName("displayName", c.DisplayName); err != nil {
		return nil, err
	}
	pub, err := device.SigningKey("publicKey", c.PublicKey)
	if err != nil {
		return nil, err
	}
	enc, err := device.EncryptionKey("encryptionPublicKey", c.EncryptionPublicKey)
	if err != nil {
		return nil, err
	}
	if err := domain.ValidateExternalRefs("externalRefs", c.ExternalRefs); err != nil {
		return nil, err
	}
	return []domain.Event{LockProvisioned{
		LockID:              c.LockID,
		AccountID:           c.AccountID,
		DisplayName:         c.DisplayName,
		PublicKey:           pub,
		EncryptionPublicKey: enc,
		PurchaseDate:        domain.UTCPtr(c.PurchaseDate),
		APIKeyID:            c.APIKeyID,
		ExternalRefs:        normalRefs(c.ExternalRefs),
	}}, nil
}

// Update replaces the lock's writable fields: its name, its purchase
// date and its external refs. As PUT replaces the whole object, a nil
// PurchaseDate says the date is unknown and clears one recorded before,
// and no ExternalRefs clears the refs.
type Update struct {
	DisplayName string
	// PurchaseDate is optional (nil: unknown) and not in the future, as
	// for Provision.
	PurchaseDate *time.Time
	// ExternalRefs replace the lock's refs; validated as for Provision.
	ExternalRefs []domain.ExternalRef
}

// Decide records LockUpdated when the name changes,
// LockPurchaseDateChanged when the purchase date does and
// LockExternalRefsChanged when the external refs do; nothing when nothing
// changes.
func (c Update) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := domain.ValidateName("displayName", c.DisplayName); err != nil {
		return nil, err
	}
	if err := validatePurchaseDate(c.PurchaseDate, now); err != nil {
		return nil, err
	}
	if err := domain.ValidateExternalRefs("externalRefs", c.ExternalRefs); err != nil {
		return nil, err
	}
	var out []domain.Event
	if c.DisplayName != s.displayName {
		out = append(out, LockUpdated{
			LockID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID, DisplayName: c.DisplayName,
		})
	}
	if !sameInstant(c.PurchaseDate, s.purchaseDate) {
		out = append(out, LockPurchaseDateChanged{
			LockID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID, PurchaseDate: domain.UTCPtr(c.PurchaseDate),
		})
	}
	if !domain.EqualExternalRefs(c.ExternalRefs, s.externalRefs) {
		refs := normalRefs(c.ExternalRefs)
		if refs == nil {
			refs = []domain.ExternalRef{} // cleared: `[]` in the log
		}
		out = append(out, LockExternalRefsChanged{
			LockID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID, ExternalRefs: refs,
		})
	}
	return out, nil
}

// validatePurchaseDate checks an optional purchase date: a valid instant,
// not in the future.
func validatePurchaseDate(d *time.Time, now time.Time) error {
	if d == nil {
		return nil
	}
	if err := domain.ValidateInstant("purchaseDate", *d); err != nil {
		return err
	}
	if d.After(now) {
		return domain.InvalidField("purchaseDate", "is in the future")
	}
	return nil
}

// normalRefs is refs as events keep them: instants in UTC, nil when
// there are none.
func normalRefs(refs []domain.ExternalRef) []domain.ExternalRef {
	if len(refs) == 0 {
		return nil
	}
	return domain.CloneExternalRefs(refs)
}

// sameInstant reports whether two optional instants are both unset or the
// same instant.
func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// Install puts the lock into an area of a property. The handler has checked
// that the area exists in that property, in the lock's account.
type Install struct {
	PropertyID uuid.UUID
	AreaID     uuid.UUID
}

// Decide records LockInstalled; nothing when the lock is already in that
// area.
func (c Install) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	switch {
	case c.PropertyID == uuid.Nil:
		return nil, domain.InvalidField("propertyId", "is required")
	case c.AreaID == uuid.Nil:
		return nil, domain.InvalidField("areaId", "is required")
	case s.areaID == c.AreaID && s.propertyID == c.PropertyID:
		return nil, nil
	case s.areaID != uuid.Nil:
		return nil, ErrLockAlreadyInstalled
	case s.propertyID != uuid.Nil && s.propertyID != c.PropertyID:
		return nil, ErrLockInAnotherProperty
	}
	return []domain.Event{LockInstalled{LockID: s.id, AccountID: s.accountID, PropertyID: c.PropertyID, AreaID: c.AreaID}}, nil
}

// Uninstall takes the lock out of its area, its property, or its owner's
// account, as Mode says.
type Uninstall struct {
	Mode UninstallMode
}

// Decide records LockUninstalled with the property and area the lock left.
// Leaving an area or property it is not in records nothing; a release
// (mode owner) is always recorded.
func (c Uninstall) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if !c.Mode.Valid() {
		return nil, domain.InvalidField("uninstallMode", `must be "area", "property" or "owner"`)
	}
	left := LockUninstalled{LockID: s.id, AccountID: s.accountID, AreaID: s.areaID, Mode: c.Mode}
	switch c.Mode {
	case UninstallArea:
		if s.areaID == uuid.Nil {
			return nil, nil
		}
		left.PropertyID = s.propertyID
	case UninstallProperty:
		if s.propertyID == uuid.Nil {
			return nil, nil
		}
		left.PropertyID = s.propertyID
	case UninstallOwner:
		left.PropertyID = s.propertyID
	}
	return []domain.Event{left}, nil
}

// Deprovision retires a lock that is in no area.
type Deprovision struct{}

// Decide records LockDeprovisioned.
func (Deprovision) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if s.Installed() {
		return nil, ErrLockInstalled
	}
	return []domain.Event{LockDeprovisioned{LockID: s.id, AccountID: s.accountID, PropertyID: s.propertyID}}, nil
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case LockProvisioned:
		s = State{
			id:                  e.LockID,
			accountID:           e.AccountID,
			apiKeyID:            e.APIKeyID,
			displayName:         e.DisplayName,
			publicKey:           e.PublicKey,
			encryptionPublicKey: e.EncryptionPublicKey,
			purchaseDate:        e.PurchaseDate,
			externalRefs:        normalRefs(e.ExternalRefs),
			provisioned:         true,
		}
	case LockUpdated:
		s.displayName = e.DisplayName
	case LockPurchaseDateChanged:
		s.purchaseDate = e.PurchaseDate
	case LockExternalRefsChanged:
		s.externalRefs = normalRefs(e.ExternalRefs)
	case LockInstalled:
		s.propertyID, s.areaID = e.PropertyID, e.AreaID
	case LockUninstalled:
		s.areaID = uuid.Nil
		if e.Mode != UninstallArea {
			s.propertyID = uuid.Nil
		}
		if e.Mode == UninstallOwner {
			s.released = true
		}
	case LockDeprovisioned:
		s.deprovisioned = true
		s.propertyID, s.areaID = uuid.Nil, uuid.Nil
	case LockSynced:
		s.sync = s.sync.apply(e)
	case LockInstallFenced:
		// A fence only (see the event): nothing changes.
	}
	return s
}
