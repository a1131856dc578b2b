package commands

import (
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/eventstore"
)

// NewRegistry registers every domain event type with the codec.
func NewRegistry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	for _, events := range [][]domain.Event{
		account.Events(), apikey.Events(), lock.Events(), user.Events(), device.Events(),
		property.Events(), area.Events(), group.Events(), firmware.Events(), invitation.Events(),
		booking.Events(), webhook.Events(),
	} {
		for _, e := range events {
			r.Register(e)
		}
	}
	r.Register(IdempotencyKeyClaimed{})
	return r
}
