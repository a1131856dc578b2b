package httpapi

import "github.com/accessd/accessd/domain"

// Shorthands for routePermissions.
const (
	pOwner    = domain.PermOwner
	pProvLock = domain.PermProvisionLock
	pInstall  = domain.PermInstallLock
	pAccess   = domain.PermManageAccess
	pFirmware = domain.PermManageFirmware
	pSupport  = domain.PermSupport
	pMe       = domain.PermMe
)

// readPerms lets through any key that sees the property: every permission
// but `me`.
var readPerms = []domain.Permission{pOwner, pProvLock, pInstall, pAccess, pFirmware, pSupport}

// anyPerms lets through every key of the account.
var anyPerms = []domain.Permission{pOwner, pProvLock, pInstall, pAccess, pFirmware, pSupport, pMe}

// routePermissions records, per operationId, the permissions any one of
// which lets a key call the operation (for the property of the resource
// where it has one; `me` for the user in the path). /openapi.json shows
// them as x-permissions, and the authorization matrix test calls every
// operation with a key holding none of them. An operation missing here
// fails that test. Routes only a lock's own key may call (route.lockKey
// and no entry) are documented as x-lock-key.
var routePermissions = map[string][]domain.Permission{
	// accounts.go
	"getAccount": anyPerms, "updateAccount": {pOwner}, "createApiKey": {pOwner}, "listApiKeys": {pOwner},
	"deleteApiKey": {pOwner}, "registerAccount": {pOwner}, "listChildAccounts": {pOwner},
	// properties.go
	"createProperty": {pOwner, pAccess}, "listProperties": readPerms, "getProperty": readPerms,
	"updateProperty": {pOwner, pAccess}, "deleteProperty": {pOwner, pAccess},
	// areas.go
	"createArea": {pOwner, pAccess}, "listAreas": readPerms, "getArea": readPerms,
	"updateArea": {pOwner, pAccess}, "deleteArea": {pOwner, pAccess},
	// groups.go
	"createUserGroup": {pOwner, pAccess}, "listUserGroups": readPerms, "getUserGroup": readPerms,
	"updateUserGroup": {pOwner, pAccess}, "deleteUserGroup": {pOwner, pAccess},
	"addUserToUserGroup": {pOwner, pAccess}, "removeUserFromUserGroup": {pOwner, pAccess},
	"listUsersForGroup": readPerms, "listGroupsForUser": anyPerms, "listGroupsForUserAtProperty": anyPerms,
	// users.go
	"createUser": {pOwner, pAccess}, "getUser": {pOwner, pAccess, pSupport, pMe}, "getMe": {pMe},
	"updateUser": {pOwner, pAccess}, "deleteUser": {pOwner, pAccess},
	// devices.go, devicesync.go
	"provisionUserDevice": {pOwner, pAccess, pMe}, "listUserDevices": {pOwner, pAccess, pSupport, pMe},
	"getUserDevice": {pOwner, pAccess, pSupport, pMe}, "updateUserDevice": {pOwner, pAccess, pMe},
	"deprovisionUserDevice": {pOwner, pAccess, pMe}, "syncUserDevice": {pOwner, pAccess, pMe},
	// locks.go, keymaps.go
	"provisionLock": {pOwner, pProvLock}, "listLocks": readPerms, "getLock": readPerms,
	"updateLock": {pOwner, pProvLock, pInstall}, "deprovisionLock": {pOwner, pProvLock},
	"installLock": {pOwner, pInstall}, "uninstallLock": {pOwner, pInstall},
	"getLockKeyMap": {pOwner, pAccess, pSupport},
	// accesslogs.go
	"listLockAccessLogs": {pOwner, pSupport, pAccess}, "listUserAccessLogs": {pOwner, pSupport, pAccess, pMe},
	"listPropertyAccessLogs": {pOwner, pSupport, pAccess},
	// events.go, timeline.go
	"listEvents": readPerms, "triggerEventProcessing": {pOwner}, "listActivity": readPerms,
	// firmware.go
	"uploadFirmwareVersion": {pOwner, pFirmware}, "getFirmwareVersion": {pOwner, pFirmware, pSupport},
	"downloadFirmwareVersion": {pOwner, pFirmware, pSupport}, "assignFirmwareVersion": {pOwner, pFirmware},
	"unassignFirmwareVersion": {pOwner, pFirmware},
	// invitations.go: an owner or manager (manage-access) of the property.
	"createPropertyInvitation": {pOwner, pAccess}, "listPropertyInvitations": {pOwner, pAccess},
	"deletePropertyInvitation": {pOwner, pAccess}, "acceptPropertyInvitation": {pMe},
	"listPropertyMembers": readPerms, "updatePropertyMember": {pOwner, pAccess}, "removePropertyMember": {pOwner, pAccess},
	// calendar.go
	"listPropertyCalendar": readPerms, "listUpcomingCalendar": readPerms, "listUpcomingTimeline": readPerms,
	// bookings.go, accesscodes.go, guests.go
	"createBooking": {pOwner, pAccess}, "listPropertyBookings": readPerms, "listBookings": readPerms,
	"getCurrentBooking": readPerms, "getBooking": readPerms, "updateBooking": {pOwner, pAccess},
	"checkInBooking": {pOwner, pAccess}, "checkOutBooking": {pOwner, pAccess}, "cancelBooking": {pOwner, pAccess},
	"createAccessCode": {pOwner, pAccess}, "listAccessCodes": readPerms, "revokeAccessCode": {pOwner, pAccess},
	"registerGuest": {pOwner, pAccess}, "getCheckIn": readPerms, "eraseGuest": {pOwner, pAccess},
	// audit.go
	"auditLockAccess": {pOwner, pSupport}, "auditDecision": {pOwner, pSupport}, "auditLockHistory": {pOwner, pSupport},
	"auditUserHistory": {pOwner, pSupport}, "auditPropertyHistory": {pOwner, pSupport},
	// audit_whatif.go: the commands need their own permissions besides.
	"auditWhatIf": {pOwner, pSupport},
	// webhooks.go
	"createWebhook": {pOwner}, "listWebhooks": {pOwner}, "deleteWebhook": {pOwner},
	"listWebhookDeliveries": {pOwner}, "replayWebhookDelivery": {pOwner},
}
