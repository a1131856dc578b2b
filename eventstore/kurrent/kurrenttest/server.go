// Package kurrenttest is an in-process EventStoreDB (KurrentDB) gRPC server
// for tests: the streams Read and Append calls of the official client over an
// in-memory log, with EventStoreDB's expected-revision and idempotency rules,
// $all reads and filtered catch-up subscriptions. Its $all holds system
// events between and after the clients' own, as a real server's does. It
// lets the kurrent backend run the conformance suite with no server to
// install.
package kurrenttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	serverfeatures "github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// serverVersion is what GetSupportedMethods reports: three dotted integers,
// the only form the client parses.
const serverVersion = "24.10.0"

// maxMessageSize lets an append carry an event at the backends' size limit
// (1 MiB of data and metadata) with room to spare, as the client does.
const maxMessageSize = 17 << 20

// Server is a running in-process server.
type Server struct {
	log  *memLog
	addr string

	mu sync.Mutex
	// grpc serves until Stop; done is closed when its Serve returns.
	grpc *grpc.Server
	done chan struct{}
	// drop is closed and replaced by DropSubscriptions, ending every open
	// subscription call.
	drop chan struct{}
	// subscriptions counts the subscription calls the server has confirmed.
	subscriptions int
	// systemSent counts the system events sent by subscription calls.
	systemSent int
}

// Start runs a server on 127.0.0.1 with an empty log, stops it when the test
// ends, and returns its URL for kurrent.Open.
func Start(t testing.TB) string {
	t.Helper()
	srv, err := NewServer()
	if err != nil {
		t.Fatalf("kurrenttest: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.URL()
}

// NewServer starts a server on 127.0.0.1 on a free port; Stop ends it.
func NewServer() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{log: newMemLog(time.Now()), addr: lis.Addr().String(), drop: make(chan struct{})}
	s.serve(lis)
	return s, nil
}

// serve starts a gRPC server on lis.
func (s *Server) serve(lis net.Listener) {
	g := grpc.NewServer(
		// The client pings every 10 s, also with no call open; the
		// default policy (5 min) would close its connection for that.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(maxMessageSize),
		grpc.MaxSendMsgSize(maxMessageSize),
	)
	streams.RegisterStreamsServer(g, &streamsService{srv: s})
	serverfeatures.RegisterServerFeaturesServer(g, featuresService{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			panic(fmt.Sprintf("kurrenttest: serve: %v", err))
		}
	}()
	s.mu.Lock()
	s.grpc, s.done = g, done
	s.mu.Unlock()
}

// URL is the connection string of the server, without TLS.
func (s *Server) URL() string { return "esdb://" + s.addr + "?tls=false" }

// Stop closes every connection and call at once (subscriptions never end by
// themselves) and waits for the server to finish. The log is kept for
// Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	g, done := s.grpc, s.done
	s.mu.Unlock()
	g.Stop()
	<-done
}

// Restart stops the server if it runs and serves the same log on the same
// address again, as a server restart that keeps its data.
func (s *Server) Restart() error {
	s.Stop()
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen again on %s: %w", s.addr, err)
	}
	s.serve(lis)
	return nil
}

// DropSubscriptions ends every open subscription call with an error, as a
// server restart or a lost connection would, to test that clients resume.
func (s *Server) DropSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.drop)
	s.drop = make(chan struct{})
}

// Subscriptions is how many subscription calls the server has confirmed,
// resumed ones included.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscriptions
}

// SystemEventsSent is how many system events the server has sent by
// subscription calls: none when every subscription's filter leaves them
// out.
func (s *Server) SystemEventsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.systemSent
}

// sentSystemEvent counts a system event sent by a subscription call.
func (s *Server) sentSystemEvent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.systemSent++
}

// subscribed counts a new subscription call and returns the channel that
// DropSubscriptions closes to end it.
func (s *Server) subscribed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscriptions++
	return s.drop
}

// featuresService answers the client's first call.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

// GetSupportedMethods reports the version and the two calls the server has.
func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: serverVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
		},
	}, nil
}

// streamsService is the Streams gRPC service over the server's log.
type streamsService struct {
	streams.UnimplementedStreamsServer
	srv *Server
}
