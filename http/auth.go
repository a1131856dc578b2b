package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
// live grant: every property it was scoped to is deleted (liveScopes). A
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
	// The read model's position before the look-up: it may apply the
	// key's event while the look-up runs, and that too calls for a second.
	looked := a.keysPosition()
	actor, err := a.lookupKey(ctx, hash)
	if errors.Is(err, errBadKey) && a.readModelBehind(ctx, looked) {
		actor, err = a.lookupKey(ctx, hash)
	}
	// A deletion seen in the log answers before the read model shows it.
	if err == nil && a.auth.revoked(actor) {
		return domain.Actor{}, errBadKey
	}
	// Not cached until the read models have caught up with the log as it
	// was at start: a revocation they have yet to apply is older than the
	// position the cache follows revocations from (KeyCache).
	if err == nil && (a.ready == nil || a.ready()) {
		a.auth.put(hash, actor, gen, now)
	}
	return actor, err
}

// KeysModel is the read model API keys are looked up in: how far it
// reflects the log, and a wait for it to reach a position.
type KeysModel interface {
	Position() uint64
	WaitFor(ctx context.Context, position uint64) error
}

// keyCatchUpTimeout bounds how long a request with a key the read model
// does not know waits for the read model to reach the log's head.
const keyCatchUpTimeout = 2 * time.Second

// maxKeyWaits bounds the requests waiting so at once: while the read
// model stays behind the log (a lease changing hands), a flood of unknown
// keys would otherwise hold as many requests for keyCatchUpTimeout each;
// past the bound a miss is answered at once, as before the wait existed.
const maxKeyWaits = 16

// keysPosition is how far the keys' read model reflects the log (0
// without one).
func (a *API) keysPosition() uint64 {
	if a.keysModel == nil {
		return 0
	}
	return a.keysModel.Position()
}

// readModelBehind is called on a key the read model, at position looked,
// did not know. A key minted by another process (accessctl keys create
// beside the server) is in the log before this server's store notices it
// (its watcher polls): so it reads the log's head now (one query, which
// also has the store notice those events and the read models apply them).
// When the head is past looked, it waits, keyCatchUpTimeout at most and
// no longer than the request, for the read model to reach the head (at
// once if it has meanwhile), and reports whether it did: a second look-up
// may find what the first could not. A key nobody made (a guess) costs
// one head query and no wait while the read models are caught up. Before
// they caught up at start, a miss waits for nothing: they are far behind,
// and the request is answered as before.
func (a *API) readModelBehind(ctx context.Context, looked uint64) bool {
	if a.logHead == nil || a.keysModel == nil || (a.ready != nil && !a.ready()) {
		return false
	}
	head, err := a.logHead(ctx)
	if err != nil || head <= looked {
		return false
	}
	if head <= a.keysModel.Position() {
		return true
	}
	select {
	case a.keyWaits <- struct{}{}:
		defer func() { <-a.keyWaits }()
	default:
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, keyCatchUpTimeout)
	defer cancel()
	return a.keysModel.WaitFor(wctx, head) == nil
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
	actor.APIKeyID, _ = uuid.Parse(k.APIKeyID)
	if k.LockID != "" {
		actor.LockID, _ = uuid.Parse(k.LockID)
	}
	keyGrants := apikey.ToGrants(k.APIPermissions)
	// A `me` key carries its user's grants too: they are read first, so
	// that one look-up of properties (liveScopes) serves both lists.
	var userGrants []domain.Grant
	userGone := false
	if userID := meUserOf(keyGrants); userID != uuid.Nil {
		userGrants, err = a.userGrants(ctx, actor.AccountID, userID)
		if errors.Is(err, errBadKey) {
			userGone = true
		} else if err != nil {
			return domain.Actor{}, fmt.Errorf("api key %s: %w", doc.ID, err)
		}
	}
	isLive, err := a.liveScopes(ctx, actor.AccountID, keyGrants, userGrants)
	if err != nil {
		return domain.Actor{}, fmt.Errorf("api key %s: %w", doc.ID, err)
	}
	actor.Grants = keepLive(keyGrants, isLive)
	if actor.UserID = meUserOf(actor.Grants); actor.UserID != uuid.Nil {
		if userGone {
			return domain.Actor{}, errBadKey
		}
		// A `me` grant for another user is not taken over: a key acts as
		// one user only.
		for _, g := range keepLive(userGrants, isLive) {
			if g.Permission != domain.PermMe || g.UserID == actor.UserID {
				actor.Grants = append(actor.Grants, g)
			}
		}
	}
	return actor, nil
}

