package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) lockRoutes() []route {
	return []route{
		{method: "POST", path: "/locks", operation: "provisionLock", handler: a.provisionLock,
			summary: "Provision a lock with its public keys (displayName, publicKey, encryptionPublicKey, purchaseDate?, externalRefs?: at most 50 {id, source, syncDirection?, syncStatus?, syncSchedule?, lastSyncDate?}); answers the signed lock with its own API key once in private.apiKey; a publicKey another lock holds: 409 (provision-lock)."},
		{method: "GET", path: "/locks", operation: "listLocks", handler: a.listLocks,
			summary: "List the locks the caller may see, optionally of one property (?propertyId=); ?outOfSync=true keeps those whose confirmed key map lags."},
		{method: "GET", path: "/locks/{lockId}", operation: "getLock", handler: a.getLock,
			summary: "One lock, signed by the server (externalRefs: [] when none)."},
		{method: "PUT", path: "/locks/{lockId}", operation: "updateLock", handler: a.updateLock,
			summary: "Replace a lock's writable fields (displayName, purchaseDate, externalRefs: send all; an absent purchaseDate or externalRefs clears it); answers the signed lock (provision-lock or install-lock)."},
		{method: "DELETE", path: "/locks/{lockId}", operation: "deprovisionLock", handler: a.deleteByID("lockId", "lockId", a.cmd.DeprovisionLock),
			summary: "Deprovision a lock in no area; its API key stops working and its publicKey may be provisioned again (provision-lock)."},
		{method: "PUT", path: "/properties/{propertyId}/areas/{areaId}/install/{lockId}", operation: "installLock", handler: a.installLock,
			summary: "Install a lock into an area; answers a message for the lock signed by the server (install-lock)."},
		{method: "PUT", path: "/locks/{lockId}/uninstall", operation: "uninstallLock", handler: a.uninstallLock,
			summary: "Uninstall a lock (?uninstallMode=area|property|owner); answers a message for the lock signed by the server (install-lock)."},
	}
}

// lockPrivatePerms see a lock's private part (with `owner`).
var lockPrivatePerms = []domain.Permission{domain.PermProvisionLock, domain.PermInstallLock, domain.PermSupport}

type provisionLockInput struct {
	DisplayName         string  `json:"displayName"`
	PublicKey           string  `json:"publicKey"`
	EncryptionPublicKey string  `json:"encryptionPublicKey"`
	PurchaseDate        *string `json:"purchaseDate"`
	// ExternalRefs are parsed apart (externalRefsOf), so a bad
	// lastSyncDate is an error naming its path.
	ExternalRefs []externalRefInput `json:"externalRefs"`
}

func (a *API) provisionLock(w http.ResponseWriter, r *http.Request) {
	var in provisionLockInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	bought, err := optionalInstant("purchaseDate", in.PurchaseDate)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	refs, err := externalRefsOf(in.ExternalRefs)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.ProvisionLock(r.Context(), commands.ProvisionLock{
		DisplayName: in.DisplayName, PublicKey: in.PublicKey, EncryptionPublicKey: in.EncryptionPublicKey, PurchaseDate: bought,
		ExternalRefs: refs,
	})
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindLock, actorOf(r).AccountID.String(), res.LockID.String(), true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var out entities.Lock
	if err := json.Unmarshal(doc.JSON, &out); err != nil {
		writeErr(w, r, fmt.Errorf("lock %s: %w", doc.ID, err))
		return
	}
	if out.Private == nil {
		out.Private = &entities.LockPrivate{}
	}
	out.Private.APIKey = res.Key.Secret
	if a.requiredFirmware != nil {
		// The account's global assignment (or one made for this id) applies
		// from the start, as GET shows it.
		if out.Private.RequiredFirmwareVersion, err = a.requiredFirmware.RequiredFor(r.Context(), actorOf(r).AccountID, res.LockID); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	a.writeSigned(w, http.StatusCreated, out)
}

// entityNotFound is the 404 of queries.Entities.Get for an id that names
// no entity of the caller's account, given also for an entity found but
// outside the caller's reach (another property, another user), so the two
// cannot be told apart.
func entityNotFound(kind string, id uuid.UUID) error {
	return fmt.Errorf("%s %s: %w", kind, id, queries.ErrEntityNotFound)
}

// errOutOfScope stands for an entity outside the caller's reach until the
// caller replaces it with entityNotFound.
var errOutOfScope = errors.New("out of scope")

// lockNotFound is entityNotFound for a lock.
func lockNotFound(id uuid.UUID) error { return entityNotFound(entities.KindLock, id) }

// lockDoc returns a lock the caller may see, with its private part for the
// callers allowed it. A lock outside the caller's scope is not found.
func (a *API) lockDoc(r *http.Request, id uuid.UUID) (queries.Document, error) {
	actor := actorOf(r)
	found, err := a.entities.GetLock(r.Context(), actor.AccountID.String(), id.String())
	if err != nil {
		return found.Document, err
	}
	propertyID, _ := uuid.Parse(found.PropertyID) // uuid.Nil: in no property
	if err := commands.AuthorizeRead(actor, propertyID, errOutOfScope); err != nil {
		if err == errOutOfScope {
			err = lockNotFound(id) // made only when needed: lock reads are hot
		}
		return found.Document, err
	}
	if actor.CanAny(propertyID, lockPrivatePerms...) {
		doc, err := withKeyMapVersion(found.Document, found.KeyMapVersion)
		if err != nil || !found.FirmwareAssigned {
			return doc, err
		}
		return a.withRequiredFirmware(r, doc)
	}
	doc := found.Document
	doc.JSON = found.Public
	return doc, nil
}

func (a *API) getLock(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "lockId")
	if err == nil {
		a.writeLock(w, r, id)
		return
	}
	writeErr(w, r, err)
}

