package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
)

// ProvisionLock registers a lock, with the public halves of the key pairs
// it made, in the actor's account.
type ProvisionLock struct {
	DisplayName         string
	PublicKey           string
	EncryptionPublicKey string
	// PurchaseDate is optional.
	PurchaseDate *time.Time
	// ExternalRefs are optional (at most domain.MaxExternalRefs).
	ExternalRefs []domain.ExternalRef
}

// ProvisionedLock is a new lock and its own API key, whose secret is shown
// this once.
type ProvisionedLock struct {
	LockID uuid.UUID
	Key    NewAPIKey
	Result
}

// ProvisionLock claims the lock's public key (see claimLockKey), creates
// the lock's own API key (no permissions: it lets the lock call only its
// own sync), then the lock. The command is checked before the key is
// claimed or minted, so a bad request leaves nothing behind; a key another
// lock holds is refused (lock.ErrKeyInUse, 409) before anything is
// stored. The three ids come from newID, so a request cut short between
// its appends and retried with its Idempotency-Key completes. Needs
// `provision-lock` (or `owner`) for the whole account: a provisioned lock
// is in no property yet.
func (s *Service) ProvisionLock(ctx context.Context, c ProvisionLock) (ProvisionedLock, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermProvisionLock)
	if err != nil {
		return ProvisionedLock{}, err
	}
	// Both ids are checked before the key is claimed (see newRootID):
	// the lock's key is recorded before the lock.
	keyID, err := s.newRootID(ctx, "lock-key", apikey.Category)
	if err != nil {
		return ProvisionedLock{}, err
	}
	lockID, err := s.newRootID(ctx, "lock", lock.Category)
	if err != nil {
		return ProvisionedLock{}, err
	}
	cmd := lock.Provision{
		LockID: lockID, AccountID: actor.AccountID, DisplayName: c.DisplayName,
		PublicKey: c.PublicKey, EncryptionPublicKey: c.EncryptionPublicKey,
		PurchaseDate: c.PurchaseDate, APIKeyID: keyID, ExternalRefs: c.ExternalRefs,
	}
	events, err := cmd.Decide(lock.State{}, s.p.Now())
	if err != nil {
		return ProvisionedLock{}, err
	}
	if err := s.claimLockKey(ctx, lockID, actor.AccountID, events[0].(lock.LockProvisioned).PublicKey); err != nil {
		return ProvisionedLock{}, err
	}
	key, err := s.createAPIKey(ctx, apikey.Create{
		APIKeyID: keyID, AccountID: actor.AccountID, DisplayName: "lock " + lockID.String(), LockID: lockID,
	})
	if err != nil {
		return ProvisionedLock{}, err
	}
	res, err := Run(ctx, s.p, lockAgg, lockID, "ProvisionLock", cmd)
	if err != nil {
		return ProvisionedLock{}, err
	}
	return ProvisionedLock{LockID: lockID, Key: key, Result: res}, nil
}

// UpdateLock replaces the lock's writable fields (its name, purchase date
// and external refs). Needs
// `provision-lock`, `install-lock` or `owner` for the lock's property.
func (s *Service) UpdateLock(ctx context.Context, lockID uuid.UUID, c lock.Update) (Result, error) {
	return Execute(ctx, s.p, lockAgg, lockID, "UpdateLock", func(l Loaded[lock.State], now time.Time) ([]domain.Event, error) {
		if err := authorizeLock(ctx, l.State, domain.PermProvisionLock, domain.PermInstallLock); err != nil {
			return nil, err
		}
		return c.Decide(l.State, now)
	})
}

// ErrAreaNotFound is the 404 for an area that does not exist, is not in
// the property named, or belongs to another account.
var ErrAreaNotFound = domain.NewError(domain.ErrNotFound, "area not found in this property")

// InstalledLock says where a lock was installed.
type InstalledLock struct {
	LockID, PropertyID, AreaID uuid.UUID
	Result
}

