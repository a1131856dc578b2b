package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A what-if's command is answered as its endpoint answers the same
// request: a repeated or malformed query and an unclean path are refused
// by the API's own checks, and the command appends nothing.
func TestAuditWhatIfCommandIsAnsweredAsItsEndpoint(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	uninstall := "/locks/" + f.lock + "/uninstall"
	for _, tc := range []struct{ method, path, want string }{
		{"PUT", uninstall + "?uninstallMode=area&uninstallMode=owner", "uninstallMode: must be given once"},
		{"PUT", uninstall + "?uninstallMode=owner&uninstallMode=area", "uninstallMode: must be given once"},
		{"PUT", uninstall + "?uninstallMode=area&uninstallMode=", "uninstallMode: must be given once"},
		{"PUT", uninstall + "?uninstallMode=area%zz", "query: is malformed"},
		{"PUT", uninstall + "?uninstallMode=area;x=1", "query: is malformed"},
		// Not cleaned into another route, nor redirected: the dot is
		// taken as the group's id, and refused by the handler.
		{"POST", "/properties/" + f.property + "/groups/./users/" + f.ben, "userGroupId: must be a UUID"},
	} {
		out := h.whatIf(rootKey, cmd(tc.method, tc.path, nil))
		endpoint := h.do(tc.method, tc.path, rootKey, nil)
		require.False(t, endpoint.Success, "%s: the endpoint refuses it", tc.path)
		assert.Contains(t, endpoint.Error, tc.want, tc.path)
		c := out.Commands[0]
		assert.Equal(t, "failed", c.Status, tc.path)
		assert.Equal(t, endpoint.Status, c.HTTPStatus, tc.path)
		assert.Equal(t, endpoint.Error, c.Error, tc.path)
		assert.Empty(t, c.Events, tc.path)
	}
}

// An escaped slash names no route, though the decoded path would add Ben
// to the flat's group: the endpoint answers 404, and a what-if refuses the
// command as no operation it runs, running nothing.
func TestAuditWhatIfRefusesAnEscapedSlash(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	escaped := "/properties/" + f.property + "/groups/" + f.flatGroup + "%2Fusers%2F" + f.ben
	endpoint := h.do("POST", escaped, rootKey, nil)
	assert.Equal(t, http.StatusNotFound, endpoint.Status)
	assert.Equal(t, "no such route", endpoint.Error)

	h.settle()
	before := h.head()
	r := h.do("POST", "/audit/what-if", rootKey, map[string]any{"commands": []any{cmd("POST", escaped, nil)}})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "commands[0]: POST "+escaped+" is not an operation a what-if runs")
	assert.Equal(t, before, h.head())
}
