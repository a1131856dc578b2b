package httpapi

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) deviceRoutes() []route {
	return []route{
		{method: "POST", path: "/users/{userId}/devices", operation: "provisionUserDevice", summary: "Provision a device of a user with its Ed25519 and X25519 public keys (manage-access, owner or me).", handler: a.provisionDevice},
		{method: "GET", path: "/users/{userId}/devices", operation: "listUserDevices", summary: "A user's devices (owner, manage-access, support or me).", handler: a.listDevices},
		{method: "GET", path: "/users/{userId}/devices/{userDeviceId}", operation: "getUserDevice", summary: "A device of a user (owner, manage-access, support or me).", handler: a.getDevice},
		{method: "PUT", path: "/users/{userId}/devices/{userDeviceId}", operation: "updateUserDevice", summary: "Replace a device's writable fields; new keys rotate its access key (manage-access, owner or me).", handler: a.updateDevice},
		{method: "DELETE", path: "/users/{userId}/devices/{userDeviceId}", operation: "deprovisionUserDevice", summary: "Deprovision a device: its key stops opening doors (manage-access, owner or me).", handler: a.deprovisionDevice},
	}
}

// deviceInput is the writable part of a device. On PUT an absent key keeps
// the registered one.
type deviceInput struct {
	DeviceType          string `json:"deviceType"`
	MakeModel           string `json:"makeModel"`
	DisplayName         string `json:"displayName"`
	PublicKey           string `json:"publicKey"`
	EncryptionPublicKey string `json:"encryptionPublicKey"`
}

// devicePath reads the user and, when named, the device of a device route.
func devicePath(r *http.Request, withDevice bool) (userID, deviceID uuid.UUID, err error) {
	if userID, err = pathID(r, "userId"); err != nil || !withDevice {
		return userID, uuid.Nil, err
	}
	deviceID, err = pathID(r, "userDeviceId")
	return userID, deviceID, err
}

func (a *API) provisionDevice(w http.ResponseWriter, r *http.Request) {
	userID, _, err := devicePath(r, false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in deviceInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.ProvisionDevice(r.Context(), userID, commands.ProvisionDevice{
		DeviceType: device.Type(in.DeviceType), MakeModel: in.MakeModel, DisplayName: in.DisplayName,
		PublicKey: in.PublicKey, EncryptionPublicKey: in.EncryptionPublicKey,
	})
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeDevice(w, r, http.StatusCreated, userID, res.UserDeviceID)
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request) {
	userID, _, err := devicePath(r, false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	actor := actorOf(r)
	if !commands.CanReadUser(actor, userID) {
		writeErr(w, r, commands.ErrPermission)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	account := actor.AccountID.String()
	if _, err := a.entities.Get(r.Context(), entities.KindUser, account, userID.String(), false); err != nil {
		writeErr(w, r, err)
		return
	}
	docs, next, err := a.entities.List(r.Context(), entities.KindDevice, account, queries.ListFilter{ParentID: userID.String()}, page, false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeList(w, "devices", docs, next)
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request) {
	userID, deviceID, err := devicePath(r, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeDevice(w, r, http.StatusOK, userID, deviceID)
}

func (a *API) updateDevice(w http.ResponseWriter, r *http.Request) {
	userID, deviceID, err := devicePath(r, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in deviceInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdateDevice(r.Context(), userID, deviceID, commands.UpdateDevice{
		DeviceType: device.Type(in.DeviceType), MakeModel: in.MakeModel, DisplayName: in.DisplayName,
		PublicKey: in.PublicKey, EncryptionPublicKey: in.EncryptionPublicKey,
	})
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeDevice(w, r, http.StatusOK, userID, deviceID)
}

// deprovisionDevice answers the device as deprovisioned (typeState
// deleted).
func (a *API) deprovisionDevice(w http.ResponseWriter, r *http.Request) {
	userID, deviceID, err := devicePath(r, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.DeprovisionDevice(r.Context(), userID, deviceID)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.LastState(r.Context(), entities.KindDevice, actorOf(r).AccountID.String(), deviceID.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, doc.JSON)
}

// writeDevice answers a device of the user named: 403 for a caller that may
// not read the user, and the same 404 for a device of another account or
// another user as for a missing one.
func (a *API) writeDevice(w http.ResponseWriter, r *http.Request, status int, userID, deviceID uuid.UUID) {
	actor := actorOf(r)
	if !commands.CanReadUser(actor, userID) {
		writeErr(w, r, commands.ErrPermission)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindDevice, actor.AccountID.String(), deviceID.String(), false)
	if err == nil && doc.ParentID != userID.String() {
		err = entityNotFound(entities.KindDevice, deviceID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, status, doc.JSON)
}
