package commands

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
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
	// process; across processes the exact expected revision of each
	// append keeps the chain sound (see logAccess).
	stripes [64]sync.Mutex

	// idxMu guards indexes and indexed: per access-log stream, the event
	// ids this process read (see accessLogIndex).
	idxMu   sync.Mutex
	indexes map[string]*accessLogIndex
	indexed int
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
// stored once and accepted again. The lock, the signature, the body and
// its syncDate are checked before Execute: a request repeated with an
// Idempotency-Key replays the first one's events without deciding, and
// is checked the same way (its entries are accepted again).
func (l *LockSyncs) SyncLock(ctx context.Context, req SignedLockSync, decode LockSyncDecoder) (SyncedLock, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return SyncedLock{}, ErrNoActor
	}
	if actor.LockID == uuid.Nil || actor.LockID != req.LockID {
		return SyncedLock{}, ErrNotThisLock
	}
	signedBy := func(st lock.State) error {
		if !st.Exists() || st.AccountID() != actor.AccountID {
			return lock.ErrNotFound
		}
		if !lockSigned(st.PublicKey(), req.Signature, req.Body) {
			return ErrLockSignature
		}
		return nil
	}
	loaded, err := Load(ctx, l.s.p, lockAgg, req.LockID)
	if err != nil {
		return SyncedLock{}, err
	}
	st := loaded.State
	if err := signedBy(st); err != nil {
		return SyncedLock{}, err
	}
	in, err := decode(req.Body)
	if err != nil {
		return SyncedLock{}, err
	}
	if err := validateAccessLogs(in.AccessLogs); err != nil {
		return SyncedLock{}, err
	}
	if err := in.Report.Check(l.s.p.Now()); err != nil {
		return SyncedLock{}, err
	}
	var at time.Time
	res, err := Execute(ctx, l.s.p, lockAgg, req.LockID, "SyncLock", func(cur Loaded[lock.State], now time.Time) ([]domain.Event, error) {
		// Again as the append sees the lock: it may be gone meanwhile.
		if err := signedBy(cur.State); err != nil {
			return nil, err
		}
		st, at = cur.State, now
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

// Bounds of the access-log appends.
const (
	// accessLogChunk is the most entries one append carries, to stay well
	// under a backend's largest append (KurrentDB's is 1 MiB by default).
	accessLogChunk = 100
	// maxAccessLogAttempts bounds the appends of one chunk lost to other
	// writers of the same access log (other API nodes syncing the lock):
	// as many as a command's (about 2 s of backoff in all).
	maxAccessLogAttempts = MaxAttempts
	// maxIndexedAccessLogIDs bounds the event ids the access-log indexes of
	// one process hold, all locks together (about 60 bytes each).
	maxIndexedAccessLogIDs = 1 << 20
)

// logAccess appends the attempts not stored yet to the lock's access log,
// each chained to the event before it. The appends expect the exact
// revision the chain was built on (no-stream for the first), so that two
// processes syncing the same lock cannot both chain to one head: the loser
// gets a wrong expected version, reads what the winner stored and builds
// its chain again on the new head. Under an exact revision the stores do
// not look for an event id elsewhere in the stream, so the attempts
// already stored (sent again by the lock, or stored by another process
// meanwhile) are found in the access log's index of event ids and left
// out. The stripe mutex keeps this process's syncs of one lock from
// racing each other; it is no longer what keeps the chain sound.
// It returns the ids accepted, each once, and the last position written
// or found.
func (l *LockSyncs) logAccess(ctx context.Context, st lock.State, attempts []lock.AccessAttempt) ([]uuid.UUID, uint64, error) {
	p := l.s.p
	stream := lock.AccessLogStream(st.ID())
	mu := &l.stripes[st.ID()[15]%byte(len(l.stripes))]
	mu.Lock()
	defer mu.Unlock()

	idx := l.index(stream)
	defer l.keep(stream, idx)
	if err := idx.catchUp(ctx, p, stream); err != nil {
		return nil, 0, err
	}
	meta := p.metadata(ctx)
	now := p.Now()
	meta.OccurredAt = now.UTC()
	sets := map[string][]access.Entry{}
	seen := map[uuid.UUID]bool{}
	accepted := make([]uuid.UUID, 0, len(attempts))
	var todo []accessLogEvent
	for _, a := range attempts {
		if seen[a.LockAccessLogID] {
			continue
		}
		seen[a.LockAccessLogID] = true
		accepted = append(accepted, a.LockAccessLogID)
		id := lock.AccessLogEventID(st.ID(), a.LockAccessLogID)
		if _, stored := idx.ids[id]; stored {
			continue // stored before: accepted again, not stored twice
		}
		cred, err := l.credential(ctx, st, a, sets)
		if err != nil {
			return nil, 0, err
		}
		events, err := lock.LogAccess{Attempt: a, Credential: cred}.Decide(st, now)
		if err != nil {
			return nil, 0, err
		}
		todo = append(todo, accessLogEvent{id: id, event: events[0]})
	}
	for start := 0; start < len(todo); start += accessLogChunk {
		if err := idx.appendChained(ctx, p, stream, todo[start:min(start+accessLogChunk, len(todo))], meta); err != nil {
			return nil, 0, err
		}
	}
	var last uint64
	for _, a := range accepted {
		last = max(last, idx.ids[lock.AccessLogEventID(st.ID(), a)])
	}
	return accepted, last, nil
}

// accessLogEvent is an entry about to be appended, under its id.
type accessLogEvent struct {
	id    uuid.UUID
	event domain.Event
}

// accessLogIndex is what this process knows of one access-log stream: its
// head and every event id of revisions up to it, with its position.
// Streams only grow, so it may lag but is never wrong: catchUp reads what
// it lacks. Only the holder of the lock's stripe uses it.
type accessLogIndex struct {
	head chainHead
	ids  map[uuid.UUID]uint64
	// counted is len(ids) as LockSyncs.indexed counts it (under idxMu).
	counted int
}

// catchUp reads the events after the index's head, to the stream's end.
func (x *accessLogIndex) catchUp(ctx context.Context, p *Pipeline, stream string) error {
	for {
		page, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: x.head.next(), Max: readPage})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		for _, rec := range page {
			var meta struct {
				Hash string `json:"hash"`
			}
			if len(rec.Metadata) > 0 {
				if err := json.Unmarshal(rec.Metadata, &meta); err != nil {
					return fmt.Errorf("read %s@%d metadata: %w", stream, rec.Revision, err)
				}
			}
			x.head = chainHead{exists: true, revision: rec.Revision, hash: meta.Hash}
			if _, ok := x.ids[rec.ID]; !ok {
				x.ids[rec.ID] = rec.Position
			}
		}
		if len(page) < readPage {
			return nil
		}
	}
}

