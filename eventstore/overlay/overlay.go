// Package overlay is an eventstore.Store that reads a base store as of one
// position and keeps its own appends in memory: a copy of the log on which
// commands can be run to see what they would do, without appending anything
// to the base.
package overlay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

// ErrNoSubscriptions is returned by Subscribe: nothing projects an overlay.
var ErrNoSubscriptions = errors.New("overlay: subscriptions are not supported")

// readPage is how many base events one internal stream read asks for.
const readPage = 1024

// Store is a base store frozen at its head when New ran, plus the events
// appended to the overlay since, which only the overlay sees. Base events
// appended after that head are invisible to it, so a copy stays one
// consistent snapshot however busy the base is.
type Store struct {
	base eventstore.Store
	// head is the base's head when the overlay was made; overlay events
	// take the positions after it.
	head uint64
	now  func() time.Time

	mu       sync.Mutex
	closed   bool
	events   []eventstore.RecordedEvent // the overlay's own, in $all order
	streams  map[string][]int           // stream -> indexes into events, by revision
	baseLast map[string]int64           // stream -> last base revision at head (-1: none)
}

var _ eventstore.Store = (*Store)(nil)

// New returns an empty overlay over base as it is now. now stamps the
// overlay events' RecordedAt (time.Now when nil).
func New(ctx context.Context, base eventstore.Store, now func() time.Time) (*Store, error) {
	if base == nil {
		return nil, errors.New("overlay: needs a base store")
	}
	if now == nil {
		now = time.Now
	}
	head, err := base.HeadPosition(ctx)
	if err != nil {
		return nil, fmt.Errorf("overlay: base head: %w", err)
	}
	return &Store{base: base, head: head, now: now, streams: map[string][]int{}, baseLast: map[string]int64{}}, nil
}

// BaseHead is the base position the overlay reads the base as of.
func (s *Store) BaseHead() uint64 { return s.head }

// Appended returns the events appended to the overlay, in order.
func (s *Store) Appended() []eventstore.RecordedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]eventstore.RecordedEvent, len(s.events))
	for i, ev := range s.events {
		out[i] = clone(ev)
	}
	return out
}

// Append implements eventstore.Store with the contract's expected-revision
// and idempotency rules over the base's events and the overlay's together.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.ValidateAppend(stream, events, eventstore.DefaultMaxEventSize); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	baseLast, err := s.lastBaseRevision(ctx, stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	current := baseLast + int64(len(s.streams[stream]))
	wrong := &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: current}
	if res, done, err := s.idempotent(ctx, stream, current, expected, events); err != nil || done {
		return res, err
	}
	if !expected.Satisfied(current) {
		return eventstore.AppendResult{}, wrong
	}
	if len(events) == 0 {
		if current < 0 {
			return eventstore.AppendResult{}, nil
		}
		last, err := s.at(ctx, stream, uint64(current))
		return eventstore.AppendResult{NextExpectedRevision: uint64(current), Position: last.Position}, err
	}
	now := s.now().UTC()
	for i, ev := range events {
		s.streams[stream] = append(s.streams[stream], len(s.events))
		s.events = append(s.events, eventstore.RecordedEvent{
			ID: ev.ID, Type: ev.Type, Stream: stream, Revision: uint64(current + 1 + int64(i)),
			Position: s.head + uint64(len(s.events)) + 1, RecordedAt: now,
			Data: bytes.Clone(ev.Data), Metadata: bytes.Clone(ev.Metadata),
		})
	}
	last := s.events[len(s.events)-1]
	return eventstore.AppendResult{NextExpectedRevision: last.Revision, Position: last.Position}, nil
}

// idempotent reports whether events already sit in the stream where
// expected says they would go (done, with the result that reports them),
// or, with Any or StreamExists, whether the first id is there but the rest
// do not follow it (a wrong expected version).
func (s *Store) idempotent(ctx context.Context, stream string, current int64, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	if current < 0 || len(events) == 0 {
		return eventstore.AppendResult{}, false, nil
	}
	var first uint64
	anywhere := false
	switch r, exact := expected.Revision(); {
	case exact:
		if int64(r) >= current {
			return eventstore.AppendResult{}, false, nil
		}
		first = r + 1
	case expected.IsNoStream():
		first = 0
	default:
		rev, found, err := s.find(ctx, stream, current, events[0].ID)
		if err != nil || !found {
			return eventstore.AppendResult{}, false, err
		}
		first, anywhere = rev, true
	}
	held, err := s.read(ctx, stream, current, first, len(events))
	if err != nil {
		return eventstore.AppendResult{}, false, err
	}
	same := len(held) == len(events)
	for i := 0; same && i < len(events); i++ {
		same = held[i].ID == events[i].ID
	}
	if !same {
		if anywhere {
			return eventstore.AppendResult{}, true, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: current}
		}
		return eventstore.AppendResult{}, false, nil
	}
	last := held[len(held)-1]
	return eventstore.AppendResult{NextExpectedRevision: last.Revision, Position: last.Position}, true, nil
}

// find returns the first revision of the stream holding id.
func (s *Store) find(ctx context.Context, stream string, current int64, id uuid.UUID) (uint64, bool, error) {
	for from := uint64(0); int64(from) <= current; {
		page, err := s.read(ctx, stream, current, from, readPage)
		if err != nil {
			return 0, false, err
		}
		for _, ev := range page {
			if ev.ID == id {
				return ev.Revision, true, nil
			}
		}
		if len(page) == 0 {
			break
		}
		from = page[len(page)-1].Revision + 1
	}
	return 0, false, nil
}