// InstallLock puts a lock into an area of a property. Needs `install-lock`
// (or `owner`) for that property. The property and the area must exist in
// the actor's account, the area in that property; a lock installed in
// another area is a conflict.
func (s *Service) InstallLock(ctx context.Context, propertyID, areaID, lockID uuid.UUID) (InstalledLock, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return InstalledLock{}, ErrNoActor
	}
	prop, err := Load(ctx, s.p, propertyAgg, propertyID)
	if err != nil {
		return InstalledLock{}, err
	}
	if !prop.State.Exists() || prop.State.AccountID() != actor.AccountID {
		return InstalledLock{}, property.ErrNotFound
	}
	if !actor.CanAny(propertyID, domain.PermInstallLock) {
		if err := AuthorizeRead(actor, propertyID, property.ErrNotFound); err != nil {
			return InstalledLock{}, err
		}
		return InstalledLock{}, ErrPermission
	}
	ar, err := Load(ctx, s.p, areaAgg, areaID)
	if err != nil {
		return InstalledLock{}, err
	}
	if !ar.State.Exists() || ar.State.AccountID() != actor.AccountID || ar.State.PropertyID() != propertyID {
		return InstalledLock{}, ErrAreaNotFound
	}
	res, err := Execute(ctx, s.p, lockAgg, lockID, "InstallLock", func(l Loaded[lock.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if !st.Exists() || st.AccountID() != actor.AccountID {
			return nil, lock.ErrNotFound
		}
		// A lock still in another property is that property's business:
		// to a caller who cannot see it there, it does not exist.
		if st.PropertyID() != uuid.Nil && st.PropertyID() != propertyID && !SeesProperty(actor, st.PropertyID()) {
			return nil, lock.ErrNotFound
		}
		events, err := lock.Install{PropertyID: propertyID, AreaID: areaID}.Decide(st, now)
		if err != nil || len(events) == 0 {
			return events, err
		}
		if err := s.markLockInstall(ctx, actor, propertyID, areaID, lockID, l.Revision); err != nil {
			return nil, err
		}
		return events, nil
	})
	if err != nil {
		return InstalledLock{}, err
	}
	return InstalledLock{LockID: lockID, PropertyID: propertyID, AreaID: areaID, Result: res}, nil
}

// markLockInstall reads the area a lock is to be installed into, as it
// is now, and marks it (area.AreaLockChecked) at the revision read, with
// the lock's revision the install read (lockRev) and will append at: a
// deletion of the area since the read fails the mark (read again: no
// area), and a deletion after the mark sees it and either finds the lock
// installed or fences it at lockRev, failing the install's own append
// (Execute decides again: no area). Both meet on the two streams
// themselves, so this holds across servers sharing the log.
func (s *Service) markLockInstall(ctx context.Context, actor domain.Actor, propertyID, areaID, lockID uuid.UUID, lockRev uint64) error {
	for attempt := 1; ; attempt++ {
		ar, err := Load(ctx, s.p, areaAgg, areaID)
		if err != nil {
			return err
		}
		if !ar.State.Exists() || ar.State.AccountID() != actor.AccountID || ar.State.PropertyID() != propertyID {
			return ErrAreaNotFound
		}
		mark := area.AreaLockChecked{AreaID: areaID, AccountID: actor.AccountID, PropertyID: propertyID,
			LockID: lockID, LockRevision: lockRev}
		err = appendMark(ctx, s.p, areaAgg.Stream(areaID), ar, mark)
		if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			return err
		}
		// The area changed since it was read: read it again.
		if attempt >= MaxAttempts {
			return ErrConcurrentChange
		}
		backoff(ctx, attempt)
	}
}

// UninstalledLock says where a lock left and when.
type UninstalledLock struct {
	LockID uuid.UUID
	Mode   lock.UninstallMode
	// PropertyID and AreaID are where the lock was (uuid.Nil: none).
	PropertyID, AreaID uuid.UUID
	At                 time.Time
	Result
}

