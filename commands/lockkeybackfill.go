package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
)

// LockKeyBackfillName names the lock key backfill where its completion is
// recorded (see BackfillMarkers).
const LockKeyBackfillName = "lockkey-backfill-v1"

// BackfillMarkers records which one-off backfills completed on a data set,
// so a later start skips them.
type BackfillMarkers interface {
	// Completed reports whether the backfill name completed.
	Completed(ctx context.Context, name string) (bool, error)
	// MarkCompleted records that the backfill name completed.
	MarkCompleted(ctx context.Context, name string, at time.Time) error
}

// LockKeyBackfillStats counts what a lock key backfill did.
type LockKeyBackfillStats struct {
	// Scanned counts the LockProvisioned events read.
	Scanned int
	// Live counts the locks neither deprovisioned nor released.
	Live int
	// Claimed counts the claims appended for live locks.
	Claimed int
	// AlreadyClaimed counts the live locks that held their key already.
	AlreadyClaimed int
	// Shared counts the live locks whose key another live lock holds: each
	// is logged as a warning naming both.
	Shared int
	// Pending counts the live locks whose key is held by the claim of a
	// provisioning that may still complete (its lock does not exist yet
	// and its claim is within lock.KeyClaimGrace): the backfill is not
	// recorded as completed and runs again at the next start.
	Pending int
	// Released counts the claims released again because their lock was
	// deprovisioned or released while the backfill claimed its key.
	Released int
}

// LockKeyBackfill claims, for every live lock provisioned before public
// keys were claimed (commit "one lock per public key"), its public key in
// the key's claim stream, so that no new lock can be provisioned with it.
// The locks are found in the log ($all, LockProvisioned of the lock
// streams), not in a read model that may lag, in position order, and each
// key is claimed through claimLockKey, the path POST /locks takes: a claim
// the lock holds already is a no-op, and two backfills (two servers) or a
// backfill and a provisioning racing on one key append one claim, so the
// backfill is safe to run again or on two servers at once. Where two live
// locks share a key (possible in old logs) the first provisioned keeps it
// and the other is logged as a warning.
type LockKeyBackfill struct {
	s     *Service
	log   *slog.Logger
	batch int
	// progressEvery is how often a running backfill logs its progress.
	progressEvery time.Duration
}

// lockKeyBackfillBatch bounds the LockProvisioned events one read returns.
const lockKeyBackfillBatch = 500

// NewLockKeyBackfill returns a backfill, refusing nil dependencies.
func NewLockKeyBackfill(s *Service, log *slog.Logger) (*LockKeyBackfill, error) {
	if s == nil || log == nil {
		return nil, errors.New("commands: lock key backfill needs a service and a logger")
	}
	return &LockKeyBackfill{s: s, log: log, batch: lockKeyBackfillBatch, progressEvery: 10 * time.Second}, nil
}

// Run runs the backfill once per data set: nothing when markers say it
// completed; otherwise it backfills and records completion (unless a key
// is pending, see LockKeyBackfillStats.Pending). A run cut short (a crash,
// a stop, an error) records nothing, so the next one runs it again. It
// reports whether it ran.
func (b *LockKeyBackfill) Run(ctx context.Context, markers BackfillMarkers) (bool, error) {
	done, err := markers.Completed(ctx, LockKeyBackfillName)
	if err != nil {
		return false, fmt.Errorf("lock key backfill marker: %w", err)
	}
	if done {
		return false, nil
	}
	st, err := b.Backfill(ctx)
	if err != nil {
		return true, err
	}
	if st.Pending > 0 {
		b.log.Warn("lock key backfill: not recorded as completed, some keys are held by provisionings that may still complete; it runs again at the next start",
			"pending", st.Pending)
		return true, nil
	}
	if err := markers.MarkCompleted(ctx, LockKeyBackfillName, b.s.p.Now()); err != nil {
		return true, fmt.Errorf("lock key backfill marker: %w", err)
	}
	b.log.Info("lock key backfill: recorded as completed; later starts skip it", "marker", LockKeyBackfillName)
	return true, nil
}

