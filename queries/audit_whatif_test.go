package queries

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/accessd/accessd/domain"
)

// An entry is the same across the two folds when its credential, grant and
// schedule are: openNow does not count, a new window is a loss and a gain.
func TestWhatIfEntryIdentity(t *testing.T) {
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	later := until.Add(24 * time.Hour)
	base := AuditEntry{UserID: "u", UserDeviceID: "d", AccessKeyID: "k",
		Via: AuditVia{AreaID: "a", AccessType: "area", UserGroupID: "g"}, Schedule: &domain.Schedule{ValidUntil: &until}}
	open := base
	open.OpenNow = true
	moved := base
	moved.Schedule = &domain.Schedule{ValidUntil: &later}
	viaParent := base
	viaParent.Via.AreaID = "parent"
	other := base
	other.UserDeviceID = "d2"

	assert.Empty(t, entriesMinus([]AuditEntry{open}, []AuditEntry{base}), "openNow is not identity")
	assert.Equal(t, []AuditEntry{moved}, entriesMinus([]AuditEntry{moved}, []AuditEntry{base}))
	assert.Equal(t, []AuditEntry{base}, entriesMinus([]AuditEntry{base}, []AuditEntry{moved}))
	assert.Equal(t, []AuditEntry{viaParent, other}, entriesMinus([]AuditEntry{base, viaParent, other}, []AuditEntry{base}))
	assert.Equal(t, []AuditEntry{}, entriesMinus(nil, []AuditEntry{base}), "empty, never null, in the answer")
}