// UninstallLock takes a lock out of its area (mode area), its property too
// (mode property), or releases it from the account (mode owner), which also
// deletes the lock's own API key and frees its public key (see
// releaseLockKey). Needs `install-lock` (or `owner`) for the
// lock's property; a request repeated with an Idempotency-Key needs it for
// the property the lock was in then, and answers the first one's date.
func (s *Service) UninstallLock(ctx context.Context, lockID uuid.UUID, mode lock.UninstallMode) (UninstalledLock, error) {
	if !mode.Valid() {
		return UninstalledLock{}, domain.InvalidField("uninstallMode", `must be "area", "property" or "owner"`)
	}
	out := UninstalledLock{LockID: lockID, Mode: mode}
	var (
		keyID     uuid.UUID
		publicKey string
	)
	res, err := Execute(ctx, s.p, lockAgg, lockID, "UninstallLock", func(l Loaded[lock.State], now time.Time) ([]domain.Event, error) {
		if err := authorizeLock(ctx, l.State, domain.PermInstallLock); err != nil {
			return nil, err
		}
		out.At, keyID, publicKey = now, l.State.APIKeyID(), l.State.PublicKey()
		out.PropertyID, out.AreaID = l.State.PropertyID(), l.State.AreaID()
		return lock.Uninstall{Mode: mode}.Decide(l.State, now)
	})
	if err != nil {
		return UninstalledLock{}, err
	}
	out.Result = res
	if res.Replayed {
		// An Idempotency-Key repeat decided nothing: authorize it and
		// answer from the event the first request appended, where and
		// when the lock left (the lock may be in no property now).
		var left lock.LockUninstalled
		for _, e := range res.Events {
			if u, ok := e.(lock.LockUninstalled); ok {
				left = u
			}
		}
		if err := s.authorizeReplayedLock(ctx, lockID, left.AccountID, left.PropertyID, domain.PermInstallLock); err != nil {
			return UninstalledLock{}, err
		}
		out.PropertyID, out.AreaID = left.PropertyID, left.AreaID
		if out.At, err = s.recordedAt(ctx, res); err != nil {
			return UninstalledLock{}, err
		}
		if keyID, publicKey, err = s.lockKeyID(ctx, lockID); err != nil {
			return UninstalledLock{}, err
		}
	}
	if mode == lock.UninstallOwner {
		if out.Result, err = s.deleteLockKey(ctx, lockID, keyID, res); err != nil {
			return UninstalledLock{}, err
		}
		if out.Result, err = s.releaseLockKey(ctx, lockID, publicKey, out.Result); err != nil {
			return UninstalledLock{}, err
		}
	}
	return out, nil
}

// DeprovisionLock retires a lock that is in no area, deletes its own API
// key and frees its public key for another provisioning (see
// releaseLockKey). Needs `provision-lock` (or `owner`) for the lock's
// property (for a request repeated with an Idempotency-Key: the property
// the lock was in then).
func (s *Service) DeprovisionLock(ctx context.Context, lockID uuid.UUID) (Result, error) {
	var (
		keyID     uuid.UUID
		publicKey string
	)
	res, err := Execute(ctx, s.p, lockAgg, lockID, "DeprovisionLock", func(l Loaded[lock.State], now time.Time) ([]domain.Event, error) {
		if err := authorizeLock(ctx, l.State, domain.PermProvisionLock); err != nil {
			return nil, err
		}
		keyID, publicKey = l.State.APIKeyID(), l.State.PublicKey()
		return lock.Deprovision{}.Decide(l.State, now)
	})
	if err != nil {
		return Result{}, err
	}
	if res.Replayed {
		var gone lock.LockDeprovisioned
		for _, e := range res.Events {
			if d, ok := e.(lock.LockDeprovisioned); ok {
				gone = d
			}
		}
		if err := s.authorizeReplayedLock(ctx, lockID, gone.AccountID, gone.PropertyID, domain.PermProvisionLock); err != nil {
			return Result{}, err
		}
		if keyID, publicKey, err = s.lockKeyID(ctx, lockID); err != nil {
			return Result{}, err
		}
	}
	if res, err = s.deleteLockKey(ctx, lockID, keyID, res); err != nil {
		return Result{}, err
	}
	return s.releaseLockKey(ctx, lockID, publicKey, res)
}

