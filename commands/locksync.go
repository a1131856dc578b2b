package commands

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
)

// MaxAccessLogsPerSync bounds the entries of one sync; a lock with more
// sends them over several syncs.
const MaxAccessLogsPerSync = 1000

var (
	// ErrLockSignature: the x-lock-signature is missing, malformed, or
	// not the lock's signature of the exact request body (401).
	ErrLockSignature = domain.NewError(domain.ErrUnauthenticated,
		"missing or wrong x-lock-signature: it must be the lock's Ed25519 signature of the exact request body, standard base64")
	// ErrNotThisLock: only a lock's own key may sync it (403).
	ErrNotThisLock = domain.NewError(domain.ErrForbidden, "only the lock's own API key may sync it")
)

// KeyMapHistory is what a sync needs of the key maps to check the access
// attempts a lock logged.
type KeyMapHistory interface {
	// KeyMapAt returns the version of the lock's key map in force at an
	// instant and the hash of its entry set ("" and 0 before the first).
	KeyMapAt(ctx context.Context, lockID uuid.UUID, at time.Time) (version uint64, hash string, err error)
	// KeyMapEntries returns the entry set with that hash.
	KeyMapEntries(ctx context.Context, hash string) ([]access.Entry, error)
	// AccessKey returns the device key an access key id names in the
	// account, even after it was rotated or its device removed.
	AccessKey(ctx context.Context, accountID, accessKeyID uuid.UUID) (access.Device, bool, error)
}

// LockSyncs runs the syncs of locks: it checks that the body is the lock's,
// records what the lock reports, and keeps the access attempts it logged
// with the server's checks.
type LockSyncs struct {
	s       *Service
	history KeyMapHistory
	// stripes serialize the appends to one lock's access log in this
	// process, so each entry is chained to the one before it.
	stripes [64]sync.Mutex
}

// NewLockSyncs returns the lock sync handler, refusing nil dependencies.
func NewLockSyncs(s *Service, history KeyMapHistory) (*LockSyncs, error) {
	if s == nil || history == nil {
		return nil, errors.New("commands: lock sync needs the service and the key-map history")
	}
	return &LockSyncs{s: s, history: history}, nil
}

// SignedLockSync is a sync as it arrives: the raw body and the lock's
// signature of it (standard base64).
type SignedLockSync struct {
	LockID    uuid.UUID
	Body      []byte
	Signature string
}

// LockSync is a sync body once verified and decoded.
type LockSync struct {
	Report     lock.Sync
	AccessLogs []lock.AccessAttempt
}

// LockSyncDecoder decodes a verified body; it runs only after the
// signature checked out.
type LockSyncDecoder func(body []byte) (LockSync, error)

// SyncedLock is what a sync did.
type SyncedLock struct {
	LockID, AccountID uuid.UUID
	// Report is what the lock reported.
	Report lock.Sync
	// EncryptionPublicKey is the lock's X25519 key, to seal its key map to.
	EncryptionPublicKey string
	// AcceptedAccessLogIDs are the entries kept (or kept before), each once.
	AcceptedAccessLogIDs []uuid.UUID
	// At is the server's clock when the sync was decided.
	At time.Time
	Result
}

