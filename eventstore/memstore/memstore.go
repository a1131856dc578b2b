// Package memstore is an in-memory eventstore.Store guarded by one mutex: the
// reference implementation of the contract, and a fast store for tests of
// code that appends, reads or subscribes (commands, projections).
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

// Store keeps every event in memory. Its zero value is not usable: call New.
type Store struct {
	maxSize int
	stride  uint64
	now     func() time.Time

	mu      sync.Mutex
	events  []eventstore.RecordedEvent // $all; events[i].Position == (i+1)*stride
	streams map[string]*stream
	// changed is closed and replaced by every append, waking subscriptions.
	changed  chan struct{}
	closed   chan struct{}
	isClosed bool
}

// stream indexes one stream's events in Store.events.
type stream struct {
	at  []int                // at[revision] is the index in Store.events
	ids map[uuid.UUID]uint64 // first revision of each event id
}

// Option configures a Store.
type Option func(*Store)

// WithMaxEventSize sets the largest data plus metadata accepted per event
// (eventstore.DefaultMaxEventSize by default).
func WithMaxEventSize(n int) Option { return func(s *Store) { s.maxSize = n } }

// WithPositionStride spaces $all positions n apart (n, 2n, 3n, …) instead of
// 1, 2, 3, …, as EventStoreDB's positions have gaps: a consumer that assumes
// dense positions fails against it.
func WithPositionStride(n uint64) Option {
	return func(s *Store) {
		if n > 0 {
			s.stride = n
		}
	}
}

// WithClock sets where RecordedAt comes from (time.Now by default).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		maxSize: eventstore.DefaultMaxEventSize,
		stride:  1,
		now:     time.Now,
		streams: map[string]*stream{},
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ eventstore.Store = (*Store)(nil)

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, name string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.ValidateAppend(name, events, s.maxSize); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	st := s.streams[name]
	current := int64(-1)
	if st != nil {
		current = int64(len(st.at)) - 1
	}
	switch res, state := s.idempotent(st, expected, events); state {
	case written:
		return res, nil
	case conflict:
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{Stream: name, Expected: expected, Actual: current}
	}
	if !expected.Satisfied(current) {
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{Stream: name, Expected: expected, Actual: current}
	}
	if len(events) == 0 {
		if st == nil {
			return eventstore.AppendResult{}, nil
		}
		return eventstore.AppendResult{NextExpectedRevision: uint64(current), Position: s.events[st.at[current]].Position}, nil
	}
	if st == nil {
		st = &stream{ids: map[uuid.UUID]uint64{}}
		s.streams[name] = st
	}
	now := s.now().UTC()
	for _, ev := range events {
		rev := uint64(len(st.at))
		st.at = append(st.at, len(s.events))
		if _, dup := st.ids[ev.ID]; !dup {
			st.ids[ev.ID] = rev
		}
		s.events = append(s.events, eventstore.RecordedEvent{
			ID: ev.ID, Type: ev.Type, Stream: name, Revision: rev,
			Position:   uint64(len(s.events)+1) * s.stride,
			RecordedAt: now,
			Data:       bytes.Clone(ev.Data), Metadata: bytes.Clone(ev.Metadata),
		})
	}
	close(s.changed)
	s.changed = make(chan struct{})
	last := s.events[len(s.events)-1]
	return eventstore.AppendResult{NextExpectedRevision: last.Revision, Position: last.Position}, nil
}

// idempotency is what the ids of an append say about it.
type idempotency int

const (
	// fresh: the ids are not where the append would put them; the expected
	// revision decides.
	fresh idempotency = iota
	// written: the ids already sit where the append would put them: a no-op.
	written
	// conflict: with Any or StreamExists, the first id is in the stream but
	// the rest do not follow it (EventStoreDB's corrupted idempotency): a
	// wrong expected version.
	conflict
)

// idempotent reports whether events already sit in st where expected says
// they would go, and if so the result that reports them.
func (s *Store) idempotent(st *stream, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, idempotency) {
	if st == nil || len(events) == 0 {
		return eventstore.AppendResult{}, fresh
	}
	var first uint64
	onMismatch := fresh
	switch r, exact := expected.Revision(); {
	case exact:
		if r >= uint64(len(st.at))-1 {
			// At the expected place it is a real append; past the end the
			// ids cannot be there.
			return eventstore.AppendResult{}, fresh
		}
		first = r + 1
	case expected.IsNoStream():
		first = 0
	default: // Any, StreamExists: wherever the first id is
		rev, ok := st.ids[events[0].ID]
		if !ok {
			return eventstore.AppendResult{}, fresh
		}
		first, onMismatch = rev, conflict
	}
	if !s.holds(st, first, events) {
		return eventstore.AppendResult{}, onMismatch
	}
	last := s.events[st.at[first+uint64(len(events))-1]]
	return eventstore.AppendResult{NextExpectedRevision: last.Revision, Position: last.Position}, written
}

// holds reports whether st's revisions first… hold exactly events' ids.
func (s *Store) holds(st *stream, first uint64, events []eventstore.EventData) bool {
	if first+uint64(len(events)) > uint64(len(st.at)) {
		return false
	}
	for i, ev := range events {
		if s.events[st.at[first+uint64(i)]].ID != ev.ID {
			return false
		}
	}
	return true
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, name string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return nil, eventstore.ErrClosed
	}
	st := s.streams[name]
	if st == nil {
		return nil, fmt.Errorf("read %s: %w", name, eventstore.ErrStreamNotFound)
	}
	n := uint64(len(st.at))
	var out []eventstore.RecordedEvent
	full := func() bool { return opts.Max > 0 && len(out) >= opts.Max }
	if opts.Direction == eventstore.Backwards {
		from := min(opts.From, n-1)
		for r := int64(from); r >= 0 && !full(); r-- {
			out = append(out, clone(s.events[st.at[r]]))
		}
		return out, nil
	}
	for r := opts.From; r < n && !full(); r++ {
		out = append(out, clone(s.events[st.at[r]]))
	}
	return out, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after uint64, max int, filter eventstore.Filter) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, fmt.Errorf("memstore: read $all with max %d, want > 0", max)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return nil, eventstore.ErrClosed
	}
	var out []eventstore.RecordedEvent
	for i := s.indexAfter(after); i < len(s.events) && len(out) < max; i++ {
		if ev := s.events[i]; filter.Match(ev.Stream, ev.Type) {
			out = append(out, clone(ev))
		}
	}
	return out, nil
}

// indexAfter is the index in s.events of the first event whose position is
// strictly after `after`.
func (s *Store) indexAfter(after uint64) int {
	i := after / s.stride
	if i > uint64(len(s.events)) {
		return len(s.events)
	}
	return int(i)
}

// HeadPosition implements eventstore.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return 0, eventstore.ErrClosed
	}
	return uint64(len(s.events)) * s.stride, nil
}

// Close implements eventstore.Store; it ends every open subscription and is
// safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isClosed {
		s.isClosed = true
		close(s.closed)
	}
	return nil
}

func clone(ev eventstore.RecordedEvent) eventstore.RecordedEvent {
	ev.Data = bytes.Clone(ev.Data)
	ev.Metadata = bytes.Clone(ev.Metadata)
	return ev
}
