package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/device"
)

// deviceSignatureHeader carries the device's Ed25519 signature of the raw
// request body, standard base64.
const deviceSignatureHeader = "x-device-signature"

func (a *API) deviceSyncRoutes() []route {
	return []route{
		{method: "PUT", path: "/users/{userId}/devices/{userDeviceId}/sync", operation: "syncUserDevice", handler: a.syncUserDevice,
			summary: "A phone syncs, its body signed in x-device-signature; answers its access map version and, when the phone's differs, the map sealed to the phone's key, signed by the server (manage-access, owner or me)."},
	}
}

// deviceSyncInput is the reference's UserDeviceSyncInput.
type deviceSyncInput struct {
	DeviceType                  string `json:"deviceType"`
	MakeModel                   string `json:"makeModel"`
	CurrentOsVersion            string `json:"currentOsVersion"`
	CurrentAppVersion           string `json:"currentAppVersion"`
	CurrentUserAccessMapVersion *int64 `json:"currentUserAccessMapVersion"`
}

// deviceSyncOutput is the reference's UserDeviceSyncOutput data.
type deviceSyncOutput struct {
	UserAccessMapVersion uint64 `json:"userAccessMapVersion"`
	// EncryptedUserAccessMapEntries is the JSON array of the map's entries
	// sealed (NaCl anonymous box) to the device's X25519 key, standard
	// base64; only when the device holds another version.
	EncryptedUserAccessMapEntries string `json:"encryptedUserAccessMapEntries,omitempty"`
}

// parseDeviceSync reads a verified sync body strictly.
func parseDeviceSync(body []byte) (device.Sync, error) {
	var in deviceSyncInput
	if err := decodeJSON(body, &in); err != nil {
		return device.Sync{}, err
	}
	if in.CurrentUserAccessMapVersion == nil {
		return device.Sync{}, domain.InvalidField("currentUserAccessMapVersion", "is required")
	}
	return device.Sync{
		DeviceType: device.Type(in.DeviceType), MakeModel: in.MakeModel, OSVersion: in.CurrentOsVersion,
		AppVersion: in.CurrentAppVersion, AccessMapVersion: *in.CurrentUserAccessMapVersion,
	}, nil
}

// readDeviceSyncBody reads the raw body, whose exact bytes are signed.
func readDeviceSyncBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errBodyTooLarge
	}
	if err != nil {
		return nil, domain.InvalidField("body", "could not read the request body")
	}
	return body, nil
}

func (a *API) syncUserDevice(w http.ResponseWriter, r *http.Request) {
	userID, deviceID, err := devicePath(r, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	body, err := readDeviceSyncBody(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.SyncDevice(r.Context(), userID, deviceID, commands.SyncDevice{
		Body: body, Signature: r.Header.Get(deviceSignatureHeader), Parse: parseDeviceSync,
	})
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	m, err := a.keyMaps.Device(r.Context(), actorOf(r).AccountID.String(), deviceID.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := deviceSyncOutput{UserAccessMapVersion: m.Version}
	if res.Sync.AccessMapVersion < 0 || uint64(res.Sync.AccessMapVersion) != m.Version {
		if out.EncryptedUserAccessMapEntries, err = sealToDevice(res.EncryptionPublicKey, m.Entries); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	a.writeSigned(w, http.StatusOK, out)
}

// sealToDevice seals plain to a device's X25519 public key (standard
// base64) in a NaCl anonymous box, and returns the box in standard base64.
func sealToDevice(encryptionPublicKey string, plain []byte) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(encryptionPublicKey)
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("device encryption key: not 32 bytes of base64")
	}
	var key [32]byte
	copy(key[:], raw)
	sealed, err := box.SealAnonymous(nil, plain, &key, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("seal access map: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}
