package commands_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
)

// Withdrawing an invitation whose role gives `owner` needs `owner` for
// the property, as making one does: a manager may withdraw a staff
// invitation, not an owner's (403), which stays pending for an owner to
// withdraw.
func TestWithdrawingAnOwnersInvitationNeedsOwner(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	prop, err := f.svc.CreateProperty(userOwner, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	invite := func(email string, role invitation.Role) commands.NewInvitation {
		inv, err := f.svc.InviteToProperty(userOwner, commands.InviteToProperty{PropertyID: prop.PropertyID, Email: email, Role: role})
		require.NoError(t, err)
		return inv
	}
	owner, staff := invite("olga@example.com", invitation.RoleOwner), invite("sam@example.com", invitation.RoleStaff)
	manager := userActor(domain.Grant{Permission: domain.PermManageAccess, PropertyID: prop.PropertyID})

	_, err = f.svc.WithdrawInvitation(manager, prop.PropertyID, owner.InvitationID)
	assert.ErrorIs(t, err, commands.ErrOwnerRole)
	_, err = f.svc.WithdrawInvitation(manager, prop.PropertyID, staff.InvitationID)
	assert.NoError(t, err)
	res, err := f.svc.WithdrawInvitation(userOwner, prop.PropertyID, owner.InvitationID)
	require.NoError(t, err, "the owner's invitation was still pending")
	assert.Len(t, res.Events, 1)
}