// authorizeReplayedLock authorizes a request repeated with its
// Idempotency-Key, whose decision did not run, against the lock as the
// first request found it: in the account and property its recorded
// event names, since that request may have taken the lock out of both.
// Without such an event (accountID uuid.Nil) it reads the lock as it is.
func (s *Service) authorizeReplayedLock(ctx context.Context, lockID, accountID, propertyID uuid.UUID, perms ...domain.Permission) error {
	if accountID == uuid.Nil {
		l, err := Load(ctx, s.p, lockAgg, lockID)
		if err != nil {
			return err
		}
		return authorizeLock(ctx, l.State, perms...)
	}
	return authorizeLockIn(ctx, accountID, propertyID, perms...)
}

// recordedAt is when a replayed result's last event was appended, by the
// pipeline's clock: the date the first request answered.
func (s *Service) recordedAt(ctx context.Context, res Result) (time.Time, error) {
	recs, err := s.p.store.ReadStream(ctx, res.Stream, eventstore.ReadStreamOptions{From: res.Revision, Max: 1})
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", res.Stream, err)
	}
	if len(recs) != 1 {
		return time.Time{}, fmt.Errorf("read %s: revision %d is missing", res.Stream, res.Revision)
	}
	env, err := s.p.registry.Decode(recs[0])
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", res.Stream, err)
	}
	return env.Metadata.OccurredAt, nil
}

// lockKeyID reads the id of a lock's own API key and its public key from
// its stream (for a repeated request, whose decision did not run).
func (s *Service) lockKeyID(ctx context.Context, lockID uuid.UUID) (uuid.UUID, string, error) {
	l, err := Load(ctx, s.p, lockAgg, lockID)
	return l.State.APIKeyID(), l.State.PublicKey(), err
}

// claimLockKey claims publicKey for lockID in the key's claim stream,
// appended at the revision read (no-stream for a key never claimed), so
// that of two provisionings of one key, in any processes, one wins and the
// other reloads and is refused. A claim the lock holds already (a retried
// request) is fine; so is the claim's own append repeated with an
// Idempotency-Key, unless another lock has since taken the abandoned
// claim over.
func (s *Service) claimLockKey(ctx context.Context, lockID, accountID uuid.UUID, publicKey string) error {
	claimID := lock.KeyClaimID(publicKey)
	res, err := Execute(ctx, s.p, keyClaimAgg, claimID, "ClaimLockKey", func(l Loaded[lock.KeyClaim], now time.Time) ([]domain.Event, error) {
		holderExists := false
		if holder := l.State.LockID(); l.State.Held() && holder != lockID {
			h, err := Load(ctx, s.p, lockAgg, holder)
			if err != nil {
				return nil, err
			}
			holderExists = h.State.Exists()
		}
		return lock.ClaimKey{LockID: lockID, AccountID: accountID, HolderExists: holderExists}.Decide(l.State, now)
	})
	if err != nil || !res.Replayed {
		return err
	}
	claim, err := Load(ctx, s.p, keyClaimAgg, claimID)
	if err != nil {
		return err
	}
	if claim.State.LockID() != lockID {
		return lock.ErrKeyInUse
	}
	return nil
}

