package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/accessd/accessd/eventstore"
	"github.com/google/uuid"
)

func openTemp(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func event(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       uuid.New(),
		Type:     typ,
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: json.RawMessage(`{"correlationId":"c"}`),
	}
}

func mustAppend(t *testing.T, s *Store, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s at %s: %v", stream, exp, err)
	}
	return res
}

func runtimeGosched() { runtime.Gosched() }
