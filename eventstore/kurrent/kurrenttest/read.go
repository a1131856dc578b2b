package kurrenttest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Read serves a bounded read of a stream or of $all, or a subscription to
// $all. A bounded read only ever sends events or stream-not-found: the client
// panics on any other message there.
func (svc *streamsService) Read(req *streams.ReadReq, call streams.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read: no options")
	}
	keep, err := filterOf(opts)
	if err != nil {
		return err
	}
	idAsString := opts.GetUuidOption().GetString_() != nil
	backwards := opts.GetReadDirection() == streams.ReadReq_Options_Backwards
	if opts.GetSubscription() != nil {
		all := opts.GetAll()
		if all == nil {
			return status.Error(codes.Unimplemented, "read: kurrenttest subscribes to $all only")
		}
		return svc.subscribe(call, all, keep, opts.GetFilter() != nil, idAsString)
	}
	count := opts.GetCount()
	if st := opts.GetStream(); st != nil {
		return svc.readStream(call, st, backwards, count, idAsString)
	}
	all := opts.GetAll()
	if all == nil {
		return status.Error(codes.InvalidArgument, "read: neither a stream nor $all")
	}
	l := svc.srv.log
	var recs []*record
	if backwards {
		// Backwards from a position reads what lies before it.
		end := l.cursor(all.GetStart() != nil, all.GetEnd() != nil, all.GetPosition().GetCommitPosition(), false)
		recs = l.allBackwards(end, count, keep)
	} else {
		start := l.cursor(all.GetStart() != nil, all.GetEnd() != nil, all.GetPosition().GetCommitPosition(), false)
		recs, _ = l.allForwards(start, count, keep)
	}
	return sendAll(call, recs, idAsString)
}

func (svc *streamsService) readStream(call streams.Streams_ReadServer, st *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64, idAsString bool) error {
	name := string(st.GetStreamIdentifier().GetStreamName())
	var from *uint64
	switch v := st.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		from = &v.Revision
	case *streams.ReadReq_Options_StreamOptions_End:
		if !backwards {
			return nil // forwards from the end: nothing yet
		}
	}
	recs, found := svc.srv.log.streamRecords(name, from, backwards, count)
	if !found {
		return call.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
		}}})
	}
	return sendAll(call, recs, idAsString)
}

func sendAll(call streams.Streams_ReadServer, recs []*record, idAsString bool) error {
	for _, r := range recs {
		if err := call.Send(eventResp(r, idAsString)); err != nil {
			return err
		}
	}
	return nil
}

// errDropped ends the subscription calls that DropSubscriptions drops.
var errDropped = status.Error(codes.Unavailable, "kurrenttest: subscription dropped")

// subscribe confirms the subscription, sends the stored events after its
// starting point, then caught-up, then every event appended later, until
// the client goes away or DropSubscriptions ends it.
func (svc *streamsService) subscribe(call streams.Streams_ReadServer, all *streams.ReadReq_Options_AllOptions, keep func(*record) bool, filtered, idAsString bool) error {
	l := svc.srv.log
	drop := svc.srv.subscribed()
	if err := call.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{Confirmation: &streams.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	// A subscription from a position starts strictly after it.
	next := l.cursor(all.GetStart() != nil, all.GetEnd() != nil, all.GetPosition().GetCommitPosition(), true)
	const page = 256
	caughtUp := false
	for {
		recs, after := l.allForwards(next, page, keep)
		for _, r := range recs {
			// A drop ends the call in catch-up too, between two events,
			// as a lost connection would.
			select {
			case <-drop:
				return errDropped
			default:
			}
			if err := call.Send(eventResp(r, idAsString)); err != nil {
				return err
			}
			if r.isSystem() {
				svc.srv.sentSystemEvent()
			}
		}
		next = after
		changed, more := l.waitChan(next)
		if more {
			continue
		}
		if !caughtUp {
			caughtUp = true
			pos := l.positionBefore(next)
			if err := sendCheckpoint(call, filtered, pos); err != nil {
				return err
			}
			if err := call.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-drop:
			return errDropped
		case <-call.Context().Done():
			return call.Context().Err()
		}
	}
}

// filterOf turns a read's filter into a predicate on records.
func filterOf(opts *streams.ReadReq_Options) (func(*record) bool, error) {
	f := opts.GetFilter()
	if f == nil {
		return func(*record) bool { return true }, nil
	}
	var expr *streams.ReadReq_Options_FilterOptions_Expression
	var field func(*record) string
	switch {
	case f.GetStreamIdentifier() != nil:
		expr, field = f.GetStreamIdentifier(), func(r *record) string { return r.stream }
	case f.GetEventType() != nil:
		expr, field = f.GetEventType(), func(r *record) string { return r.eventType() }
	default:
		return nil, status.Error(codes.InvalidArgument, "read: a filter on neither stream nor event type")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("read: filter regex: %v", err))
		}
		return func(r *record) bool { return re.MatchString(field(r)) }, nil
	}
	prefixes := expr.GetPrefix()
	return func(r *record) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(field(r), p) {
				return true
			}
		}
		return false
	}, nil
}

// sendCheckpoint tells a filtered subscriber how far the server has looked,
// as EventStoreDB does for filtered subscriptions only.
func sendCheckpoint(call streams.Streams_ReadServer, filtered bool, pos uint64) error {
	if !filtered {
		return nil
	}
	return call.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition: pos, PreparePosition: pos,
	}}})
}
