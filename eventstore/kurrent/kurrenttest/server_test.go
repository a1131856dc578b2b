package kurrenttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func client(t *testing.T) (*esdb.Client, *Server) {
	t.Helper()
	srv, err := NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	conf, err := esdb.ParseConnectionString(srv.URL())
	require.NoError(t, err)
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

func ev(id uuid.UUID) esdb.EventData {
	return esdb.EventData{EventID: id, EventType: "LockChanged", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}
}

// TestIdempotencyConflict: with any, a first id already in the stream that
// the rest do not follow is a wrong expected version, answered in band.
func TestIdempotencyConflict(t *testing.T) {
	c, _ := client(t)
	a, b := uuid.New(), uuid.New()
	_, err := c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, ev(a), ev(b))
	require.NoError(t, err)
	res, err := c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, ev(a), ev(b))
	require.NoError(t, err, "the same ids again: a no-op")
	require.Equal(t, uint64(1), res.NextExpectedVersion)
	require.Zero(t, res.CommitPosition, "an idempotent retry has no position")

	_, err = c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, ev(a), ev(uuid.New()))
	var e *esdb.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, esdb.ErrorCodeWrongExpectedVersion, e.Code(), "%v", err)
	require.Contains(t, err.Error(), "expecting 'any' but got '1'")
}

// TestReadEvents: a read sends the recorded event with the system metadata
// the client needs, and a missing stream answers stream-not-found.
func TestReadEvents(t *testing.T) {
	c, _ := client(t)
	id := uuid.New()
	before := time.Now()
	_, err := c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev(id))
	require.NoError(t, err)

	rs, err := c.ReadStream(t.Context(), "lock-1", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	defer rs.Close()
	got, err := rs.Recv()
	require.NoError(t, err)
	e := got.Event
	require.Equal(t, id, e.EventID)
	require.Equal(t, "LockChanged", e.EventType)
	require.Equal(t, "application/json", e.ContentType)
	require.False(t, e.CreatedDate.Before(before.Truncate(time.Microsecond)), "created %s, appended after %s", e.CreatedDate, before)
	require.NotZero(t, e.Position.Commit)
	_, err = rs.Recv()
	require.ErrorIs(t, err, io.EOF)

	missing, err := c.ReadStream(t.Context(), "lock-2", esdb.ReadStreamOptions{}, 10)
	require.NoError(t, err)
	defer missing.Close()
	_, err = missing.Recv()
	var ee *esdb.Error
	require.ErrorAs(t, err, &ee)
	require.Equal(t, esdb.ErrorCodeResourceNotFound, ee.Code())
}

// TestSubscriptionMessages checks the order the client relies on:
// confirmation, stored events, a checkpoint (filtered), caught-up, then
// live events.
func TestSubscriptionMessages(t *testing.T) {
	c, srv := client(t)
	stored := uuid.New()
	_, err := c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, ev(stored))
	require.NoError(t, err)
	_, err = c.AppendToStream(t.Context(), "$stats-1", esdb.AppendToStreamOptions{}, esdb.EventData{
		EventID: uuid.New(), EventType: "$statsCollected", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`),
	})
	require.NoError(t, err)

	noSystemEvents := &streams.ReadReq_Options_FilterOptions{
		Filter: &streams.ReadReq_Options_FilterOptions_EventType{EventType: &streams.ReadReq_Options_FilterOptions_Expression{Regex: `^[^\$].*`}},
	}
	call := subscribeToAll(t, srv, noSystemEvents)
	kind := func() string {
		t.Helper()
		msg, err := call.Recv()
		require.NoError(t, err)
		switch m := msg.Content.(type) {
		case *streams.ReadResp_Confirmation:
			return "confirmation"
		case *streams.ReadResp_Event:
			r := m.Event.GetEvent()
			_, err := strconv.ParseInt(r.GetMetadata()["created"], 10, 64)
			require.NoError(t, err, "created is decimal ticks")
			return "event " + r.GetId().GetString_()
		case *streams.ReadResp_Checkpoint_:
			return "checkpoint"
		case *streams.ReadResp_CaughtUp_:
			return "caught-up"
		default:
			return fmt.Sprintf("unexpected %T", m)
		}
	}
	require.Equal(t, "confirmation", kind())
	require.Equal(t, "event "+stored.String(), kind())
	require.Equal(t, "checkpoint", kind())
	require.Equal(t, "caught-up", kind())
	live := uuid.New()
	_, err = c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, ev(live))
	require.NoError(t, err)
	require.Equal(t, "event "+live.String(), kind(), "the system event was filtered out; the live one comes")
}

// TestDropSubscriptionsInCatchUp: DropSubscriptions ends a subscription
// call that is still sending stored events, before caught-up, as a lost
// connection would; otherwise no test could drop a subscription there.
func TestDropSubscriptionsInCatchUp(t *testing.T) {
	c, srv := client(t)
	// More than gRPC's largest flow-control window: the server waits for
	// the reader partway through.
	const stored = 400
	data := []byte(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`)
	for range stored {
		_, err := c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, esdb.EventData{
			EventID: uuid.New(), EventType: "LockChanged", ContentType: esdb.ContentTypeJson, Data: data,
		})
		require.NoError(t, err)
	}
	call := subscribeToAll(t, srv, nil)
	msg, err := call.Recv()
	require.NoError(t, err)
	require.NotNil(t, msg.GetConfirmation())
	msg, err = call.Recv()
	require.NoError(t, err)
	require.NotNil(t, msg.GetEvent(), "the first stored event")

	srv.DropSubscriptions()
	events := 1
	for {
		msg, err := call.Recv()
		if err != nil {
			require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
			break
		}
		require.Nil(t, msg.GetCaughtUp(), "caught up after %d of %d stored events: the drop waited for the end of catch-up", events, stored)
		events++
	}
	require.Less(t, events, stored)
}

