package httpapi

import (
	"net/http"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) accountRoutes() []route {
	return []route{
		{method: "GET", path: "/account", operation: "getAccount", summary: "The caller's account.", handler: a.getAccount},
		{method: "PUT", path: "/account", operation: "updateAccount", summary: "Rename the caller's account (owner).", handler: a.updateAccount},
		{method: "POST", path: "/accounts/keys", operation: "createApiKey", summary: "Create an API key; its secret is answered once (owner).", handler: a.createAPIKey},
		{method: "GET", path: "/accounts/keys", operation: "listApiKeys", summary: "List the account's API keys (owner).", handler: a.listAPIKeys},
		{method: "DELETE", path: "/accounts/keys/{key}", operation: "deleteApiKey", summary: "Revoke an API key at once (owner).", handler: a.deleteByID("key", "apiKeyId", a.cmd.DeleteAPIKey)},
		{method: "POST", path: "/accounts/register", operation: "registerAccount", summary: "Register a child account with a first owner key (owner).", handler: a.registerAccount},
		{method: "GET", path: "/accounts/children", operation: "listChildAccounts", summary: "List child accounts (owner).", handler: a.listChildAccounts},
	}
}

var errOwnerOnly = domain.NewError(domain.ErrForbidden, "only an owner key may do this")

func requireOwner(r *http.Request) error {
	if !actorOf(r).Can(domain.PermOwner, [16]byte{}) {
		return errOwnerOnly
	}
	return nil
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	doc, err := a.entities.Get(r.Context(), entities.KindAccount, actor.AccountID.String(), actor.AccountID.String(), true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, doc.JSON)
}

func (a *API) updateAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName string `json:"displayName"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdateAccount(r.Context(), account.Update{DisplayName: in.DisplayName})
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.getAccount(w, r)
}

type createAPIKeyInput struct {
	DisplayName    string            `json:"displayName"`
	APIPermissions []permissionInput `json:"apiPermissions"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var in createAPIKeyInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	grants, err := grantsOf("apiPermissions", in.APIPermissions)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	key, err := a.cmd.CreateAPIKey(r.Context(), commands.CreateAPIKey{DisplayName: in.DisplayName, Permissions: grants})
	if err == nil {
		err = a.settle(r.Context(), key.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindAPIKey, actorOf(r).AccountID.String(), key.APIKeyID.String(), true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusCreated, withField(doc.JSON, "apiKey", key.Secret))
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	if err := requireOwner(r); err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	docs, next, err := a.entities.List(r.Context(), entities.KindAPIKey, actorOf(r).AccountID.String(), queries.ListFilter{}, page, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeList(w, "keys", docs, next)
}

func (a *API) registerAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName string `json:"displayName"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	reg, err := a.cmd.RegisterChildAccount(r.Context(), in.DisplayName)
	if err == nil {
		err = a.settle(r.Context(), reg.Key.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusCreated, map[string]string{
		"accountId": reg.AccountID.String(), "apiKeyId": reg.Key.APIKeyID.String(), "apiKey": reg.Key.Secret,
	})
}

func (a *API) listChildAccounts(w http.ResponseWriter, r *http.Request) {
	if err := requireOwner(r); err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	docs, next, err := a.entities.Children(r.Context(), entities.KindAccount, actorOf(r).AccountID.String(), page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeList(w, "accounts", docs, next)
}
