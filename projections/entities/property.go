package entities

import (
	"context"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Property is the output of GET /properties/{propertyId}. The row's
// PropertyID is the property's own id, so property-scoped keys list only
// theirs.
type Property struct {
	PropertyID       string                   `json:"propertyId"`
	OwnerID          string                   `json:"ownerId"`
	DisplayName      string                   `json:"displayName"`
	Address          *domain.Address          `json:"address,omitempty"`
	Timezone         string                   `json:"timezone"`
	AccessManagerIDs []string                 `json:"accessManagerIds"`
	ExternalRefs     []domain.ExternalRef     `json:"externalRefs"`
	BookingSettings  property.BookingSettings `json:"bookingSettings"`
	Base
}

// set copies the writable fields of an event into the document; an event
// without booking settings (recorded before they existed) means the
// defaults.
func (p *Property) set(displayName string, address *domain.Address, timezone string, managers []uuid.UUID, refs []domain.ExternalRef, bs *property.BookingSettings) {
	p.DisplayName, p.Address, p.Timezone = displayName, address, timezone
	p.BookingSettings = property.DefaultBookingSettings
	if bs != nil {
		p.BookingSettings = *bs
	}
	p.AccessManagerIDs = make([]string, len(managers))
	for i, id := range managers {
		p.AccessManagerIDs[i] = id.String()
	}
	p.ExternalRefs = refs
	if p.ExternalRefs == nil {
		p.ExternalRefs = []domain.ExternalRef{}
	}
}

func propertyHandlers() map[string]Handler {
	return map[string]Handler{
		property.PropertyCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(property.PropertyCreated)
			if _, _, found, err := Load[Property](ctx, tx, KindProperty, e.PropertyID.String()); err != nil || found {
				return err // delivered again: the document has moved on since
			}
			doc := Property{PropertyID: e.PropertyID.String(), OwnerID: e.AccountID.String(), Base: NewBase(KindProperty, env)}
			doc.set(e.DisplayName, e.Address, e.Timezone, e.AccessManagerIDs, e.ExternalRefs, e.BookingSettings)
			return Save(ctx, tx, Row{
				Kind: KindProperty, ID: doc.PropertyID, AccountID: doc.OwnerID, PropertyID: doc.PropertyID,
				Position: env.Position, State: StateActive,
			}, doc)
		},
		property.PropertyUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(property.PropertyUpdated)
			return Update(ctx, tx, KindProperty, e.PropertyID.String(), env, func(d *Property, _ *Row) error {
				d.set(e.DisplayName, e.Address, e.Timezone, e.AccessManagerIDs, e.ExternalRefs, e.BookingSettings)
				return nil
			})
		},
		property.PropertyDeleted{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(property.PropertyDeleted)
			return Update(ctx, tx, KindProperty, e.PropertyID.String(), env, func(d *Property, r *Row) error {
				d.TypeState, r.State = StateDeleted, StateDeleted
				return nil
			})
		},
	}
}
