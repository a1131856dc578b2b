package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// lockRefs reads the externalRefs of a lock output, raw, so `[]` and a
// missing or null field are told apart.
func lockRefs(t testing.TB, data json.RawMessage) string {
	t.Helper()
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &doc), "%s", data)
	raw, ok := doc["externalRefs"]
	require.True(t, ok, "no externalRefs in %s", data)
	return string(raw)
}

// listedLockRefs reads the externalRefs of each lock of GET /locks, by id.
func (h *harness) listedLockRefs() map[string]string {
	h.t.Helper()
	r := h.do("GET", "/locks", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Locks []json.RawMessage `json:"locks"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	out := map[string]string{}
	for _, l := range page.Locks {
		out[reply{Data: l}.field("lockId")] = lockRefs(h.t, l)
	}
	return out
}

// lastLockEvent is the type of the last event of a lock's stream.
func (h *harness) lastLockEvent(id string) string {
	h.t.Helper()
	recs, err := h.store.ReadStream(context.Background(), "lock-"+id,
		eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	require.NoError(h.t, err)
	require.Len(h.t, recs, 1)
	return recs[0].Type
}

// POST /locks takes externalRefs and every lock output shows them (`[]`
// when none): the signed answers of POST and PUT, GET and the list. PUT
// replaces them (LockExternalRefsChanged); a PUT without them clears them;
// the same refs again record nothing.
func TestLockExternalRefs(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	r := h.do("POST", "/locks", rootKey, map[string]any{
		"displayName": "Front door", "publicKey": pub, "encryptionPublicKey": enc,
		"externalRefs": []map[string]any{
			{"id": "door-7", "source": "pms", "syncDirection": "fromExternalToInternal", "syncStatus": "synced",
				"syncSchedule": "hourly", "lastSyncDate": "2024-03-01T12:00:00+01:00"},
			{"id": "A-1", "source": "erp"},
		},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	h.verifySigned(r)
	id := r.field("lockId")
	want := `[{"id":"door-7","source":"pms","syncDirection":"fromExternalToInternal","syncStatus":"synced",` +
		`"syncSchedule":"hourly","lastSyncDate":"2024-03-01T11:00:00Z"},{"id":"A-1","source":"erp"}]`
	assert.JSONEq(t, want, lockRefs(t, r.Data), "instants are kept in UTC")
	assert.NotEmpty(t, decodeLock(t, r).Private.APIKey, "the answer is still the provisioning answer")
	got := h.do("GET", "/locks/"+id, rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	h.verifySigned(got)
	assert.JSONEq(t, want, lockRefs(t, got.Data))

	// Without refs: `[]`, in every output.
	plain := h.provisionLock(rootKey, "Back door")
	assert.NotNil(t, plain)
	assert.Equal(t, "[]", lockRefs(t, h.do("GET", "/locks/"+plain.LockID, rootKey, nil).Data))
	listed := h.listedLockRefs()
	assert.JSONEq(t, want, listed[id])
	assert.Equal(t, "[]", listed[plain.LockID])

	// A caller without the private part sees them too.
	reader := h.newKey(rootKey, perm("manage-access"))
	public := h.do("GET", "/locks/"+id, reader, nil)
	require.Equal(t, http.StatusOK, public.Status, public.Error)
	assert.Nil(t, decodeLock(t, public).Private)
	assert.JSONEq(t, want, lockRefs(t, public.Data))

	// PUT replaces them.
	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{
		"displayName": "Front door", "externalRefs": []map[string]any{{"id": "door-8", "source": "pms", "syncStatus": "pending"}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	replaced := `[{"id":"door-8","source":"pms","syncStatus":"pending"}]`
	assert.JSONEq(t, replaced, lockRefs(t, r.Data))
	assert.JSONEq(t, replaced, lockRefs(t, h.do("GET", "/locks/"+id, rootKey, nil).Data))
	assert.JSONEq(t, replaced, h.listedLockRefs()[id])
	assert.Equal(t, "LockExternalRefsChanged", h.lastLockEvent(id))

	// The same refs again record nothing.
	head := h.lsHead()
	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{
		"displayName": "Front door", "externalRefs": []map[string]any{{"id": "door-8", "source": "pms", "syncStatus": "pending"}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, head, h.lsHead())

	// A rename leaves the refs as they are when they are sent again.
	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{
		"displayName": "Main door", "externalRefs": []map[string]any{{"id": "door-8", "source": "pms", "syncStatus": "pending"}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, "LockUpdated", h.lastLockEvent(id))
	assert.JSONEq(t, replaced, lockRefs(t, r.Data))

	// The whole object: no externalRefs is none.
	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Main door"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	assert.Equal(t, "[]", lockRefs(t, r.Data))
	assert.Equal(t, "[]", lockRefs(t, h.do("GET", "/locks/"+id, rootKey, nil).Data))
	assert.Equal(t, "[]", h.listedLockRefs()[id])
	assert.Equal(t, "LockExternalRefsChanged", h.lastLockEvent(id))

	// Set again, then cleared with null and with [].
	for _, empty := range []any{nil, []any{}} {
		r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Main door", "externalRefs": []map[string]any{{"id": "x", "source": "y"}}})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		assert.JSONEq(t, `[{"id":"x","source":"y"}]`, lockRefs(t, r.Data))
		r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Main door", "externalRefs": empty})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		assert.Equal(t, "[]", lockRefs(t, r.Data), "%v", empty)
	}
}

// Bad externalRefs are a 400 naming the field's path, on POST and PUT
// alike, and nothing is stored: no lock, no key, no event, the refs as
// they were.
func TestLockExternalRefsValidation(t *testing.T) {
	h := newHarness(t)
	tooMany := make([]map[string]any, 51)
	for i := range tooMany {
		tooMany[i] = map[string]any{"id": fmt.Sprintf("r%d", i), "source": "pms"}
	}
	fifty := tooMany[:50]
	ok := map[string]any{"id": "ok", "source": "pms"}
	cases := []struct {
		refs  any
		field string
	}{
		{tooMany, "externalRefs: at most 50"},
		{[]any{map[string]any{"source": "pms"}}, "externalRefs[0].id"},
		{[]any{map[string]any{"id": "  ", "source": "pms"}}, "externalRefs[0].id"},
		{[]any{ok, map[string]any{"id": "x"}}, "externalRefs[1].source"},
		{[]any{ok, map[string]any{"id": "x", "source": "s", "syncDirection": "both"}}, "externalRefs[1].syncDirection"},
		{[]any{map[string]any{"id": "x", "source": "s", "syncStatus": "done"}}, "externalRefs[0].syncStatus"},
		{[]any{map[string]any{"id": "x", "source": "s", "lastSyncDate": "yesterday"}}, "externalRefs[0].lastSyncDate"},
		{[]any{map[string]any{"id": "x", "source": "s", "lastSyncDate": 5}}, "externalRefs[0].lastSyncDate"},
		{[]any{map[string]any{"id": 7, "source": "s"}}, "externalRefs[0].id"},
		{[]any{map[string]any{"id": "x", "source": "s", "url": "u"}}, "externalRefs[0].url"},
		{[]any{"door-7"}, "externalRefs[0]"},
		{"door-7", "externalRefs"},
		{map[string]any{"id": "x", "source": "s"}, "externalRefs"},
	}

	pub, enc := lockKeys(t)
	kept := `[{"id":"kept","source":"pms"}]`
	r := h.do("POST", "/locks", rootKey, map[string]any{"displayName": "Door", "publicKey": pub, "encryptionPublicKey": enc,
		"externalRefs": []any{map[string]any{"id": "kept", "source": "pms"}}})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := r.field("lockId")
	keysBefore := h.do("GET", "/accounts/keys", rootKey, nil)
	require.Equal(t, http.StatusOK, keysBefore.Status, keysBefore.Error)

	for _, c := range cases {
		head := h.lsHead()
		newPub, newEnc := lockKeys(t)
		r := h.do("POST", "/locks", rootKey, map[string]any{"displayName": "New", "publicKey": newPub, "encryptionPublicKey": newEnc, "externalRefs": c.refs})
		assert.Equal(t, http.StatusBadRequest, r.Status, "POST %v", c.refs)
		assert.Contains(t, r.Error, c.field, "POST %v", c.refs)
		r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Renamed", "externalRefs": c.refs})
		assert.Equal(t, http.StatusBadRequest, r.Status, "PUT %v", c.refs)
		assert.Contains(t, r.Error, c.field, "PUT %v", c.refs)
		assert.Equal(t, head, h.lsHead(), "%v: nothing is stored", c.refs)
	}
	got := decodeLock(t, h.do("GET", "/locks/"+id, rootKey, nil))
	assert.Equal(t, "Door", got.DisplayName)
	assert.JSONEq(t, kept, lockRefs(t, h.do("GET", "/locks/"+id, rootKey, nil).Data))
	status, ids := h.lockIDs(rootKey, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{id}, ids, "no refused POST created a lock")
	keysAfter := h.do("GET", "/accounts/keys", rootKey, nil)
	assert.Equal(t, strings.Count(string(keysBefore.Data), "lockId"), strings.Count(string(keysAfter.Data), "lockId"), "nor a lock key")

	// Fifty is the most, and fine.
	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Door", "externalRefs": fifty})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var refs []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(lockRefs(t, r.Data)), &refs))
	assert.Len(t, refs, 50)
}

// A lastSyncDate at the first instant of year 1, 0001-01-01T00:00:00Z (or
// the same instant with an offset), is kept and shown as any other date
// of the years 1 to 9999, not dropped as if none were given; an absent,
// null or empty one is none.
func TestLockExternalRefLastSyncDateAtTheZeroInstant(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	r := h.do("POST", "/locks", rootKey, map[string]any{
		"displayName": "Front door", "publicKey": pub, "encryptionPublicKey": enc,
		"externalRefs": []map[string]any{
			{"id": "a", "source": "pms", "lastSyncDate": "0001-01-01T00:00:00Z"},
			{"id": "b", "source": "pms", "lastSyncDate": "0001-01-01T01:00:00+01:00"},
			{"id": "c", "source": "pms", "lastSyncDate": "0001-01-01T00:00:01Z"},
			{"id": "d", "source": "pms", "lastSyncDate": ""},
			{"id": "e", "source": "pms", "lastSyncDate": nil},
			{"id": "f", "source": "pms"},
		},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	want := `[{"id":"a","source":"pms","lastSyncDate":"0001-01-01T00:00:00Z"},{"id":"b","source":"pms","lastSyncDate":"0001-01-01T00:00:00Z"},` +
		`{"id":"c","source":"pms","lastSyncDate":"0001-01-01T00:00:01Z"},{"id":"d","source":"pms"},{"id":"e","source":"pms"},{"id":"f","source":"pms"}]`
	assert.JSONEq(t, want, lockRefs(t, r.Data))
	got := h.do("GET", "/locks/"+r.field("lockId"), rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.JSONEq(t, want, lockRefs(t, got.Data))

	// The same refs again change nothing; without the date they change.
	before := h.lsHead()
	id := r.field("lockId")
	put := func(date any) {
		t.Helper()
		ref := map[string]any{"id": "a", "source": "pms"}
		if date != nil {
			ref["lastSyncDate"] = date
		}
		r := h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Front door", "externalRefs": []map[string]any{ref}})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	put("0001-01-01T00:00:00Z")
	after := h.lsHead()
	assert.Greater(t, after, before, "six refs became one")
	put("0001-01-01T01:00:00+01:00")
	assert.Equal(t, after, h.lsHead(), "the same instant: nothing recorded")
	put(nil)
	assert.Greater(t, h.lsHead(), after, "no date is another ref than the zero instant")
	assert.JSONEq(t, `[{"id":"a","source":"pms"}]`, lockRefs(t, h.do("GET", "/locks/"+id, rootKey, nil).Data))
}
