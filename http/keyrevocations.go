package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
)

// KeyCache is the cache of resolved API keys one server's router keeps.
// A change made through the server empties it at once (API.settle); one
// made elsewhere (another server on the same log, accessctl) reaches it
// through FollowRevocations, which the server runs beside the router.
type KeyCache struct{ c *authCache }

// NewKeyCache returns an empty cache, to pass to NewRouter in Options.
func NewKeyCache() *KeyCache { return &KeyCache{c: newAuthCache()} }

// cache is k's cache, or a new one when k is nil.
func (k *KeyCache) cache() *authCache {
	if k == nil {
		return newAuthCache()
	}
	return k.c
}

// revocationTypes are the events after which a cached key may grant more
// than the read model now says: a key deleted, a user's grants changed or
// the user deleted, a property deleted.
var revocationTypes = []string{
	(apikey.APIKeyDeleted{}).EventType(),
	(user.UserUpdated{}).EventType(),
	(user.UserDeleted{}).EventType(),
	(property.PropertyDeleted{}).EventType(),
}

// revocationRetry is the pause before following the log again after the
// subscription failed.
const revocationRetry = time.Second

// ReadModel is the read model a key lookup reads (the entities
// projection's runner): what FollowRevocations waits for before it empties
// the cache.
type ReadModel interface {
	WaitFor(ctx context.Context, position uint64) error
}

// FollowRevocations follows every revocation appended to the log after
// position after, by any process. A key deleted, a user deleted or a
// property deleted takes effect here as soon as the event arrives: the
// key (the keys acting for the user, the grants scoped to the property)
// is refused from then on, whatever the read models still show. Then,
// once the read model the key lookup reads (entities) shows the event,
// the cache is emptied, which is what applies a user's changed grants:
// emptied earlier, a lookup could put the old grants back for authTTL.
// The caller reads after before the server serves, and before its read
// models read the head they catch up to (the router caches no key until
// they have). It returns when ctx ends. While the subscription is down
// the cache is emptied on every retry, and authTTL bounds the rest.
func (k *KeyCache) FollowRevocations(ctx context.Context, log eventstore.Store, after uint64, keyLookups ReadModel, logger *slog.Logger) {
	for {
		err := k.follow(ctx, log, keyLookups, &after)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("following API key revocations failed; keys cached on this server expire within their TTL until it resumes",
			"err", err, "after", after, "retryIn", revocationRetry)
		k.c.clear()
		select {
		case <-ctx.Done():
			return
		case <-time.After(revocationRetry):
		}
	}
}

// follow applies each revocation past *after, moving *after, until the
// subscription or the wait fails.
func (k *KeyCache) follow(ctx context.Context, log eventstore.Store, keyLookups ReadModel, after *uint64) error {
	sub, err := log.Subscribe(ctx, *after, eventstore.Filter{EventTypes: revocationTypes})
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		k.refuseAtOnce(ev)
		if err := keyLookups.WaitFor(ctx, ev.Position); err != nil {
			return err
		}
		k.c.clear()
		*after = ev.Position
	}
}

// revokedIDs are the ids of the revocation events that name what they
// revoke.
type revokedIDs struct {
	APIKeyID   uuid.UUID `json:"apiKeyId"`
	UserID     uuid.UUID `json:"userId"`
	PropertyID uuid.UUID `json:"propertyId"`
}

// refuseAtOnce makes a deleted key, a deleted user's keys and the grants
// scoped to a deleted property grant nothing from now on, before the read
// models show the deletion. A user's changed grants wait for the read
// model (follow): the event does not say what is left.
func (k *KeyCache) refuseAtOnce(ev eventstore.RecordedEvent) {
	var ids revokedIDs
	if err := json.Unmarshal(ev.Data, &ids); err != nil {
		return // the read model answers, a moment later
	}
	switch ev.Type {
	case (apikey.APIKeyDeleted{}).EventType():
		if ids.APIKeyID != uuid.Nil {
			k.c.keysDeleted([]uuid.UUID{ids.APIKeyID}, nil)
		}
	case (user.UserDeleted{}).EventType():
		if ids.UserID != uuid.Nil {
			k.c.keysDeleted(nil, []uuid.UUID{ids.UserID})
		}
	case (property.PropertyDeleted{}).EventType():
		if ids.PropertyID != uuid.Nil {
			k.c.propertiesDeleted([]uuid.UUID{ids.PropertyID})
		}
	}
}
