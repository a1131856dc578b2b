package commands

import (
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
)

// The aggregates commands load, by stream category.
var (
	accountAgg  = Aggregate[account.State]{Category: account.Category, Evolve: account.Evolve}
	apiKeyAgg   = Aggregate[apikey.State]{Category: apikey.Category, Evolve: apikey.Evolve}
	propertyAgg = Aggregate[property.State]{Category: property.Category, Evolve: property.Evolve}
	areaAgg     = Aggregate[area.State]{Category: area.Category, Evolve: area.Evolve}
	lockAgg     = Aggregate[lock.State]{Category: lock.Category, Evolve: lock.Evolve}
	// keyClaimAgg is one lock public key's claim (see lock.KeyClaim).
	keyClaimAgg = Aggregate[lock.KeyClaim]{Category: lock.KeyClaimCategory, Evolve: lock.EvolveKeyClaim}
	groupAgg    = Aggregate[group.State]{Category: group.Category, Evolve: group.Evolve, Fold: group.Fold}
	userAgg     = Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve}
	deviceAgg   = Aggregate[device.State]{Category: device.Category, Evolve: device.Evolve}
	firmwareAgg = Aggregate[firmware.State]{Category: firmware.Category, Evolve: firmware.Evolve}
	// membersAgg is one property's invitations and members.
	membersAgg = Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve, Fold: invitation.Fold}
	// firmwareAssignmentAgg is one target's firmware assignment.
	firmwareAssignmentAgg = Aggregate[firmware.Assignment]{Category: firmware.AssignmentCategory, Evolve: firmware.EvolveAssignment}
)
