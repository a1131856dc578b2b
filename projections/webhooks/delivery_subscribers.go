package webhooks

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
)

// positioned is a Waiter that also tells how far the read model is
// (projections.Set and projections.Runner are ones).
type positioned interface {
	Position() uint64
}

// Bounds of the subscriber cache.
const (
	maxCachedAccounts = 10000
	// cachedFor bounds how long an account's webhooks are reused, so an
	// entry cannot outlive a repair of the read model (Reprocess) by long.
	cachedFor = time.Second
)

// subscriberCache keeps each account's webhooks, live and deleted, as the
// read model held them when it had applied the log up to asOf. For an
// event at or before asOf that list answers exactly what the read model
// would: whatever was registered or deleted later is at a later position,
// which does not change who took that event. A fan-out that replays a long
// history (a new bus, a server restarted on a seeded directory) then asks
// the read model once per account, not once per event; a live event, past
// asOf, loads the account afresh, as without the cache.
type subscriberCache struct {
	mu        sync.Mutex
	byAccount map[uuid.UUID]cachedWebhooks
}

type cachedWebhooks struct {
	hooks  []Webhook
	asOf   uint64
	loaded time.Time
}

// subscribersAt returns the account's webhooks that take an event of
// eventType at position. Call it once the read model reflects position.
func (d *Delivery) subscribersAt(ctx context.Context, accountID uuid.UUID, eventType string, position uint64) ([]Webhook, error) {
	at, ok := d.waiter.(positioned)
	if !ok {
		return d.subscribers(ctx, accountID, eventType, position)
	}
	now := time.Now()
	c := &d.cache
	c.mu.Lock()
	e, found := c.byAccount[accountID]
	c.mu.Unlock()
	if found && e.asOf >= position && now.Sub(e.loaded) < cachedFor {
		return takers(e.hooks, eventType, position), nil
	}
	// The position is read before the rows: rows newer than it only add
	// what happened after asOf.
	asOf := at.Position()
	if asOf < position {
		return d.subscribers(ctx, accountID, eventType, position)
	}
	hooks, err := d.ofAccount(ctx, accountID, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.byAccount == nil || len(c.byAccount) >= maxCachedAccounts {
		c.byAccount = map[uuid.UUID]cachedWebhooks{}
	}
	c.byAccount[accountID] = cachedWebhooks{hooks: hooks, asOf: asOf, loaded: now}
	c.mu.Unlock()
	return takers(hooks, eventType, position), nil
}
