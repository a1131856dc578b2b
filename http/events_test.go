package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type eventPage struct {
	Events []struct {
		EventID   string `json:"eventId"`
		EventName string `json:"eventName"`
		APIKeyID  string `json:"apiKeyId"`
		CreatedAt string `json:"createdAt"`
	} `json:"events"`
	PageToken string `json:"pageToken"`
}

func listEvents(t testing.TB, h *harness, key, query string) (eventPage, reply) {
	t.Helper()
	r := h.do("GET", "/events?"+query, key, nil)
	var p eventPage
	if r.Status == http.StatusOK {
		require.NoError(t, json.Unmarshal(r.Data, &p))
	}
	return p, r
}

func TestEventsNewestFirstWithFiltersAndPaging(t *testing.T) {
	h := newHarness(t)
	created := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "a", "apiPermissions": []any{perm("support")}})
	require.Equal(t, http.StatusCreated, created.Status)
	keyID := created.field("apiKeyId")
	require.Equal(t, http.StatusOK, h.do("DELETE", "/accounts/keys/"+keyID, rootKey, nil).Status)

	all, r := listEvents(t, h, rootKey, "eventSource=all")
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	require.GreaterOrEqual(t, len(all.Events), 4) // bootstrap key + account + created + deleted
	assert.Equal(t, "ApiKeyDeleted", all.Events[0].EventName, "newest first")
	assert.Equal(t, "ApiKeyCreated", all.Events[1].EventName)

	byKey, r := listEvents(t, h, rootKey, "eventSource=apiKey&apiKeyId="+keyID)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	require.Len(t, byKey.Events, 2)
	for _, e := range byKey.Events {
		assert.Equal(t, keyID, e.APIKeyID)
	}
	// An id in upper case names the same key.
	byUpper, r := listEvents(t, h, rootKey, "eventSource=apiKey&apiKeyId="+strings.ToUpper(keyID))
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, byKey.Events, byUpper.Events)
	accounts, _ := listEvents(t, h, rootKey, "eventSource=property")
	assert.Empty(t, accounts.Events)

	// Paging newest first never repeats an event, even with appends between pages.
	seen := map[string]bool{}
	token := ""
	for i := 0; i < 10; i++ {
		q := "eventSource=all&pageSize=1"
		if token != "" {
			q += "&pageToken=" + token
		}
		p, r := listEvents(t, h, rootKey, q)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		for _, e := range p.Events {
			assert.False(t, seen[e.EventID])
			seen[e.EventID] = true
		}
		if i == 0 {
			h.newKey(rootKey, perm("support"))
		}
		if p.PageToken == "" {
			break
		}
		token = p.PageToken
	}
	assert.Len(t, seen, len(all.Events))

	_, r = listEvents(t, h, rootKey, "eventSource=nope")
	assert.Equal(t, http.StatusBadRequest, r.Status)
	_, r = listEvents(t, h, rootKey, "")
	assert.Equal(t, http.StatusBadRequest, r.Status)
	_, r = listEvents(t, h, rootKey, "eventSource=lock&lockId=xyz")
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Error, "lockId")

	// Another account sees none of these.
	other, r := listEvents(t, h, h.newAccount(), "eventSource=all")
	require.Equal(t, http.StatusOK, r.Status)
	for _, e := range other.Events {
		assert.False(t, seen[e.EventID], "another account's event leaked")
	}
}

func TestReprocessEvent(t *testing.T) {
	h := newHarness(t)
	all, _ := listEvents(t, h, rootKey, "eventSource=all")
	require.NotEmpty(t, all.Events)
	id := all.Events[0].EventID
	r := h.do("PUT", "/events/"+id+"/process", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	again, _ := listEvents(t, h, rootKey, "eventSource=all")
	assert.Equal(t, len(all.Events), len(again.Events), "reprocessing is idempotent")
	assert.Equal(t, http.StatusOK, h.do("GET", "/account", rootKey, nil).Status)

	other := h.newAccount()
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/events/"+id+"/process", other, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/events/7a449a59-a391-420d-b4a5-6e67e36da39d/process", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("PUT", "/events/x/process", rootKey, nil).Status)
	support := h.newKey(rootKey, perm("support"))
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/events/"+id+"/process", support, nil).Status)

	// The body is optional, an empty object: anything else is a 400, as
	// on the other routes that take none.
	for body, want := range map[string]string{"not json": "malformed JSON", "[1,2": "", `{"bogus":1}`: "bogus: unknown field"} {
		r := h.do("PUT", "/events/"+id+"/process", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, want, body)
	}
	for _, body := range []string{"{}", " \n"} {
		r := h.do("PUT", "/events/"+id+"/process", rootKey, body)
		assert.Equal(t, http.StatusOK, r.Status, r.Error)
	}
}

