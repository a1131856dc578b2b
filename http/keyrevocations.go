package httpapi

import (
	"context"
	"log/slog"
	"time"

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

// FollowRevocations empties the cache after every revocation appended to
// the log after position after, by any process, once the read models the
// key lookup reads show it: emptied earlier, a lookup could put the old
// grants back for authTTL. The caller reads after before the server
// serves, and before its read models read the head they catch up to (the
// router caches no key until they have). It returns when ctx ends. While
// the subscription is down the cache is emptied on every retry, and
// authTTL bounds the rest.
func (k *KeyCache) FollowRevocations(ctx context.Context, log eventstore.Store, after uint64, readModels Waiter, logger *slog.Logger) {
	for {
		err := k.follow(ctx, log, readModels, &after)
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

// follow empties the cache after each revocation past *after, moving
// *after, until the subscription or the wait fails.
func (k *KeyCache) follow(ctx context.Context, log eventstore.Store, readModels Waiter, after *uint64) error {
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
		if err := readModels.WaitForCommands(ctx, ev.Position); err != nil {
			return err
		}
		k.c.clear()
		*after = ev.Position
	}
}
