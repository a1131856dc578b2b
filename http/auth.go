package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

// maxAPIKeyLength bounds the header before it is hashed.
const maxAPIKeyLength = 256

var errBadKey = domain.NewError(domain.ErrUnauthenticated, "missing or unknown x-api-key")

// errNoLiveGrant answers every request of a key that exists but holds no
// live grant: every property it was scoped to is deleted (liveGrants). A
// lock's own key holds no grant and is refused elsewhere (noLockKeys).
var errNoLiveGrant = domain.NewError(domain.ErrForbidden,
	"the API key holds no permission any more: every property it was scoped to is deleted")

// authenticate resolves the x-api-key header to the actor it stands for.
func (a *API) authenticate(ctx context.Context, key string) (domain.Actor, error) {
	if key == "" || len(key) > maxAPIKeyLength {
		return domain.Actor{}, errBadKey
	}
	hash := commands.HashAPIKey(key)
	now := time.Now()
	cached, ok, gen := a.auth.get(hash, now)
	if ok {
		return cached, nil
	}
	actor, err := a.lookupKey(ctx, hash)
	if err == nil {
		a.auth.put(hash, actor, gen, now)
	}
	return actor, err
}

// lookupKey reads the actor of a key hash from the read model.
func (a *API) lookupKey(ctx context.Context, hash string) (domain.Actor, error) {
	doc, err := a.entities.ByLookup(ctx, entities.KindAPIKey, hash)
	if errors.Is(err, queries.ErrEntityNotFound) {
		return domain.Actor{}, errBadKey
	}
	if err != nil {
		return domain.Actor{}, err
	}
	var k entities.APIKey
	if err := json.Unmarshal(doc.JSON, &k); err != nil {
		return domain.Actor{}, fmt.Errorf("api key %s: %w", doc.ID, err)
	}
	var actor domain.Actor
	if actor.AccountID, err = uuid.Parse(doc.AccountID); err != nil {
		return domain.Actor{}, fmt.Errorf("api key %s: %w", doc.ID, err)
	}
	if actor.Grants, err = a.liveGrants(ctx, actor.AccountID, apikey.ToGrants(k.APIPermissions)); err != nil {
		return domain.Actor{}, fmt.Errorf("api key %s: %w", doc.ID, err)
	}
	actor.APIKeyID, _ = uuid.Parse(k.APIKeyID)
	if k.LockID != "" {
		actor.LockID, _ = uuid.Parse(k.LockID)
	}
	for _, g := range actor.Grants {
		if g.Permission == domain.PermMe && g.UserID != uuid.Nil {
			actor.UserID = g.UserID
		}
	}
	if actor.UserID != uuid.Nil {
		if err := a.addUserGrants(ctx, &actor); errors.Is(err, errBadKey) {
			return domain.Actor{}, err
		} else if err != nil {
			return domain.Actor{}, fmt.Errorf("api key %s: %w", doc.ID, err)
		}
	}
	return actor, nil
}

// liveGrants returns gs without the grants scoped to a property that is
// deleted (or not of the account): such a grant grants nothing, anywhere,
// whether a key or a user still holds it. Every check downstream (commands'
// authorization, tenancy filters, queries) sees only the grants returned
// here. Grants with no propertyId need no lookup, so an account-wide key
// costs nothing more; the properties of the others are read once, from the
// entities read model, which holds the property of any grant a key or user
// found there holds (the grant was checked against the log when given, so
// the property was created before it), and the properties deleted through
// this server, which the read model may not show yet (authCache.gone).
func (a *API) liveGrants(ctx context.Context, accountID uuid.UUID, gs []domain.Grant) ([]domain.Grant, error) {
	var ids []string
	seen := map[uuid.UUID]bool{}
	for _, g := range gs {
		if g.PropertyID != uuid.Nil && !seen[g.PropertyID] {
			seen[g.PropertyID] = true
			ids = append(ids, g.PropertyID.String())
		}
	}
	if len(ids) == 0 {
		return gs, nil
	}
	live, err := a.entities.LiveIDs(ctx, entities.KindProperty, accountID.String(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Grant, 0, len(gs))
	for _, g := range gs {
		if g.PropertyID == uuid.Nil || (live[g.PropertyID.String()] && !a.auth.gone(g.PropertyID)) {
			out = append(out, g)
		}
	}
	return out, nil
}

// addUserGrants gives a `me` key the grants of its user (userPermissions,
// among them those of the user's property memberships), so the key's
// powers follow the user's; a grant scoped to a deleted property is left
// out (liveGrants). A `me` grant for another user is not taken
// over: a key acts as one user only. A key acting for a deleted user is
// no key: errBadKey.
func (a *API) addUserGrants(ctx context.Context, actor *domain.Actor) error {
	doc, err := a.entities.Get(ctx, entities.KindUser, actor.AccountID.String(), actor.UserID.String(), false)
	if errors.Is(err, queries.ErrEntityNotFound) {
		return errBadKey
	}
	if err != nil {
		return err
	}
	var u entities.User
	if err := json.Unmarshal(doc.JSON, &u); err != nil {
		return err
	}
	grants, err := a.liveGrants(ctx, actor.AccountID, apikey.ToGrants(u.UserPermissions))
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.Permission != domain.PermMe || g.UserID == actor.UserID {
			actor.Grants = append(actor.Grants, g)
		}
	}
	return nil
}

// requireActor authenticates a request and puts its actor in the context.
func (a *API) requireActor(next http.HandlerFunc, readsDeferred bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, err := a.authenticate(r.Context(), r.Header.Get("x-api-key"))
		if err == nil && actor.LockID == uuid.Nil && len(actor.Grants) == 0 {
			err = errNoLiveGrant
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		a.catchUp(r.Context(), actor, readsDeferred)
		next(w, r.WithContext(domain.WithActor(r.Context(), actor)))
	}
}

// actorOf returns the authenticated actor of a request.
func actorOf(r *http.Request) domain.Actor {
	a, _ := domain.ActorFrom(r.Context())
	return a
}

// changesUserGrants reports whether a command's events change or remove a
// user, whose grants every `me` key of theirs carries (addUserGrants):
// the key cache is then emptied, as for a deleted key.
func changesUserGrants(res commands.Result) bool {
	for _, e := range res.Events {
		switch e.EventType() {
		case (user.UserUpdated{}).EventType(), (user.UserDeleted{}).EventType():
			return true
		}
	}
	return false
}