// SyncLock runs one sync. The caller must be the lock's own key; the body
// must carry the lock's signature, checked against its registered key
// before anything is decoded or kept. Then LockSynced is recorded (see
// lock.Sync) and each access attempt is appended to the lock's access log
// under an id derived from its lockAccessLogId, so one sent again is
// stored once and accepted again.
func (l *LockSyncs) SyncLock(ctx context.Context, req SignedLockSync, decode LockSyncDecoder) (SyncedLock, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return SyncedLock{}, ErrNoActor
	}
	if actor.LockID == uuid.Nil || actor.LockID != req.LockID {
		return SyncedLock{}, ErrNotThisLock
	}
	var (
		in      LockSync
		decoded bool
		st      lock.State
		at      time.Time
	)
	res, err := Execute(ctx, l.s.p, lockAgg, req.LockID, "SyncLock", func(loaded Loaded[lock.State], now time.Time) ([]domain.Event, error) {
		st, at = loaded.State, now
		if !st.Exists() || st.AccountID() != actor.AccountID {
			return nil, lock.ErrNotFound
		}
		if !lockSigned(st.PublicKey(), req.Signature, req.Body) {
			return nil, ErrLockSignature
		}
		if !decoded {
			var err error
			if in, err = decode(req.Body); err != nil {
				return nil, err
			}
			if err := validateAccessLogs(in.AccessLogs); err != nil {
				return nil, err
			}
			decoded = true
		}
		return in.Report.Decide(st, now)
	})
	if err != nil {
		return SyncedLock{}, err
	}
	out := SyncedLock{LockID: req.LockID, AccountID: actor.AccountID, Report: in.Report,
		EncryptionPublicKey: st.EncryptionPublicKey(), AcceptedAccessLogIDs: []uuid.UUID{}, At: at, Result: res}
	if res.Replayed {
		out.At = l.s.p.Now()
	}
	if len(in.AccessLogs) == 0 {
		return out, nil
	}
	accepted, pos, err := l.logAccess(ctx, st, in.AccessLogs)
	if err != nil {
		return SyncedLock{}, err
	}
	out.AcceptedAccessLogIDs = accepted
	if pos > out.Position {
		out.Position = pos
	}
	return out, nil
}

// lockSigned reports whether sig is the lock's Ed25519 signature of body.
func lockSigned(publicKey, sig string, body []byte) bool {
	if sig == "" || len(sig) > 128 {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(publicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return false
	}
	s, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(key), body, s)
}

// validateAccessLogs checks every entry before anything is kept, naming
// the entry at fault.
func validateAccessLogs(entries []lock.AccessAttempt) error {
	if len(entries) > MaxAccessLogsPerSync {
		return domain.InvalidField("accessLogs", fmt.Sprintf("at most %d entries per sync", MaxAccessLogsPerSync))
	}
	for i, a := range entries {
		if err := a.Validate(); err != nil {
			return AtEntry("accessLogs", i, err)
		}
	}
	return nil
}

// AtEntry names the field of a list entry at fault: `list[i].field`.
func AtEntry(list string, i int, err error) error {
	var de *domain.Error
	if errors.As(err, &de) && errors.Is(err, domain.ErrInvalid) {
		field := fmt.Sprintf("%s[%d]", list, i)
		if de.Field != "" {
			field += "." + de.Field
		}
		return domain.InvalidField(field, de.Message)
	}
	return err
}

// logAccess appends each attempt to the lock's access log, one per
// append with expected Any: an id already in the stream is a no-op, so an
// entry sent again is stored once. Each event is chained to the stream's
// head, which this process alone moves while it holds the lock's stripe.
// It returns the ids accepted, each once, and the last position written.
func (l *LockSyncs) logAccess(ctx context.Context, st lock.State, attempts []lock.AccessAttempt) ([]uuid.UUID, uint64, error) {
	p := l.s.p
	stream := lock.AccessLogStream(st.ID())
	mu := &l.stripes[st.ID()[15]%byte(len(l.stripes))]
	mu.Lock()
	defer mu.Unlock()

	head, err := streamHead(ctx, p, stream)
	if err != nil {
		return nil, 0, err
	}
	meta := p.metadata(ctx)
	now := p.Now()
	meta.OccurredAt = now.UTC()
	sets := map[string][]access.Entry{}
	seen := map[uuid.UUID]bool{}
	accepted := make([]uuid.UUID, 0, len(attempts))
	var last uint64
	for _, a := range attempts {
		if seen[a.LockAccessLogID] {
			continue
		}
		seen[a.LockAccessLogID] = true
		cred, err := l.credential(ctx, st, a, sets)
		if err != nil {
			return nil, 0, err
		}
		events, err := lock.LogAccess{Attempt: a, Credential: cred}.Decide(st, now)
		if err != nil {
			return nil, 0, err
		}
		next := head.next()
		data, hash, err := p.registry.EncodeChained(lock.AccessLogEventID(st.ID(), a.LockAccessLogID), events[0], meta, stream, next, head.hash)
		if err != nil {
			return nil, 0, err
		}
		ar, err := p.store.Append(ctx, stream, eventstore.Any, data)
		if err != nil {
			return nil, 0, fmt.Errorf("append to %s: %w", stream, err)
		}
		switch {
		case ar.NextExpectedRevision == next:
			head = chainHead{exists: true, revision: next, hash: hash} // written after the head
		case head.exists && ar.NextExpectedRevision <= head.revision:
			// Stored before: nothing written, the head did not move.
		default:
			// Another writer moved the head: read it again.
			if head, err = streamHead(ctx, p, stream); err != nil {
				return nil, 0, err
			}
		}
		last = max(last, ar.Position)
		accepted = append(accepted, a.LockAccessLogID)
	}
	return accepted, last, nil
}

