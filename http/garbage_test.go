package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoRouteAnswers500ToBadInput sends malformed bodies, bad ids and odd
// query strings to every documented route with an owner key: each must be
// answered with a 4xx (or a 2xx where the input happens to be acceptable)
// in the error envelope, never a 5xx.
func TestNoRouteAnswers500ToBadInput(t *testing.T) {
	h := newHarness(t)
	resp, err := h.client.Get(h.srv.URL + "/openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()

	param := regexp.MustCompile(`\{[A-Za-z]+\}`)
	bodies := []string{"", "{", "[]", "null", `{"x":1}`, `"text"`, strings.Repeat("[", 5000), "\xff\xfe\x00", `{"displayName":{"a":[1,2,{}]}}`}
	ids := []string{"7a449a59-a391-420d-b4a5-6e67e36da39d", "not-a-uuid", "00000000-0000-0000-0000-000000000000"}
	queries := []string{"", "?pageSize=-1&pageToken=%%%", "?from=yesterday&to=never&at=now&days=x&scope=nope&format=xml&eventSource=all&status=weird"}
	checked := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			for _, id := range ids {
				p := param.ReplaceAllString(path, id)
				for _, q := range queries {
					for _, body := range bodies {
						if m == "GET" && body != "" {
							continue
						}
						req, err := http.NewRequest(m, h.srv.URL+p+q, bytes.NewReader([]byte(body)))
						require.NoError(t, err)
						req.Header.Set("x-api-key", rootKey)
						if body != "" {
							req.Header.Set("Content-Type", "application/json")
						}
						res, err := h.client.Do(req)
						require.NoError(t, err)
						raw, _ := io.ReadAll(res.Body)
						res.Body.Close()
						checked++
						assert.Less(t, res.StatusCode, 500, "%s %s%s body %q answered %d: %s", m, p, q, body, res.StatusCode, raw)
					}
				}
			}
		}
	}
	assert.Greater(t, checked, 1000)
}

// TestNoRouteAnswers500ToBadBodiesOnRealEntities does the same with the ids
// of real entities in the path, so every handler gets as far as decoding
// and validating its body.
func TestNoRouteAnswers500ToBadBodiesOnRealEntities(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	booking := h.book(f, time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))
	require.Equal(t, http.StatusCreated, booking.Status, booking.Error)
	device := h.provisionDevice(rootKey, f.guest, "second phone")
	group := h.grpGroup(rootKey, f.property, "Staff")
	keyID := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "k", "apiPermissions": []any{perm("support")}}).field("apiKeyId")
	ids := map[string]string{
		"propertyId": f.property, "areaId": f.flat, "lockId": f.lockID, "userId": f.guest,
		"userDeviceId": device.UserDeviceID, "userGroupId": group, "bookingId": booking.field("bookingId"),
		"key": keyID, "version": "1.0.0", "eventId": "7a449a59-a391-420d-b4a5-6e67e36da39d",
		"accessCodeId": "7a449a59-a391-420d-b4a5-6e67e36da39d", "invitationId": "7a449a59-a391-420d-b4a5-6e67e36da39d",
		"webhookId": "7a449a59-a391-420d-b4a5-6e67e36da39d", "deliveryId": "7a449a59-a391-420d-b4a5-6e67e36da39d", "guestId": "7a449a59-a391-420d-b4a5-6e67e36da39d",
	}
	resp, err := h.client.Get(h.srv.URL + "/openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	param := regexp.MustCompile(`\{([A-Za-z]+)\}`)
	bodies := []string{"", "{", "[]", "null", `{"x":1}`, strings.Repeat(`{"a":`, 3000), "\xff\xfe", `{"displayName":5,"startDateTime":"soon","accessList":[{"accessType":"group","schedule":{"weekly":[{"days":["funday"],"from":"25:00","to":"x"}]}}]}`}
	for path, ops := range doc.Paths {
		p := param.ReplaceAllStringFunc(path, func(m string) string {
			name := m[1 : len(m)-1]
			if v, ok := ids[name]; ok {
				return v
			}
			t.Fatalf("no id for %s in %s", name, path)
			return ""
		})
		for method := range ops {
			m := strings.ToUpper(method)
			if m == "GET" || m == "DELETE" || strings.HasSuffix(path, "/sync") {
				continue
			}
			for _, body := range bodies {
				req, err := http.NewRequest(m, h.srv.URL+p, strings.NewReader(body))
				require.NoError(t, err)
				req.Header.Set("x-api-key", rootKey)
				req.Header.Set("Content-Type", "application/json")
				res, err := h.client.Do(req)
				require.NoError(t, err)
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Less(t, res.StatusCode, 500, "%s %s body %q answered %d: %s", m, p, body, res.StatusCode, raw)
			}
		}
	}
}
