package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// unavailableStreams is the commands' event store, which cannot read the
// streams whose names start with a given prefix: the storage underneath
// failed (ErrUnavailable), as a disk or a connection does.
type unavailableStreams struct {
	*sqlite.Store
	mu     sync.Mutex
	prefix string
}

func (s *unavailableStreams) fail(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefix = prefix
}

func (s *unavailableStreams) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	prefix := s.prefix
	s.mu.Unlock()
	if prefix != "" && strings.HasPrefix(stream, prefix) {
		return nil, fmt.Errorf("read %s: %w", stream, eventstore.ErrUnavailable)
	}
	return s.Store.ReadStream(ctx, stream, opts)
}

// A command of a what-if that answers 503 (here its group's stream cannot
// be read: the event store is unavailable) makes the what-if a 503 with
// the error envelope, naming the command, not a 500: it may succeed later.
// Nothing is appended.
func TestAuditWhatIfCommandUnavailableIs503(t *testing.T) {
	var commandStore *unavailableStreams
	h := newHarnessOver(t, func(s *sqlite.Store) eventstore.Store {
		commandStore = &unavailableStreams{Store: s}
		return commandStore
	})
	f := newWhatIfFixture(t, h)
	add := cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil)

	// The same command runs while the store is there.
	out := h.whatIf(rootKey, add)
	require.Equal(t, "applied", out.Commands[0].Status, "%+v", out.Commands[0])

	commandStore.fail("group-" + f.flatGroup)
	before := h.head()
	raw, err := json.Marshal(map[string]any{"commands": []any{add}})
	require.NoError(t, err)
	req, err := http.NewRequest("POST", h.srv.URL+"/audit/what-if", bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("x-api-key", rootKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var env struct {
		Success *bool  `json:"success"`
		Error   string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &env), "%s", body)
	require.NotNil(t, env.Success, "the error envelope: %s", body)
	assert.False(t, *env.Success)
	assert.Contains(t, env.Error, "commands[0]", "names the command")
	assert.Contains(t, env.Error, "unavailable")
	assert.NotContains(t, env.Error, "internal error")
	assert.Equal(t, before, h.head(), "a what-if appends nothing")
}