// credential finds what the server knew of the attempt's credential: the
// key map in force at the access date and its entry for the key, else the
// device that registered the key.
func (l *LockSyncs) credential(ctx context.Context, st lock.State, a lock.AccessAttempt, sets map[string][]access.Entry) (lock.Credential, error) {
	version, hash, err := l.history.KeyMapAt(ctx, st.ID(), a.AccessDate)
	if err != nil {
		return lock.Credential{}, fmt.Errorf("key map of lock %s at %s: %w", st.ID(), a.AccessDate, err)
	}
	cred := lock.Credential{KeyMapVersion: version}
	if a.AccessKeyID == uuid.Nil && a.AccessCodeID == uuid.Nil {
		return cred, nil
	}
	entries, ok := sets[hash]
	if !ok && hash != "" {
		if entries, err = l.history.KeyMapEntries(ctx, hash); err != nil {
			return cred, fmt.Errorf("key map %s: %w", hash, err)
		}
		sets[hash] = entries
	}
	if a.AccessKeyID == uuid.Nil {
		// An access code: was it in that key map? A revoked code that
		// still opened is stale like a revoked key.
		for _, x := range entries {
			if x.AccessCodeID == a.AccessCodeID {
				cred.InKeyMap = true
				break
			}
		}
		return cred, nil
	}
	e, found := access.Opens(entries, a.AccessKeyID, a.AccessDate)
	if !found {
		for _, x := range entries {
			if x.AccessKeyID == a.AccessKeyID {
				e, found = x, true
				break
			}
		}
	}
	if found {
		cred.InKeyMap, cred.Known = true, true
		cred.UserID, cred.UserDeviceID, cred.UserGroupID, cred.AreaID, cred.PublicKey = e.UserID, e.UserDeviceID, e.UserGroupID, e.AreaID, e.PublicKey
		return cred, nil
	}
	d, ok, err := l.history.AccessKey(ctx, st.AccountID(), a.AccessKeyID)
	if err != nil {
		return cred, fmt.Errorf("access key %s: %w", a.AccessKeyID, err)
	}
	if ok {
		cred.Known = true
		cred.UserID, cred.UserDeviceID, cred.PublicKey = d.UserID, d.DeviceID, d.PublicKey
	}
	return cred, nil
}

// chainHead is the last event of a stream: its revision and chain hash.
type chainHead struct {
	exists   bool
	revision uint64
	hash     string
}

func (h chainHead) next() uint64 {
	if !h.exists {
		return 0
	}
	return h.revision + 1
}

// streamHead reads the last event of a stream.
func streamHead(ctx context.Context, p *Pipeline, stream string) (chainHead, error) {
	recs, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return chainHead{}, nil
	}
	if err != nil {
		return chainHead{}, fmt.Errorf("head of %s: %w", stream, err)
	}
	env, err := p.registry.Decode(recs[0])
	if err != nil {
		return chainHead{}, fmt.Errorf("head of %s: %w", stream, err)
	}
	return chainHead{exists: true, revision: recs[0].Revision, hash: env.Metadata.Hash}, nil
}