// Backfill claims the key of every live lock the log holds up to its head
// at the start (locks provisioned later claimed their keys themselves),
// logging its progress and what it did.
func (b *LockKeyBackfill) Backfill(ctx context.Context) (LockKeyBackfillStats, error) {
	var st LockKeyBackfillStats
	head, err := b.s.p.store.HeadPosition(ctx)
	if err != nil {
		return st, fmt.Errorf("lock key backfill: %w", err)
	}
	started := time.Now()
	b.log.Info("lock key backfill: started", "headPosition", head)
	lastReport := started
	filter := eventstore.Filter{EventTypes: []string{lock.LockProvisioned{}.EventType()}, StreamPrefixes: []string{lock.Category + "-"}}
	after := uint64(0)
	for after < head {
		recs, err := b.s.p.store.ReadAll(ctx, after, b.batch, filter)
		if err != nil {
			return st, fmt.Errorf("lock key backfill: read the log after %d: %w", after, err)
		}
		for _, rec := range recs {
			if rec.Position > head {
				after = head
				break
			}
			after = rec.Position
			id, ok := strings.CutPrefix(rec.Stream, lock.Category+"-")
			lockID, err := uuid.Parse(id)
			if !ok || err != nil {
				continue // not a lock stream
			}
			st.Scanned++
			if err := b.claim(ctx, lockID, &st); err != nil {
				return st, fmt.Errorf("lock key backfill: lock %s: %w", lockID, err)
			}
			if time.Since(lastReport) >= b.progressEvery {
				lastReport = time.Now()
				b.log.Info("lock key backfill: progress", "locksScanned", st.Scanned, "claimsMade", st.Claimed,
					"position", after, "headPosition", head)
			}
		}
		if len(recs) < b.batch {
			break
		}
	}
	b.log.Info("lock key backfill: done", "locksScanned", st.Scanned, "liveLocks", st.Live, "claimsMade", st.Claimed,
		"alreadyClaimed", st.AlreadyClaimed, "sharedKeys", st.Shared, "pending", st.Pending, "released", st.Released,
		"duration", time.Since(started).Round(time.Millisecond))
	return st, nil
}

// claim claims a live lock's key for it.
func (b *LockKeyBackfill) claim(ctx context.Context, lockID uuid.UUID, st *LockKeyBackfillStats) error {
	p := b.s.p
	l, err := Load(ctx, p, lockAgg, lockID)
	if err != nil {
		return err
	}
	key := l.State.PublicKey()
	if !l.State.Exists() || key == "" {
		return nil // deprovisioned or released: its key is free
	}
	st.Live++
	accountID := l.State.AccountID()
	// The claim, and a release below, belong to the lock's account: with
	// no API key behind the backfill, the forwarder routes them to that
	// account's webhooks by the actor's account in their metadata.
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: accountID})
	ctx = WithCorrelationID(ctx, "lockkey-backfill-"+lockID.String())
	claimID := lock.KeyClaimID(key)
	before, err := Load(ctx, p, keyClaimAgg, claimID)
	if err != nil {
		return err
	}
	if before.State.LockID() == lockID {
		st.AlreadyClaimed++
	} else {
		err := b.s.claimLockKey(ctx, lockID, accountID, key)
		if errors.Is(err, lock.ErrKeyInUse) {
			return b.inUse(ctx, lockID, accountID, claimID, st)
		}
		if err != nil {
			return err
		}
		st.Claimed++
	}
	// A deprovisioning (or release) that read the claim stream before the
	// claim found nothing to release: look at the lock again, and release
	// the key if it is gone. Either this reads the lock gone, or the
	// lock's removal came after the claim and its release frees the key.
	again, err := Load(ctx, p, lockAgg, lockID)
	if err != nil {
		return err
	}
	if !again.State.Exists() {
		if _, err := b.s.releaseLockKey(ctx, lockID, key, Result{}); err != nil {
			return err
		}
		st.Released++
	}
	return nil
}

// inUse handles a live lock whose key another lock holds: a live lock (two
// locks sharing a key: the earlier claim keeps it) is a warning; the claim
// of a provisioning still within its grace is pending.
func (b *LockKeyBackfill) inUse(ctx context.Context, lockID, accountID, claimID uuid.UUID, st *LockKeyBackfillStats) error {
	claim, err := Load(ctx, b.s.p, keyClaimAgg, claimID)
	if err != nil {
		return err
	}
	holder := claim.State.LockID()
	h, err := Load(ctx, b.s.p, lockAgg, holder)
	if err != nil {
		return err
	}
	if !h.State.Exists() {
		st.Pending++
		b.log.Warn("lock key backfill: a provisioning not completed yet holds the public key of a live lock; the backfill runs again at the next start",
			"lockId", lockID, "accountId", accountID, "holderLockId", holder, "keyClaimId", claimID)
		return nil
	}
	st.Shared++
	b.log.Warn("lock key backfill: two live locks share a public key; the lock that claimed it first keeps it, the other cannot be told apart by its key",
		"lockId", holder, "accountId", h.State.AccountID(), "otherLockId", lockID, "otherAccountId", accountID, "keyClaimId", claimID)
	return nil
}