// writeLock answers the lock signed by the server.
func (a *API) writeLock(w http.ResponseWriter, r *http.Request, id uuid.UUID) {
	doc, err := a.lockDoc(r, id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeSignedRaw(w, http.StatusOK, doc.JSON)
}

func (a *API) listLocks(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	propertyID, err := queryID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	filter, withPrivate, err := a.lockListScope(r, actor, propertyID)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if outOfSync, err := outOfSyncParam(r); err != nil || outOfSync {
		if err != nil {
			writeErr(w, r, err)
			return
		}
		a.listOutOfSyncLocks(w, r, filter, page, withPrivate)
		return
	}
	docs, next, err := a.entities.List(r.Context(), entities.KindLock, actor.AccountID.String(), filter, page, withPrivate)
	if err == nil && withPrivate {
		err = a.withKeyMapVersions(r, docs)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeList(w, "locks", docs, next)
}

// withKeyMapVersions sets private.keyMapVersion of a page of lock
// documents, as GET /locks/{lockId} does for one, reading the versions in
// one query.
func (a *API) withKeyMapVersions(r *http.Request, docs []queries.Document) error {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	versions, err := a.keyMaps.LockVersions(r.Context(), actorOf(r).AccountID.String(), ids)
	if err != nil {
		return err
	}
	assigned, err := a.firmwareAssigned(r)
	if err != nil {
		return err
	}
	for i := range docs {
		if docs[i], err = withKeyMapVersion(docs[i], versions[docs[i].ID]); err != nil {
			return err
		}
		if !assigned {
			continue
		}
		if docs[i], err = a.withRequiredFirmware(r, docs[i]); err != nil {
			return err
		}
	}
	return nil
}

var errLockPropertyNotFound = domain.NewError(domain.ErrNotFound, "property not found")

// lockListScope narrows a lock list to what the caller may see: the
// property asked for (which must be the caller's and in its scope), or,
// when propertyID is nil, every property of the caller's scope. The list
// shows private parts when the caller may see them in every property
// listed.
func (a *API) lockListScope(r *http.Request, actor domain.Actor, propertyID *uuid.UUID) (queries.ListFilter, bool, error) {
	if propertyID != nil {
		id := *propertyID
		if err := commands.AuthorizeRead(actor, id, errLockPropertyNotFound); err != nil {
			return queries.ListFilter{}, false, err
		}
		if _, err := a.entities.Get(r.Context(), entities.KindProperty, actor.AccountID.String(), id.String(), false); err != nil {
			return queries.ListFilter{}, false, err
		}
		return queries.ListFilter{PropertyID: id.String()}, actor.CanAny(id, lockPrivatePerms...), nil
	}
	if commands.SeesProperty(actor, uuid.Nil) {
		return queries.ListFilter{}, actor.CanAny(uuid.Nil, lockPrivatePerms...), nil
	}
	// A property-scoped caller: the properties of its grants (none but
	// `me`: it lacks the permission).
	filter := queries.ListFilter{PropertyIDs: []string{}}
	withPrivate := true
	seen := map[uuid.UUID]bool{}
	for _, g := range actor.Grants {
		if g.Permission == domain.PermMe || seen[g.PropertyID] {
			continue
		}
		seen[g.PropertyID] = true
		filter.PropertyIDs = append(filter.PropertyIDs, g.PropertyID.String())
		withPrivate = withPrivate && actor.CanAny(g.PropertyID, lockPrivatePerms...)
	}
	if len(filter.PropertyIDs) == 0 {
		return filter, false, commands.ErrPermission
	}
	return filter, withPrivate, nil
}

// updateLockInput is the body of PUT /locks/{lockId}: every writable
// field, as PUT replaces the whole object; purchaseDate absent or null
// clears the date, externalRefs absent, null or empty clears the refs.
type updateLockInput struct {
	DisplayName  string             `json:"displayName"`
	PurchaseDate *string            `json:"purchaseDate"`
	ExternalRefs []externalRefInput `json:"externalRefs"`
}

func (a *API) updateLock(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in updateLockInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	bought, err := optionalInstant("purchaseDate", in.PurchaseDate)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	refs, err := externalRefsOf(in.ExternalRefs)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdateLock(r.Context(), id, lock.Update{DisplayName: in.DisplayName, PurchaseDate: bought, ExternalRefs: refs})
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeLock(w, r, id)
}

// lockInstallMessage is what installLock answers, signed, for the lock.
type lockInstallMessage struct {
	LockID      string     `json:"lockId"`
	PropertyID  string     `json:"propertyId"`
	AreaID      string     `json:"areaId"`
	InstallDate *time.Time `json:"installDate"`
}

// noInput is the body of routes that take none: empty, or an empty
// object (the reference's LockInstallInput has no field); any field is a
// 400 rather than silently ignored.
type noInput struct{}

func (a *API) installLock(w http.ResponseWriter, r *http.Request) {
	if err := decodeOptionalBody(r, &noInput{}); err != nil {
		writeErr(w, r, err)
		return
	}
	var ids [3]uuid.UUID
	for i, name := range []string{"propertyId", "areaId", "lockId"} {
		var err error
		if ids[i], err = pathID(r, name); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	res, err := a.cmd.InstallLock(r.Context(), ids[0], ids[1], ids[2])
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindLock, actorOf(r).AccountID.String(), res.LockID.String(), false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var l entities.Lock
	if err := json.Unmarshal(doc.JSON, &l); err != nil {
		writeErr(w, r, fmt.Errorf("lock %s: %w", doc.ID, err))
		return
	}
	a.writeSigned(w, http.StatusOK, lockInstallMessage{
		LockID: res.LockID.String(), PropertyID: res.PropertyID.String(), AreaID: res.AreaID.String(), InstallDate: l.InstallDate,
	})
}

// lockUninstallMessage is what uninstallLock answers, signed, for the
// lock: how far it left, from which property and area, and when.
type lockUninstallMessage struct {
	LockID        string             `json:"lockId"`
	UninstallMode lock.UninstallMode `json:"uninstallMode"`
	PropertyID    string             `json:"propertyId,omitempty"`
	AreaID        string             `json:"areaId,omitempty"`
	UninstallDate time.Time          `json:"uninstallDate"`
}

func (a *API) uninstallLock(w http.ResponseWriter, r *http.Request) {
	if err := decodeOptionalBody(r, &noInput{}); err != nil {
		writeErr(w, r, err)
		return
	}
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	mode := lock.UninstallMode(queryGet(r, "uninstallMode"))
	if !mode.Valid() {
		writeErr(w, r, domain.InvalidField("uninstallMode", `must be "area", "property" or "owner"`))
		return
	}
	res, err := a.cmd.UninstallLock(r.Context(), id, mode)
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	msg := lockUninstallMessage{LockID: id.String(), UninstallMode: mode, UninstallDate: res.At.UTC()}
	if res.PropertyID != uuid.Nil {
		msg.PropertyID = res.PropertyID.String()
	}
	if res.AreaID != uuid.Nil {
		msg.AreaID = res.AreaID.String()
	}
	a.writeSigned(w, http.StatusOK, msg)
}
