package kurrent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/accessd/accessd/eventstore"
)

// maxPage is the most events one read of $all asks for.
const maxPage = 4096

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	return s.readStream(ctx, stream, opts)
}

func (s *Store) readStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	o := esdb.ReadStreamOptions{From: esdb.Revision(opts.From)}
	if opts.Direction == eventstore.Backwards {
		o.Direction = esdb.Backwards
		if opts.From == eventstore.StreamEnd {
			o.From = esdb.End{}
		}
	}
	// The server takes a count; the largest it reads as "no limit" is
	// math.MaxInt64 (a .NET long).
	count := uint64(math.MaxInt64)
	if opts.Max > 0 {
		count = uint64(opts.Max)
	}
	var out []eventstore.RecordedEvent
	var foreign error
	err := s.call(ctx, "read "+stream, func(c *esdb.Client) error {
		out = nil
		rs, err := c.ReadStream(ctx, s.serverName(stream), o, count)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			rec, ok := s.recordedOf(ev)
			if !ok {
				foreign = fmt.Errorf("kurrent: read %s: the server sent an event of %q", stream, ev.OriginalEvent().StreamID)
				return nil
			}
			out = append(out, rec)
		}
	})
	if err == nil {
		err = foreign
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadAll implements eventstore.Store. The client reads $all with no server
// filter, so pages of $all are read and filtered here until max events pass
// or the log ends.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int, filter eventstore.Filter) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("kurrent: read $all with max %d, want > 0", limit)
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	// One more than limit: a read from a position includes the event there.
	// When events are dropped here (a filter, other stores' streams), most
	// of a page may not count: read big pages, to make fewer calls.
	page := uint64(min(max(limit+1, 64), maxPage))
	if s.prefix != "" || len(filter.EventTypes) > 0 || len(filter.StreamPrefixes) > 0 {
		page = maxPage
	}
	var out []eventstore.RecordedEvent
	for {
		from := after
		n, err := s.readAllPage(ctx, after, page, func(ev *esdb.ResolvedEvent) bool {
			pos := ev.OriginalEvent().Position.Commit
			if pos <= after {
				return true
			}
			after = pos
			if rec, ok := s.recordedOf(ev); ok && filter.Match(rec.Stream, rec.Type) {
				out = append(out, rec)
			}
			return len(out) < limit
		})
		if err != nil {
			return nil, err
		}
		if len(out) >= limit || n < page {
			return out, nil
		}
		if after == from {
			return nil, fmt.Errorf("kurrent: read $all after %d: a full page did not move past it", after)
		}
	}
}

// readAllPage reads up to page events of $all forwards from position from
// (inclusive; 0 is the start), handing each to yield until it returns
// false, and returns how many it read. A page read again after a lost
// connection hands yield the same events again: yield skips them by
// position.
func (s *Store) readAllPage(ctx context.Context, from, page uint64, yield func(*esdb.ResolvedEvent) bool) (uint64, error) {
	var start esdb.AllPosition = esdb.Start{}
	if from > 0 {
		start = esdb.Position{Commit: from, Prepare: from}
	}
	var n uint64
	err := s.call(ctx, fmt.Sprintf("read $all from %d", from), func(c *esdb.Client) error {
		n = 0
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: start}, page)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			n++
			if !yield(ev) {
				return nil
			}
		}
	})
	return n, err
}

// HeadPosition implements eventstore.Store: the position of the last event
// that is the store's, found reading $all backwards past system events (and,
// with a stream prefix, other stores' events).
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer end()
	// Small first: the last event is usually the store's. Then larger, as
	// system events or other stores' events lie in between.
	page := uint64(16)
	var from esdb.AllPosition = esdb.End{}
	for ; ; page = min(4*page, maxPage) {
		var n, oldest, head uint64
		err := s.call(ctx, "head of $all", func(c *esdb.Client) error {
			n, oldest, head = 0, 0, 0
			rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, page)
			if err != nil {
				return err
			}
			defer rs.Close()
			for {
				ev, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				n++
				oldest = ev.OriginalEvent().Position.Commit
				if _, ok := s.recordedOf(ev); ok {
					head = oldest
					return nil
				}
			}
		})
		switch {
		case err != nil:
			return 0, err
		case head > 0:
			return head, nil
		case n < page:
			return 0, nil
		}
		from = esdb.Position{Commit: oldest, Prepare: oldest}
	}
}

// recordedOf turns a read event into the store's, and reports false for an
// event that is not the store's: a system event, a link, or a stream
// without the store's prefix.
func (s *Store) recordedOf(ev *esdb.ResolvedEvent) (eventstore.RecordedEvent, bool) {
	e := ev.OriginalEvent()
	if e == nil || strings.HasPrefix(e.EventType, "$") {
		return eventstore.RecordedEvent{}, false
	}
	stream, ok := s.localName(e.StreamID)
	if !ok {
		return eventstore.RecordedEvent{}, false
	}
	return eventstore.RecordedEvent{
		ID:         e.EventID,
		Type:       e.EventType,
		Stream:     stream,
		Revision:   e.EventNumber,
		Position:   e.Position.Commit,
		RecordedAt: e.CreatedDate,
		Data:       json.RawMessage(e.Data),
		Metadata:   json.RawMessage(e.UserMetadata),
	}, true
}
