package lock

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// LockProvisioned: a lock registered its public keys with an account;
// APIKeyID is the key it syncs with.
type LockProvisioned struct {
	LockID              uuid.UUID  `json:"lockId"`
	AccountID           uuid.UUID  `json:"accountId"`
	DisplayName         string     `json:"displayName"`
	PublicKey           string     `json:"publicKey"`
	EncryptionPublicKey string     `json:"encryptionPublicKey"`
	PurchaseDate        *time.Time `json:"purchaseDate,omitempty"`
	APIKeyID            uuid.UUID  `json:"apiKeyId"`
	// ExternalRefs are the lock's links to other systems; absent (as in
	// every event recorded before locks had them) means none.
	ExternalRefs []domain.ExternalRef `json:"externalRefs,omitempty"`
}

// LockUpdated: the lock's writable fields were replaced. PropertyID and
// AreaID say where the lock was at the time, for the events list.
type LockUpdated struct {
	LockID      uuid.UUID `json:"lockId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId,omitzero"`
	AreaID      uuid.UUID `json:"areaId,omitzero"`
	DisplayName string    `json:"displayName"`
}

// LockPurchaseDateChanged: the lock's purchase date was set, changed or
// (nil) cleared by an update. It is an event of its own rather than a new
// field of LockUpdated because LockUpdated events written before had no
// purchase date: read with one, they would clear every date provisioned.
type LockPurchaseDateChanged struct {
	LockID       uuid.UUID  `json:"lockId"`
	AccountID    uuid.UUID  `json:"accountId"`
	PropertyID   uuid.UUID  `json:"propertyId,omitzero"`
	AreaID       uuid.UUID  `json:"areaId,omitzero"`
	PurchaseDate *time.Time `json:"purchaseDate"`
}

// LockExternalRefsChanged: the lock's external refs were replaced by an
// update; an empty list clears them. It is an event of its own, as
// LockPurchaseDateChanged is, rather than a new field of LockUpdated:
// LockUpdated events have no such field (those recorded before locks had
// refs, and those a server of the previous version still writes during a
// rolling upgrade), and read with one they would mean "no refs" and clear
// refs set before them. LockUpdated keeps meaning a rename only; refs
// change only where this event says so, with no upcaster or schema bump.
type LockExternalRefsChanged struct {
	LockID       uuid.UUID            `json:"lockId"`
	AccountID    uuid.UUID            `json:"accountId"`
	PropertyID   uuid.UUID            `json:"propertyId,omitzero"`
	AreaID       uuid.UUID            `json:"areaId,omitzero"`
	ExternalRefs []domain.ExternalRef `json:"externalRefs"`
}

// LockInstalled: the lock was installed into an area of a property.
type LockInstalled struct {
	LockID     uuid.UUID `json:"lockId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	AreaID     uuid.UUID `json:"areaId"`
}

// LockUninstalled: the lock left its area (mode area), its property too
// (mode property), or its account altogether (mode owner). PropertyID and
// AreaID are where it was; AreaID is nil when it was in no area.
type LockUninstalled struct {
	LockID     uuid.UUID     `json:"lockId"`
	AccountID  uuid.UUID     `json:"accountId"`
	PropertyID uuid.UUID     `json:"propertyId,omitzero"`
	AreaID     uuid.UUID     `json:"areaId,omitzero"`
	Mode       UninstallMode `json:"mode"`
}

// LockInstallFenced: a deletion of area AreaID found an install of this
// lock into it marked in the area (area.AreaLockChecked) but not yet
// appended here, and appended this at the revision that install read: the
// install's own append then fails and it is decided again, finding the
// area gone (an install cut short by a crash never comes). It changes
// nothing.
type LockInstallFenced struct {
	LockID    uuid.UUID `json:"lockId"`
	AccountID uuid.UUID `json:"accountId"`
	AreaID    uuid.UUID `json:"areaId"`
}

// LockDeprovisioned: the lock was retired. PropertyID is the property it
// was still in, if any.
type LockDeprovisioned struct {
	LockID     uuid.UUID `json:"lockId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId,omitzero"`
}

// EventType names the event in the log.
func (LockProvisioned) EventType() string { return "LockProvisioned" }

// EventType names the event in the log.
func (LockUpdated) EventType() string { return "LockUpdated" }

// EventType names the event in the log.
func (LockPurchaseDateChanged) EventType() string { return "LockPurchaseDateChanged" }

// EventType names the event in the log.
func (LockExternalRefsChanged) EventType() string { return "LockExternalRefsChanged" }

// EventType names the event in the log.
func (LockInstalled) EventType() string { return "LockInstalled" }

// EventType names the event in the log.
func (LockUninstalled) EventType() string { return "LockUninstalled" }

// EventType names the event in the log.
func (LockDeprovisioned) EventType() string { return "LockDeprovisioned" }

// EventType names the event in the log.
func (LockInstallFenced) EventType() string { return "LockInstallFenced" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{LockProvisioned{}, LockUpdated{}, LockPurchaseDateChanged{}, LockExternalRefsChanged{}, LockInstalled{}, LockUninstalled{}, LockDeprovisioned{},
		LockSynced{}, LockAccessLogged{}, LockKeyClaimed{}, LockKeyReleased{}, LockInstallFenced{}}
}

// Guard marks LockInstallFenced as a guard: it changes no state (eventstore.Guard).
func (LockInstallFenced) Guard() {}