// An event is an entity of the reference like the others: each entry of
// the list has type, typeState, createdAt, lastModifiedAt and
// lastModifiedBy (an event never changes: lastModifiedAt is createdAt),
// and PUT /events/{eventId}/process answers the event (EventOutput).
func TestEventsCarryTheEntityFields(t *testing.T) {
	h := newHarness(t)
	propertyID := h.mkProperty(rootKey, "Events")
	r := h.do("GET", "/events?eventSource=property&propertyId="+propertyID, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Events []map[string]any `json:"events"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &page))
	require.Len(t, page.Events, 1)
	e := page.Events[0]
	assert.Equal(t, "PropertyCreated", e["eventName"])
	assert.Equal(t, "event", e["type"])
	assert.Equal(t, "active", e["typeState"])
	assert.NotEmpty(t, e["createdAt"])
	assert.Equal(t, e["createdAt"], e["lastModifiedAt"])
	assert.NotEmpty(t, e["lastModifiedBy"])

	p := h.do("PUT", "/events/"+e["eventId"].(string)+"/process", rootKey, nil)
	require.Equal(t, http.StatusOK, p.Status, p.Error)
	var processed map[string]any
	require.NoError(t, json.Unmarshal(p.Data, &processed))
	assert.Equal(t, e, processed, "the answer is the event")
}

// eventSource=firmware lists every firmware event: the uploads, and the
// assignments and unassignments, which have streams of their own.
func TestFirmwareEventSourceListsAssignments(t *testing.T) {
	h := newHarness(t)
	propertyID := h.mkProperty(rootKey, "Firmware")
	h.fwMustUpload(rootKey, "2.0.1")
	r := h.do("PUT", "/firmware/2.0.1/assign?scope=property&propertyId="+propertyID, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	r = h.do("PUT", "/firmware/unassign?scope=property&propertyId="+propertyID, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)

	want := []string{"FirmwareVersionUnassigned", "FirmwareVersionAssigned", "FirmwareVersionUploaded"}
	for _, query := range []string{"eventSource=firmware", "eventSource=firmware&firmwareVersion=2.0.1"} {
		page, r := listEvents(t, h, rootKey, query)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var names []string
		for _, e := range page.Events {
			names = append(names, e.EventName)
		}
		assert.Equal(t, want, names, query)
	}
	page, _ := listEvents(t, h, rootKey, "eventSource=firmware&pageSize=1")
	require.Len(t, page.Events, 1)
	rest, _ := listEvents(t, h, rootKey, "eventSource=firmware&pageToken="+page.PageToken)
	require.Len(t, rest.Events, 2, "paged across both streams")
	assert.Equal(t, "FirmwareVersionAssigned", rest.Events[0].EventName)
}

// A propertyId filter names a property of the caller's account that the
// caller reads, deleted ones included; anything else is a 404, as in a
// path, never an empty list that reads as "no events".
func TestEventsPropertyFilterNamesAPropertyOfTheCaller(t *testing.T) {
	h := newHarness(t)
	mine, other := h.mkProperty(rootKey, "Mine"), h.mkProperty(rootKey, "Other")
	foreign := h.mkProperty(h.newAccount(), "Theirs")
	scoped := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": mine})
	for _, c := range []struct{ key, id string }{
		{rootKey, foreign}, {rootKey, uuid.NewString()}, {rootKey, uuid.Nil.String()}, {scoped, other},
	} {
		r := h.do("GET", "/events?eventSource=all&propertyId="+c.id, c.key, nil)
		assert.Equal(t, http.StatusNotFound, r.Status, c.id)
	}
	require.Equal(t, http.StatusOK, h.do("DELETE", "/properties/"+other, rootKey, nil).Status)
	h.settle()
	r := h.do("GET", "/events?eventSource=property&propertyId="+other, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Contains(t, string(r.Data), "PropertyDeleted", "a deleted property's events stay listed")
	upper := h.do("GET", "/events?eventSource=property&propertyId="+strings.ToUpper(other), rootKey, nil)
	require.Equal(t, http.StatusOK, upper.Status, "an id in upper case names the same property: %s", upper.Error)
	assert.Equal(t, string(r.Data), string(upper.Data))
	r = h.do("GET", "/events?eventSource=property&propertyId="+mine, scoped, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}