// appendChained appends the events of batch not in the stream yet, chained
// from the index's head, at exactly that head. It then reads the stream
// back: a success may be the store's idempotent no-op for events another
// process stored with these ids right after that head, whose hashes are
// not the ones built here, and the next chain must start from what is
// stored. On a wrong expected version it reads what the other writer
// stored and tries again, up to maxAccessLogAttempts.
func (x *accessLogIndex) appendChained(ctx context.Context, p *Pipeline, stream string, batch []accessLogEvent, meta eventstore.Metadata) error {
	if err := p.claimKey(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		data := make([]eventstore.EventData, 0, len(batch))
		next, prev := x.head.next(), x.head.hash
		for _, e := range batch {
			if _, stored := x.ids[e.id]; stored {
				continue
			}
			ev, hash, err := p.registry.EncodeChained(e.id, e.event, meta, stream, next, prev)
			if err != nil {
				return err
			}
			data = append(data, ev)
			next, prev = next+1, hash
		}
		if len(data) == 0 {
			return nil
		}
		expected := eventstore.NoStream
		if x.head.exists {
			expected = eventstore.Exact(x.head.revision)
		}
		_, err := p.store.Append(ctx, stream, expected, data...)
		if err != nil && !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			return fmt.Errorf("append to %s: %w", stream, err)
		}
		if cerr := x.catchUp(ctx, p, stream); cerr != nil {
			return cerr
		}
		if err == nil {
			for _, ev := range data {
				if _, ok := x.ids[ev.ID]; !ok {
					return fmt.Errorf("append to %s: event %s is not in the stream after its append", stream, ev.ID)
				}
			}
			return nil
		}
		if attempt >= maxAccessLogAttempts {
			return fmt.Errorf("append to %s: %d appends in a row lost to concurrent writers: %w", stream, attempt, ErrConcurrentChange)
		}
		backoff(ctx, attempt)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// index returns this process's index of an access-log stream, a new empty
// one if it has none.
func (l *LockSyncs) index(stream string) *accessLogIndex {
	l.idxMu.Lock()
	defer l.idxMu.Unlock()
	if x, ok := l.indexes[stream]; ok {
		return x
	}
	return &accessLogIndex{ids: map[uuid.UUID]uint64{}}
}

// keep stores an index after its use, dropping others (arbitrary ones:
// cheap, and good enough) while all of them hold more than
// maxIndexedAccessLogIDs ids. An index dropped is read again in full by
// the next sync of its lock.
func (l *LockSyncs) keep(stream string, x *accessLogIndex) {
	l.idxMu.Lock()
	defer l.idxMu.Unlock()
	if l.indexes == nil {
		l.indexes = map[string]*accessLogIndex{}
	}
	if cur, ok := l.indexes[stream]; ok {
		l.indexed -= cur.counted
	}
	x.counted = len(x.ids)
	l.indexes[stream] = x
	l.indexed += x.counted
	for k, v := range l.indexes {
		if l.indexed <= maxIndexedAccessLogIDs {
			break
		}
		delete(l.indexes, k)
		l.indexed -= v.counted
	}
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
