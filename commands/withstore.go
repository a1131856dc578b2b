package commands

import (
	"fmt"

	"github.com/accessd/accessd/eventstore"
)

// WithStore returns a copy of the service that appends to store instead:
// same registry, clock, secret and wired lookups (which keep reading the
// real read models, as validation should), and an aggregate cache of its
// own, so states loaded from store never leak into the original's. User
// deletion hooks are left out: they are bound to the original service and
// would append to its store. The audit's what-if runs commands on such a
// copy over an overlay store.
func (s *Service) WithStore(store eventstore.Store) (*Service, error) {
	p, err := NewPipeline(store, s.p.registry, s.p.now)
	if err != nil {
		return nil, fmt.Errorf("commands: service copy: %w", err)
	}
	c := *s
	c.p = p
	c.userDeleted = nil
	return &c, nil
}