// TestSystemEvents: $all holds system events before, between and after the
// clients' own, as a real server's does; a subscription's filter leaves
// them out on the server.
func TestSystemEvents(t *testing.T) {
	c, srv := client(t)
	first, second := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{first, second} {
		_, err := c.AppendToStream(t.Context(), "lock-1", esdb.AppendToStreamOptions{}, ev(id))
		require.NoError(t, err)
	}
	rs, err := c.ReadAll(t.Context(), esdb.ReadAllOptions{}, 100)
	require.NoError(t, err)
	defer rs.Close()
	var got []string
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		line := e.Event.StreamID + " " + e.Event.EventType
		if e.Event.EventType == "$>" {
			line += " " + string(e.Event.Data)
		}
		got = append(got, line)
	}
	require.Equal(t, []string{
		"$$$stats-0.0.0.0:2113 $metadata",
		"$stats-0.0.0.0:2113 $statsCollected",
		"lock-1 LockChanged",
		"$ce-lock $> 0@lock-1",
		"lock-1 LockChanged",
		"$ce-lock $> 1@lock-1",
	}, got)

	sub, err := c.SubscribeToAll(t.Context(), esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: esdb.ExcludeSystemEventsFilter()})
	require.NoError(t, err)
	defer sub.Close()
	for _, want := range []uuid.UUID{first, second} {
		var e *esdb.SubscriptionEvent
		for e = sub.Recv(); e.EventAppeared == nil; e = sub.Recv() {
			require.Nil(t, e.SubscriptionDropped)
		}
		require.Equal(t, want, e.EventAppeared.Event.EventID)
	}
	require.Zero(t, srv.SystemEventsSent(), "the filter leaves system events out on the server")
}

// subscribeToAll opens a raw subscription call to $all from its start
// through the server's gRPC API, with filter (nil for none), for the rest
// of t or 30 s.
func subscribeToAll(t *testing.T, srv *Server, filter *streams.ReadReq_Options_FilterOptions) streams.Streams_ReadClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	opts := &streams.ReadReq_Options{
		StreamOption: &streams.ReadReq_Options_All{All: &streams.ReadReq_Options_AllOptions{
			AllOption: &streams.ReadReq_Options_AllOptions_Start{Start: &shared.Empty{}},
		}},
		CountOption: &streams.ReadReq_Options_Subscription{Subscription: &streams.ReadReq_Options_SubscriptionOptions{}},
		UuidOption:  &streams.ReadReq_Options_UUIDOption{Content: &streams.ReadReq_Options_UUIDOption_String_{String_: &shared.Empty{}}},
	}
	if filter != nil {
		opts.FilterOption = &streams.ReadReq_Options_Filter{Filter: filter}
	}
	call, err := streams.NewStreamsClient(conn).Read(ctx, &streams.ReadReq{Options: opts})
	require.NoError(t, err)
	return call
}