// at returns the event at revision rev of the stream.
func (s *Store) at(ctx context.Context, stream string, rev uint64) (eventstore.RecordedEvent, error) {
	evs, err := s.read(ctx, stream, int64(rev), rev, 1)
	if err != nil {
		return eventstore.RecordedEvent{}, err
	}
	if len(evs) == 0 {
		return eventstore.RecordedEvent{}, fmt.Errorf("overlay: %s has no revision %d", stream, rev)
	}
	return evs[0], nil
}

// read returns up to max (0: all) events of the stream forwards from
// revision from, base first, then the overlay's; current is the stream's
// last revision. The caller holds s.mu.
func (s *Store) read(ctx context.Context, stream string, current int64, from uint64, max int) ([]eventstore.RecordedEvent, error) {
	baseLast := s.baseLast[stream]
	var out []eventstore.RecordedEvent
	full := func() bool { return max > 0 && len(out) >= max }
	if int64(from) <= baseLast {
		recs, err := s.base.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: from, Max: max})
		if err != nil {
			return nil, fmt.Errorf("overlay: read base %s: %w", stream, err)
		}
		for _, r := range recs {
			if int64(r.Revision) > baseLast {
				break
			}
			out = append(out, r)
		}
	}
	for _, i := range s.streams[stream] {
		if ev := s.events[i]; ev.Revision >= from && int64(ev.Revision) <= current && !full() {
			out = append(out, clone(ev))
		}
	}
	return out, nil
}

// lastBaseRevision is the stream's last revision in the base as of the
// overlay's head (-1: none), read once. Events the base took after that
// head are skipped. The caller holds s.mu.
func (s *Store) lastBaseRevision(ctx context.Context, stream string) (int64, error) {
	if r, ok := s.baseLast[stream]; ok {
		return r, nil
	}
	last := int64(-1)
	for from := eventstore.StreamEnd; ; {
		page, err := s.base.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: from, Max: 64})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("overlay: read base %s: %w", stream, err)
		}
		found := false
		for _, ev := range page {
			if ev.Position <= s.head {
				last, found = int64(ev.Revision), true
				break
			}
		}
		if found || len(page) == 0 || page[len(page)-1].Revision == 0 {
			break
		}
		from = page[len(page)-1].Revision - 1
	}
	s.baseLast[stream] = last
	return last, nil
}

// ReadStream implements eventstore.Store: the base stream as of the head,
// followed by the overlay's events of it.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	baseLast, err := s.lastBaseRevision(ctx, stream)
	if err != nil {
		return nil, err
	}
	current := baseLast + int64(len(s.streams[stream]))
	if current < 0 {
		return nil, fmt.Errorf("read %s: %w", stream, eventstore.ErrStreamNotFound)
	}
	if opts.Direction == eventstore.Forwards {
		return s.read(ctx, stream, current, opts.From, opts.Max)
	}
	from := min(opts.From, uint64(current))
	var out []eventstore.RecordedEvent
	own := s.streams[stream]
	for i := len(own) - 1; i >= 0 && (opts.Max == 0 || len(out) < opts.Max); i-- {
		if ev := s.events[own[i]]; ev.Revision <= from {
			out = append(out, clone(ev))
		}
	}
	if baseLast >= 0 && (opts.Max == 0 || len(out) < opts.Max) {
		rest := 0
		if opts.Max > 0 {
			rest = opts.Max - len(out)
		}
		recs, err := s.base.ReadStream(ctx, stream, eventstore.ReadStreamOptions{
			Direction: eventstore.Backwards, From: min(from, uint64(baseLast)), Max: rest})
		if err != nil {
			return nil, fmt.Errorf("overlay: read base %s: %w", stream, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// ReadAll implements eventstore.Store: the base's events up to the head,
// then the overlay's.
func (s *Store) ReadAll(ctx context.Context, after uint64, max int, filter eventstore.Filter) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, fmt.Errorf("overlay: read $all with max %d, want > 0", max)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	var out []eventstore.RecordedEvent
	for after < s.head && len(out) < max {
		recs, err := s.base.ReadAll(ctx, after, max-len(out), filter)
		if err != nil {
			return nil, fmt.Errorf("overlay: read base $all: %w", err)
		}
		if len(recs) == 0 {
			after = s.head
			break
		}
		for _, r := range recs {
			if r.Position > s.head {
				after = s.head
				break
			}
			out, after = append(out, r), r.Position
		}
	}
	for _, ev := range s.events {
		if len(out) >= max {
			break
		}
		if ev.Position > after && filter.Match(ev.Stream, ev.Type) {
			out = append(out, clone(ev))
		}
	}
	return out, nil
}

// Subscribe implements eventstore.Store by refusing: an overlay is read
// directly, never projected.
func (s *Store) Subscribe(context.Context, uint64, eventstore.Filter) (eventstore.Subscription, error) {
	return nil, ErrNoSubscriptions
}

// HeadPosition implements eventstore.Store: the last overlay event's
// position, or the base head the overlay was made at.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, eventstore.ErrClosed
	}
	return s.head + uint64(len(s.events)), nil
}

// Close implements eventstore.Store; it drops the overlay's events and
// leaves the base open: the base belongs to its owner.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed, s.events, s.streams = true, nil, map[string][]int{}
	return nil
}

func clone(ev eventstore.RecordedEvent) eventstore.RecordedEvent {
	ev.Data = bytes.Clone(ev.Data)
	ev.Metadata = bytes.Clone(ev.Metadata)
	return ev
}
