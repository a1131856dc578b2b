package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A body error names the field by its whole path, the indices of the
// arrays it is in included, as the validation errors do
// (accessList[0].schedule.weekly[0].days[1]): an unknown key or a value
// of the wrong type deep in an access list says which entry it is in.
func TestBodyErrorsNameTheWholePathOfTheField(t *testing.T) {
	h := newHarness(t)
	propertyID := h.mkProperty(rootKey, "Paths")
	areaID := h.mkArea(rootKey, propertyID, "Hall", "")
	groupID := h.grpGroup(rootKey, propertyID, "Staff")
	entry := `{"accessType":"group","userGroupId":"` + groupID + `","schedule":null}`
	area := func(list string) string {
		return `{"displayName":"Hall","areaType":"resident","accessList":[` + list + `]}`
	}
	for body, want := range map[string]string{
		area(entry + `,{"accessType":"group","userGroupId":"` + groupID + `","schedule":{"weekly":[{"days":["mon"],"from":"08:00","to":"09:00"},{"days":["tue"],"frm":"08:00","to":"09:00"}]}}`): "accessList[1].schedule.weekly[1].frm: unknown field",
		area(entry + `,{"accessType":"group","userGroupId":"` + groupID + `","schedule":{"weekly":[{"days":["mon"],"from":8,"to":"09:00"}]}}`):                                                   "accessList[1].schedule.weekly[0].from: must be a string",
		area(entry + `,{"accessType":"group","userGroupId":"` + groupID + `","schedule":{"weekly":[{"days":["mon",2],"from":"08:00","to":"09:00"}]}}`):                                           "accessList[1].schedule.weekly[0].days[1]: must be a string",
		area(entry + `,{"accessType":"group","userGroupId":"` + groupID + `","schedule":{"weekly":[{"days":["mon"],"from":["08:00"],"to":"09:00"}]}}`):                                           "accessList[1].schedule.weekly[0].from: must be a string",
		area(entry + `,"group"`): "accessList[1]: must be an object",
		`{"displayName":"Hall","areaType":"resident","accessList":{}}`: "accessList: must be an array",
	} {
		r := h.do("PUT", areaPath(propertyID, areaID), rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Equal(t, want, r.Error, body)
	}
	for body, want := range map[string]string{
		`{"displayName":"P","address":{"line1":"1","city":"c","country":"ES","zip":"1"}}`:    "address.zip: unknown field",
		`{"displayName":"P","externalRefs":[{"id":"a","source":"s"},{"id":7,"source":"s"}]}`: "externalRefs[1].id: must be a string",
		`{"displayName":"P","accessManagerIds":"x"}`:                                         "accessManagerIds: must be an array",
		`{"displayName":5}`: "displayName: must be a string",
		`{"bogus":1}`:       "bogus: unknown field",
	} {
		r := h.do("POST", "/properties", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Equal(t, want, r.Error, body)
	}
	r := h.do("POST", "/properties", rootKey, `[{"displayName":"P"}]`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.True(t, strings.HasPrefix(r.Error, "body: "), r.Error)
}
