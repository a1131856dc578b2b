// Package all lists the read models the server keeps, so the server and
// the operator's tools (rebuild, replay) build exactly the same set.
package all

import (
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/accesslogs"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/projections/bookings"
	"github.com/accessd/accessd/projections/calendar"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/eventlist"
	"github.com/accessd/accessd/projections/firmware"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/memberships"
	"github.com/accessd/accessd/projections/timeline"
	"github.com/accessd/accessd/projections/webhooks"
)

// Projections returns a fresh instance of every read model the server
// keeps, in the order the server runs them.
func Projections(registry *eventstore.Registry) []projections.Projection {
	return []projections.Projection{entities.New(), eventlist.New(registry), memberships.New(), keymaps.New(), accesslogs.New(), firmware.New(), timeline.NewActivity(registry), calendar.New(), bookings.New(), auditindex.New(registry), webhooks.New()}
}