// meUserOf returns the user the `me` grants of gs act for (uuid.Nil:
// none); a list's `me` grants all name one user (apikey.ValidateGrants).
func meUserOf(gs []domain.Grant) uuid.UUID {
	var userID uuid.UUID
	for _, g := range gs {
		if g.Permission == domain.PermMe && g.UserID != uuid.Nil {
			userID = g.UserID
		}
	}
	return userID
}

// liveScopes reports which properties that grants of lists are scoped to
// are live: a grant scoped to a property that is deleted (or not of the
// account) grants nothing, anywhere, whether a key or a user still holds
// it. Every check downstream (commands' authorization, tenancy filters,
// queries) sees only the grants keepLive keeps. Grants with no propertyId
// need no look-up, so an account-wide key costs nothing more; the
// properties of the others, of every list, are read in one query from
// the entities read model, which holds the property of any grant a key
// or user found there holds (the grant was checked against the log when
// given, so the property was created before it), and the properties
// deleted through this server, which the read model may not show yet
// (authCache.gone).
func (a *API) liveScopes(ctx context.Context, accountID uuid.UUID, lists ...[]domain.Grant) (func(uuid.UUID) bool, error) {
	var ids []string
	seen := map[uuid.UUID]bool{}
	for _, gs := range lists {
		for _, g := range gs {
			if g.PropertyID != uuid.Nil && !seen[g.PropertyID] {
				seen[g.PropertyID] = true
				ids = append(ids, g.PropertyID.String())
			}
		}
	}
	if len(ids) == 0 {
		return func(uuid.UUID) bool { return false }, nil
	}
	live, err := a.entities.LiveIDs(ctx, entities.KindProperty, accountID.String(), ids)
	if err != nil {
		return nil, err
	}
	return func(id uuid.UUID) bool { return live[id.String()] && !a.auth.gone(id) }, nil
}

// keepLive returns the grants of gs that are account-wide or scoped to a
// live property (liveScopes): gs itself when that is all of them.
func keepLive(gs []domain.Grant, isLive func(uuid.UUID) bool) []domain.Grant {
	dead := func(g domain.Grant) bool { return g.PropertyID != uuid.Nil && !isLive(g.PropertyID) }
	if !slices.ContainsFunc(gs, dead) {
		return gs
	}
	return slices.DeleteFunc(slices.Clone(gs), dead)
}

// userGrants reads the grants of a user (userPermissions, among them
// those of the user's property memberships), which a `me` key for them
// holds too, so the key's powers follow the user's. A deleted user has
// none, and a key acting for them is no key: errBadKey.
func (a *API) userGrants(ctx context.Context, accountID, userID uuid.UUID) ([]domain.Grant, error) {
	doc, err := a.entities.Get(ctx, entities.KindUser, accountID.String(), userID.String(), false)
	if errors.Is(err, queries.ErrEntityNotFound) {
		return nil, errBadKey
	}
	if err != nil {
		return nil, err
	}
	var u entities.User
	if err := json.Unmarshal(doc.JSON, &u); err != nil {
		return nil, err
	}
	return apikey.ToGrants(u.UserPermissions), nil
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
// user, whose grants every `me` key of theirs carries (userGrants):
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
