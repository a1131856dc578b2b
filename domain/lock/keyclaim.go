package lock

import (
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// A lock's Ed25519 public key identifies it in the key protocol, so no two
// locks may hold one key at once, whatever their accounts. Each key has a
// claim stream of its own, `lockkey-<KeyClaimID>`: a lock claims its key
// there before it is provisioned, and the claim's decision, appended at
// the revision it read, admits one lock per key across every process.

// KeyClaimCategory is the stream category of the key claims.
const KeyClaimCategory = "lockkey"

// KeyClaimGrace is how long a claim whose lock was never provisioned (a
// provisioning cut short between its appends) holds the key against other
// locks. A retry of that provisioning with its Idempotency-Key completes at
// any time; past the grace another lock may take the key over.
const KeyClaimGrace = 15 * time.Minute

// keyClaimNamespace seeds the ids of the claim streams.
var keyClaimNamespace = uuid.MustParse("c4a7d0e2-1f53-4b8e-9d26-7e0b5a3c8f41")

// KeyClaimID is the id of the claim stream of a public key (standard
// base64, canonical as Provision stores it): a uuid v5 of the key's
// sha256, so the stream name does not carry the key.
func KeyClaimID(publicKey string) uuid.UUID {
	raw, err := base64.StdEncoding.DecodeString(publicKey)
	if err != nil {
		raw = []byte(publicKey)
	}
	sum := sha256.Sum256(raw)
	return uuid.NewSHA1(keyClaimNamespace, sum[:])
}

// ErrKeyInUse: the public key is another lock's (409).
var ErrKeyInUse = &domain.Error{Kind: domain.ErrConflict, Field: "publicKey", Message: "is the public key of another lock"}

// KeyClaim is the claim of one public key: the lock holding it, if any.
type KeyClaim struct {
	lockID    uuid.UUID
	accountID uuid.UUID
	claimedAt time.Time
}

// Held reports whether a lock holds the key.
func (s KeyClaim) Held() bool { return s.lockID != uuid.Nil }

// LockID is the lock holding the key (uuid.Nil: none).
func (s KeyClaim) LockID() uuid.UUID { return s.lockID }

// The claim events are bookkeeping of the key protocol: they name the lock
// `holderLockId`, not `lockId`, so the read models that list a lock's
// events by `lockId` (the events list) leave them out, as they leave out a
// stream of another category. The audit history does show them (who held
// the key, and a take-over by a lock of the same account), since an
// auditor asks when a lock's key was claimed, freed or taken.

// LockKeyClaimed: a lock about to be provisioned claimed its public key.
// PreviousLockID is the lock whose abandoned claim it took over, if any.
type LockKeyClaimed struct {
	LockID         uuid.UUID `json:"holderLockId"`
	AccountID      uuid.UUID `json:"holderAccountId"`
	ClaimedAt      time.Time `json:"claimedAt"`
	PreviousLockID uuid.UUID `json:"previousHolderLockId,omitzero"`
}

// LockKeyReleased: the lock holding the key was deprovisioned or released
// from its account; the key is free for another lock.
type LockKeyReleased struct {
	LockID    uuid.UUID `json:"holderLockId"`
	AccountID uuid.UUID `json:"holderAccountId"`
}

// EventType names the event in the log.
func (LockKeyClaimed) EventType() string { return "LockKeyClaimed" }

// EventType names the event in the log.
func (LockKeyReleased) EventType() string { return "LockKeyReleased" }

// ClaimKey claims a public key for a lock about to be provisioned.
// HolderExists says whether the lock holding the key now exists (it is
// provisioned and neither deprovisioned nor released); the handler reads
// it from that lock's stream.
type ClaimKey struct {
	LockID       uuid.UUID
	AccountID    uuid.UUID
	HolderExists bool
}

// Decide records LockKeyClaimed for a free key; nothing when the lock
// holds it already (a retried provisioning). A key held by another lock
// is ErrKeyInUse, unless that lock does not exist and its claim is older
// than KeyClaimGrace: an abandoned claim, taken over.
func (c ClaimKey) Decide(s KeyClaim, now time.Time) ([]domain.Event, error) {
	switch {
	case c.LockID == uuid.Nil:
		return nil, domain.InvalidField("lockId", "is required")
	case c.AccountID == uuid.Nil:
		return nil, domain.InvalidField("accountId", "is required")
	case s.lockID == c.LockID:
		return nil, nil
	case s.Held() && (c.HolderExists || now.Sub(s.claimedAt) < KeyClaimGrace):
		return nil, ErrKeyInUse
	}
	return []domain.Event{LockKeyClaimed{LockID: c.LockID, AccountID: c.AccountID, ClaimedAt: now.UTC(), PreviousLockID: s.lockID}}, nil
}

// ReleaseKey frees the key of a lock that is gone.
type ReleaseKey struct {
	LockID uuid.UUID
}

// Decide records LockKeyReleased when the lock holds the key; nothing
// otherwise (released before, or taken over).
func (c ReleaseKey) Decide(s KeyClaim, _ time.Time) ([]domain.Event, error) {
	if !s.Held() || s.lockID != c.LockID {
		return nil, nil
	}
	return []domain.Event{LockKeyReleased{LockID: c.LockID, AccountID: s.accountID}}, nil
}

// EvolveKeyClaim applies one event to a key claim.
func EvolveKeyClaim(s KeyClaim, e domain.Event) KeyClaim {
	switch e := e.(type) {
	case LockKeyClaimed:
		s = KeyClaim{lockID: e.LockID, accountID: e.AccountID, claimedAt: e.ClaimedAt}
	case LockKeyReleased:
		if e.LockID == s.lockID {
			s = KeyClaim{}
		}
	}
	return s
}
