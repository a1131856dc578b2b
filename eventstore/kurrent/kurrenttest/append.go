package kurrenttest

import (
	"errors"

	"io"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Append reads the options, then the proposed events, and answers once the
// client has sent them all. A wrong expected version is an answer, not a
// gRPC error, as EventStoreDB sends it.
func (svc *streamsService) Append(call streams.Streams_AppendServer) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil || opts.GetStreamIdentifier() == nil {
		return status.Error(codes.InvalidArgument, "append: the first message must carry the options and a stream")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	exp, err := expectationOf(opts)
	if err != nil {
		return err
	}
	var events []proposed
	for {
		msg, err := call.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		pm := msg.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "append: options sent twice")
		}
		ev, err := proposedOf(pm)
		if err != nil {
			return err
		}
		events = append(events, ev)
	}
	out := svc.srv.log.append(stream, exp, events, time.Now())
	if out.wrongVersion {
		return call.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: wrongVersionOf(opts, out.current),
		}})
	}
	success := &streams.AppendResp_Success{}
	if out.current < 0 {
		success.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		success.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(out.current)}
	}
	if out.position > 0 {
		success.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: out.position, PreparePosition: out.position,
		}}
	} else {
		success.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return call.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: success}})
}

func expectationOf(opts *streams.AppendReq_Options) (expectation, error) {
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Any:
		return expectation{any: true}, nil
	case *streams.AppendReq_Options_NoStream:
		return expectation{noStream: true}, nil
	case *streams.AppendReq_Options_StreamExists:
		return expectation{streamExists: true}, nil
	case *streams.AppendReq_Options_Revision:
		return expectation{revision: v.Revision}, nil
	default:
		return expectation{}, status.Error(codes.InvalidArgument, "append: no expected stream revision")
	}
}

// proposedOf checks a proposed event the way EventStoreDB does: it needs an
// id, a type and a content type.
func proposedOf(pm *streams.AppendReq_ProposedMessage) (proposed, error) {
	id, err := uuidOf(pm.GetId())
	if err != nil {
		return proposed{}, status.Errorf(codes.InvalidArgument, "append: event id: %v", err)
	}
	md := pm.GetMetadata()
	if md["type"] == "" || md["content-type"] == "" {
		return proposed{}, status.Errorf(codes.InvalidArgument, "append: event %s lacks a type or content-type", id)
	}
	meta := make(map[string]string, 2)
	meta["type"] = md["type"]
	meta["content-type"] = md["content-type"]
	return proposed{id: id, metadata: meta, custom: pm.GetCustomMetadata(), data: pm.GetData()}, nil
}

// wrongVersionOf fills both the current and the 20.6.0 fields, as the
// server does for clients of either age.
func wrongVersionOf(opts *streams.AppendReq_Options, current int64) *streams.AppendResp_WrongExpectedVersion {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
	}
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Any:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case *streams.AppendReq_Options_NoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *streams.AppendReq_Options_StreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	case *streams.AppendReq_Options_Revision:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: v.Revision}
	}
	return w
}
