package entities

import (
	"context"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Handler applies one event type to the documents.
type Handler func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error

// Projection keeps the entity documents.
type Projection struct {
	handlers map[string]Handler
}

// New returns the projection with the handlers of every entity kind.
// One event may concern several kinds (a lock installed into an area
// changes the lock and the area): their handlers for it are chained, in
// the order of this list, all in the same transaction.
func New() *Projection {
	p := &Projection{handlers: map[string]Handler{}}
	for _, hs := range []map[string]Handler{
		accountHandlers(), apiKeyHandlers(), propertyHandlers(), lockHandlers(),
		areaHandlers(), groupHandlers(), userHandlers(), deviceHandlers(), invitationHandlers(),
	} {
		for t, h := range hs {
			p.handlers[t] = chain(p.handlers[t], h)
		}
	}
	return p
}

// chain runs first (if any), then next.
func chain(first, next Handler) Handler {
	if first == nil {
		return next
	}
	return func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
		if err := first(ctx, tx, env); err != nil {
			return err
		}
		return next(ctx, tx, env)
	}
}

// Name implements projections.Projection.
func (p *Projection) Name() string { return "entities" }

// Version implements projections.Projection; raise it when a document's
// shape or a handler's meaning changes. 4: locks show externalRefs (`[]`
// when none), which documents stored before lack. 5: a member whose
// overrides removed every permission shows `permissions: []`, where
// documents stored before hold null.
func (p *Projection) Version() int { return 5 }

// EventTypes implements projections.Projection.
func (p *Projection) EventTypes() []string {
	out := make([]string, 0, len(p.handlers))
	for t := range p.handlers {
		out = append(out, t)
	}
	return out
}

// Tables implements projections.Projection.
func (p *Projection) Tables() []string { return []string{Table} }

// Setup implements projections.Projection.
func (p *Projection) Setup(ctx context.Context, tx projections.Tx) error { return setup(ctx, tx) }

// Apply implements projections.Projection.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	if h := p.handlers[env.Type]; h != nil {
		return h(ctx, tx, env)
	}
	return nil
}
