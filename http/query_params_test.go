package httpapi_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpapi "github.com/accessd/accessd/http"
)

// Every operation that /openapi.json says takes query parameters is
// called with the values that take its handler through every read of the
// query, and the parameters its handler read must be exactly those it
// declares: a handler that reads one the operation does not declare (so
// /openapi.json does not list it) fails here, as in any test that makes it
// read it (TestMain); one declared but never read is either a stale
// declaration or a request below that stops short of the read. Every
// declared parameter is in /openapi.json, in the query, with a type and a
// description.
func TestEveryQueryParameterReadIsDeclared(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	group := h.grpGroup(rootKey, f.property, "Staff")
	booking := h.book(f, time.Now().Add(48*time.Hour), time.Now().Add(72*time.Hour))
	require.Equal(t, http.StatusCreated, booking.Status, booking.Error)
	hook := h.do("POST", "/accounts/webhooks", rootKey, map[string]any{"url": "https://example.com/hook", "eventTypes": []string{"LockInstalled"}})
	require.Equal(t, http.StatusCreated, hook.Status, hook.Error)
	pathValues := map[string]string{
		"propertyId": f.property, "lockId": f.lockID, "userId": f.guest, "userGroupId": group,
		"bookingId": booking.field("bookingId"), "webhookId": hook.field("webhookId"), "version": "1.0",
	}
	// The values of the required parameters, and those of the optional
	// ones a handler reads only when given (by operation).
	required := url.Values{
		"eventSource": {"all"}, "uninstallMode": {"area"}, "at": {"2026-01-01T00:00:00Z"},
		"lockId": {f.lockID}, "scope": {"global"},
	}
	extra := map[string]url.Values{
		"auditDecision": {"userDeviceId": {uuid.NewString()}}, // one of userDeviceId and accessCodeId: then at is read
	}

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name        string         `json:"name"`
				In          string         `json:"in"`
				Required    bool           `json:"required"`
				Description string         `json:"description"`
				Schema      map[string]any `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	h.decodeOpenAPI(&doc)

	pathParam := regexp.MustCompile(`\{([A-Za-z]+)\}`)
	httpapi.ResetQueryReads()
	called := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented := map[string]bool{}
			q := url.Values{}
			for _, p := range op.Parameters {
				if p.In != "query" {
					continue
				}
				documented[p.Name] = true
				assert.NotEmpty(t, p.Description, "%s %s?%s", method, path, p.Name)
				assert.NotEmpty(t, p.Schema["type"], "%s %s?%s", method, path, p.Name)
				if p.Required {
					require.Contains(t, required, p.Name, "no value for the required %s of %s", p.Name, op.OperationID)
					q[p.Name] = required[p.Name]
				}
			}
			declared := httpapi.DeclaredQueryParams(op.OperationID)
			for _, name := range declared {
				if strings.HasSuffix(name, "[") {
					assert.Contains(t, documented, name+"after]", "%s: /openapi.json lists %safter]", op.OperationID, name)
				} else {
					assert.Contains(t, documented, name, "%s: /openapi.json lists %s", op.OperationID, name)
				}
			}
			if len(documented) == 0 {
				assert.Empty(t, declared, op.OperationID)
				continue
			}
			for k, v := range extra[op.OperationID] {
				q[k] = v
			}
			target := pathParam.ReplaceAllStringFunc(path, func(m string) string {
				v, ok := pathValues[m[1:len(m)-1]]
				require.True(t, ok, "no value for %s in %s", m, path)
				return v
			})
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			r := h.do(strings.ToUpper(method), target, rootKey, nil)
			assert.Less(t, r.Status, 500, "%s %s: %s", method, target, r.Error)
			called++
			assert.Equal(t, declared, httpapi.QueryReads(op.OperationID),
				"%s %s (%d %s): the query parameters read are not those declared", method, target, r.Status, r.Error)
		}
	}
	t.Logf("called %d", called)
	assert.Greater(t, called, 30)
	assert.Empty(t, httpapi.UndeclaredQueryReads())
}