// releaseLockKey frees the public key of a lock that left its account
// (deprovisioned, or released with uninstall mode owner), so that the
// same hardware, which keeps its key pair, can be provisioned again: by
// its maker after a deprovisioning, or by its next owner. Only the holder
// of the private key can sync as that lock, so a freed key helps no one
// else. A key another lock took over is left alone. It returns prior
// (whose events say what the command did: the lock's key deleted), moved
// to the release's position when that is further, for read-your-writes.
func (s *Service) releaseLockKey(ctx context.Context, lockID uuid.UUID, publicKey string, prior Result) (Result, error) {
	if publicKey == "" {
		return prior, nil
	}
	res, err := Run(ctx, s.p, keyClaimAgg, lock.KeyClaimID(publicKey), "ReleaseLockKey", lock.ReleaseKey{LockID: lockID})
	if err != nil {
		return Result{}, err
	}
	prior.Position = max(prior.Position, res.Position)
	return prior, nil
}

// deleteLockKey deletes a lock's own key once the lock is gone from the
// account; a key already deleted is fine (a retried request). It returns
// whichever result is further in the log, for read-your-writes.
func (s *Service) deleteLockKey(ctx context.Context, lockID, keyID uuid.UUID, prior Result) (Result, error) {
	if keyID == uuid.Nil {
		return prior, nil
	}
	res, err := Run(ctx, s.p, apiKeyAgg, keyID, "DeleteLockApiKey", apikey.Delete{LockID: lockID})
	if errors.Is(err, apikey.ErrNotFound) {
		return prior, nil
	}
	if err != nil {
		return Result{}, err
	}
	if res.Position < prior.Position {
		res.Position = prior.Position
	}
	return res, nil
}

// authorizeLock checks that the actor may act on a lock with one of perms
// (`owner` always may). A lock of another account, or one outside every
// property the actor can see, answers the same 404 as a missing lock; a
// lock the actor can see but not change answers 403. A lock in no property
// is seen by account-wide keys only.
func authorizeLock(ctx context.Context, s lock.State, perms ...domain.Permission) error {
	accountID := s.AccountID()
	if !s.Exists() {
		accountID = uuid.Nil
	}
	return authorizeLockIn(ctx, accountID, s.PropertyID(), perms...)
}

// authorizeLockIn is authorizeLock for a lock of accountID (uuid.Nil: no
// lock) in propertyID.
func authorizeLockIn(ctx context.Context, accountID, propertyID uuid.UUID, perms ...domain.Permission) error {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return ErrNoActor
	}
	if accountID != actor.AccountID {
		return lock.ErrNotFound
	}
	if actor.CanAny(propertyID, perms...) {
		return nil
	}
	if err := AuthorizeRead(actor, propertyID, lock.ErrNotFound); err != nil {
		return err
	}
	return ErrPermission
}

// AuthorizeRead checks that the actor may read an entity in propertyID
// (uuid.Nil: in no property, seen by account-wide keys only). An actor
// with no permission but `me` lacks the permission (ErrPermission); one
// whose scope leaves the property out gets notFound, as for an id that
// does not exist.
func AuthorizeRead(a domain.Actor, propertyID uuid.UUID, notFound error) error {
	switch {
	case SeesProperty(a, propertyID):
		return nil
	case seesAnything(a):
		return notFound
	default:
		return ErrPermission
	}
}

// SeesProperty reports whether the actor may read what is in a property:
// it holds any permission but `me` for it, or for the whole account.
// propertyID uuid.Nil (things in no property) asks for an account-wide
// grant.
func SeesProperty(a domain.Actor, propertyID uuid.UUID) bool {
	for _, g := range a.Grants {
		if g.Permission == domain.PermMe {
			continue
		}
		if g.PropertyID == uuid.Nil || g.PropertyID == propertyID {
			return true
		}
	}
	return false
}

// seesAnything reports whether the actor holds any permission but `me`;
// one that holds none lacks the permission outright (403) rather than
// failing to find things (404).
func seesAnything(a domain.Actor) bool {
	for _, g := range a.Grants {
		if g.Permission != domain.PermMe {
			return true
		}
	}
	return false
}
