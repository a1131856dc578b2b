package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fwMaxSize is the upload limit, 64 MiB.
const fwMaxSize = 64 << 20

type fwView struct {
	FirmwareVersion string `json:"firmwareVersion"`
	DeviceType      string `json:"deviceType"`
	Size            int64  `json:"size"`
	SHA256          string `json:"sha256"`
	Scopes          []struct {
		Scope      string `json:"scope"`
		LockID     string `json:"lockId"`
		AreaID     string `json:"areaId"`
		PropertyID string `json:"propertyId"`
	} `json:"scopes"`
	Type           string    `json:"type"`
	CreatedAt      time.Time `json:"createdAt"`
	LastModifiedAt time.Time `json:"lastModifiedAt"`
}

func fwDecode(t *testing.T, r reply) fwView {
	t.Helper()
	var v fwView
	require.NoError(t, json.Unmarshal(r.Data, &v), "%s", r.Data)
	return v
}

// send makes a request with a body of the given type; size -1 sends it
// chunked, without a Content-Length.
func (h *harness) fwSend(method, path, key, contentType string, body io.Reader, size int64, header map[string]string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	require.NoError(h.t, err)
	req.ContentLength = size
	if size < 0 {
		req.ContentLength = -1
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := reply{Status: resp.StatusCode, Header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(h.t, json.Unmarshal(raw, &out), "body: %s", raw)
	} else {
		out.Data = raw
	}
	require.Less(h.t, resp.StatusCode, 500, "%s %s answered %d: %s", method, path, resp.StatusCode, raw)
	return out
}

// uploadRaw uploads an image as a raw octet-stream body.
func (h *harness) fwUploadRaw(key, version string, image []byte) reply {
	h.t.Helper()
	return h.fwSend("POST", "/firmware/"+version+"/upload", key, "application/octet-stream", bytes.NewReader(image), int64(len(image)), nil)
}

// uploadForm uploads an image as the multipart field named field.
func (h *harness) fwUploadForm(key, version, field string, image []byte) reply {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(h.t, mw.WriteField("note", "ignored"))
	fw, err := mw.CreateFormFile(field, "lock.bin")
	require.NoError(h.t, err)
	_, err = fw.Write(image)
	require.NoError(h.t, err)
	require.NoError(h.t, mw.Close())
	return h.fwSend("POST", "/firmware/"+version+"/upload", key, mw.FormDataContentType(), &buf, int64(buf.Len()), nil)
}

// mustUpload uploads random bytes as version and returns them.
func (h *harness) fwMustUpload(key, version string) []byte {
	h.t.Helper()
	image := fwRandomBytes(h.t, 4096)
	r := h.fwUploadRaw(key, version, image)
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return image
}

func fwRandomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func fwSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (h *harness) fwHead() uint64 {
	h.t.Helper()
	p, err := h.store.HeadPosition(context.Background())
	require.NoError(h.t, err)
	return p
}

// firmwareFiles lists the files in the image directory.
func (h *harness) fwFiles() []string {
	h.t.Helper()
	entries, err := os.ReadDir(h.firmwareDir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(h.t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (h *harness) fwAccountID(key string) uuid.UUID {
	h.t.Helper()
	r := h.do("GET", "/account", key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	return uuid.MustParse(r.field("accountId"))
}

// required asks the firmware query which version a lock must run.
func (h *harness) fwRequired(accountID uuid.UUID, lockID string) string {
	h.t.Helper()
	v, err := h.firmware.RequiredFor(context.Background(), accountID, uuid.MustParse(lockID))
	require.NoError(h.t, err)
	return v
}

func TestFirmwareUploadGetAndDownload(t *testing.T) {
	h := newHarness(t)
	image := fwRandomBytes(t, 300_000)
	sum := fwSHA256(image)

	r := h.fwUploadRaw(rootKey, "1.0.0", image)
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	v := fwDecode(t, r)
	assert.Equal(t, "1.0.0", v.FirmwareVersion)
	assert.Equal(t, "Lock", v.DeviceType)
	assert.Equal(t, int64(len(image)), v.Size)
	assert.Equal(t, sum, v.SHA256, "lowercase hex sha256 of the bytes")
	assert.Empty(t, v.Scopes)
	assert.NotNil(t, v.Scopes, "scopes is an empty list, not null")
	assert.Equal(t, "firmwareVersion", v.Type)
	assert.False(t, v.CreatedAt.IsZero())
	assert.Equal(t, []string{sum}, h.fwFiles(), "the image is stored under its hash, and nothing else is left")

	// The same bytes again: no change.
	before := h.fwHead()
	r = h.fwUploadRaw(rootKey, "1.0.0", image)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, sum, fwDecode(t, r).SHA256)
	assert.Equal(t, before, h.fwHead(), "nothing appended")

	// Other bytes under the same version: 409, nothing appended, no file left.
	r = h.fwUploadRaw(rootKey, "1.0.0", fwRandomBytes(t, 1000))
	assert.Equal(t, http.StatusConflict, r.Status, r.Error)
	assert.Equal(t, before, h.fwHead())
	assert.Equal(t, []string{sum}, h.fwFiles())

	// Multipart, field `file`, and the reference's `firmware`.
	small := fwRandomBytes(t, 1000)
	r = h.fwUploadForm(rootKey, "1.0.1-beta", "file", small)
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.Equal(t, fwSHA256(small), fwDecode(t, r).SHA256)
	assert.Equal(t, int64(1000), fwDecode(t, r).Size)
	r = h.fwUploadForm(rootKey, "1.0.2", "firmware", small)
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.Len(t, h.fwFiles(), 2, "two versions with the same bytes share one image")
	assert.Equal(t, http.StatusBadRequest, h.fwUploadForm(rootKey, "1.0.3", "image", small).Status, "no file field")

	got := h.do("GET", "/firmware/1.0.0", rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.Equal(t, sum, fwDecode(t, got).SHA256)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/firmware/9.9.9", rootKey, nil).Status)

	// Download: the exact bytes, the ETag, and 304 for a matching If-None-Match.
	d := h.fwSend("GET", "/firmware/1.0.0/download", rootKey, "", nil, 0, nil)
	require.Equal(t, http.StatusOK, d.Status)
	assert.True(t, bytes.Equal(image, d.Data), "the exact bytes")
	assert.Equal(t, `"`+sum+`"`, d.Header.Get("ETag"))
	assert.Equal(t, "application/octet-stream", d.Header.Get("Content-Type"))
	d = h.fwSend("GET", "/firmware/1.0.0/download", rootKey, "", nil, 0, map[string]string{"If-None-Match": `"` + sum + `"`})
	assert.Equal(t, http.StatusNotModified, d.Status)
	assert.Empty(t, d.Data)
	d = h.fwSend("GET", "/firmware/1.0.0/download", rootKey, "", nil, 0, map[string]string{"If-None-Match": `"` + fwSHA256(small) + `"`})
	assert.Equal(t, http.StatusOK, d.Status)
	assert.Len(t, d.Data, len(image))
	assert.Equal(t, http.StatusNotFound, h.fwSend("GET", "/firmware/9.9.9/download", rootKey, "", nil, 0, nil).Status)
}

func TestFirmwareUploadValidation(t *testing.T) {
	h := newHarness(t)
	image := fwRandomBytes(t, 100)
	for _, version := range []string{"1.0_beta", "v1+2", strings.Repeat("1", 65), "1.0%20x"} {
		r := h.fwUploadRaw(rootKey, version, image)
		assert.Equal(t, http.StatusBadRequest, r.Status, "version %q: %s", version, r.Error)
	}
	assert.Equal(t, http.StatusCreated, h.fwUploadRaw(rootKey, strings.Repeat("A", 64), image).Status, "64 characters is fine")
	assert.Equal(t, http.StatusBadRequest, h.fwUploadRaw(rootKey, "2.0", nil).Status, "empty image")
	r := h.fwSend("POST", "/firmware/2.0/upload", rootKey, "application/json", bytes.NewReader([]byte(`{}`)), 2, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status, "JSON is not an image")
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/firmware/2.0", rootKey, nil).Status)
}

// A version is a segment of its routes' paths: `.` and `..`, which a
// router cleans away (sent as %2e%2e they reach the upload route), are a
// 400 naming version, for they could never be fetched again. Dots among
// other characters are fine.
func TestFirmwareVersionIsNotADotSegment(t *testing.T) {
	h := newHarness(t)
	image := fwRandomBytes(t, 100)
	for _, version := range []string{"%2e%2e", "%2E%2E", "%2e", ".%2e"} {
		r := h.fwUploadRaw(rootKey, version, image)
		assert.Equal(t, http.StatusBadRequest, r.Status, "version %q: %s", version, r.Error)
		assert.Contains(t, r.Error, "version", version)
	}
	for _, version := range []string{"...", "..1", "1..", ".hidden"} {
		assert.Equal(t, http.StatusCreated, h.fwUploadRaw(rootKey, version, image).Status, version)
		assert.Equal(t, http.StatusOK, h.do("GET", "/firmware/"+version, rootKey, nil).Status, version)
	}
}

// fwPatternReader yields n bytes of a repeating pattern without holding
// them.
type fwPatternReader struct{ left int64 }

func (p *fwPatternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte(i * 7)
	}
	p.left -= int64(len(b))
	return len(b), nil
}

func TestFirmwareUploadTooLarge(t *testing.T) {
	h := newHarness(t)
	before := h.fwHead()
	// Streamed without a Content-Length: refused once the 64 MiB are passed.
	r := h.fwSend("POST", "/firmware/3.0/upload", rootKey, "application/octet-stream", &fwPatternReader{left: fwMaxSize + 1}, -1, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.Status, r.Error)
	// Announced: refused before it is read.
	r = h.fwSend("POST", "/firmware/3.0/upload", rootKey, "application/octet-stream", &fwPatternReader{left: fwMaxSize + 1}, fwMaxSize+1, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.Status, r.Error)
	assert.Equal(t, before, h.fwHead(), "nothing appended")
	assert.Empty(t, h.fwFiles(), "no image and no temporary file left")
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/firmware/3.0", rootKey, nil).Status)
}

func TestFirmwareAssignmentResolution(t *testing.T) {
	h := newHarness(t)
	account := h.fwAccountID(rootKey)
	property := h.lockProperty(rootKey)
	building := h.mkArea(rootKey, property, "Building", "")
	floor := h.mkArea(rootKey, property, "Floor 1", building)
	flat := h.mkArea(rootKey, property, "Flat 1A", floor)
	door := h.provisionLock(rootKey, "Flat 1A door")
	gate := h.provisionLock(rootKey, "Gate")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, flat, door.LockID), rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, building, gate.LockID), rootKey, nil).Status)
	for _, v := range []string{"global-1", "property-1", "building-1", "flat-1", "lock-1"} {
		h.fwMustUpload(rootKey, v)
	}
	assign := func(version, query string) fwView {
		t.Helper()
		r := h.do("PUT", "/firmware/"+version+"/assign?"+query, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		return fwDecode(t, r)
	}
	unassign := func(query, was string) {
		t.Helper()
		r := h.do("PUT", "/firmware/unassign?"+query, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		assert.Equal(t, was, r.field("unassignedFirmwareVersion"))
	}

	assert.Equal(t, "", h.fwRequired(account, door.LockID), "nothing assigned")
	v := assign("global-1", "scope=global")
	require.Len(t, v.Scopes, 1)
	assert.Equal(t, "global", v.Scopes[0].Scope)
	assert.Equal(t, "global-1", h.fwRequired(account, door.LockID))

	v = assign("property-1", "scope=property&propertyId="+property)
	require.Len(t, v.Scopes, 1)
	assert.Equal(t, property, v.Scopes[0].PropertyID)
	assert.Equal(t, "property-1", h.fwRequired(account, door.LockID), "property over global")

	assign("building-1", "scope=area&areaId="+building)
	assert.Equal(t, "building-1", h.fwRequired(account, door.LockID), "an ancestor area over the property")
	assert.Equal(t, "building-1", h.fwRequired(account, gate.LockID), "the install area")

	v = assign("flat-1", "scope=area&areaId="+flat)
	assert.Equal(t, flat, v.Scopes[0].AreaID)
	assert.Equal(t, "flat-1", h.fwRequired(account, door.LockID), "the install area over its ancestors")
	assert.Equal(t, "building-1", h.fwRequired(account, gate.LockID))

	assign("lock-1", "scope=lock&lockId="+door.LockID)
	assert.Equal(t, "lock-1", h.fwRequired(account, door.LockID), "the lock's own over its areas")

	// Assigning again changes nothing; another version at the same lock replaces it.
	before := h.fwHead()
	assign("lock-1", "scope=lock&lockId="+door.LockID)
	assert.Equal(t, before, h.fwHead())
	assign("global-1", "scope=lock&lockId="+door.LockID)
	assert.Equal(t, "global-1", h.fwRequired(account, door.LockID))
	assert.Empty(t, fwDecode(t, h.do("GET", "/firmware/lock-1", rootKey, nil)).Scopes, "lock-1 left the lock")
	assert.Len(t, fwDecode(t, h.do("GET", "/firmware/global-1", rootKey, nil)).Scopes, 2, "global and the lock")
	assign("lock-1", "scope=lock&lockId="+door.LockID)

	// Moving the flat to the top of the property leaves the building out.
	unassign("scope=area&areaId="+flat, "flat-1")
	require.Equal(t, http.StatusOK, h.moveArea(property, flat, "").Status)
	unassign("scope=lock&lockId="+door.LockID, "lock-1")
	assert.Equal(t, "property-1", h.fwRequired(account, door.LockID), "no longer under the building")
	require.Equal(t, http.StatusOK, h.moveArea(property, flat, floor).Status)
	assert.Equal(t, "building-1", h.fwRequired(account, door.LockID), "under the building again")

	// Unassigning walks back out.
	unassign("scope=area&areaId="+building, "building-1")
	assert.Equal(t, "property-1", h.fwRequired(account, door.LockID))
	unassign("scope=property&propertyId="+property, "property-1")
	assert.Equal(t, "global-1", h.fwRequired(account, door.LockID))
	unassign("scope=global", "global-1")
	assert.Equal(t, "", h.fwRequired(account, door.LockID))
	before = h.fwHead()
	unassign("scope=global", "")
	assert.Equal(t, before, h.fwHead(), "unassigning nothing appends nothing")

	// A lock taken out of its area keeps its property's version.
	assign("property-1", "scope=property&propertyId="+property)
	assign("flat-1", "scope=area&areaId="+flat)
	assert.Equal(t, "flat-1", h.fwRequired(account, door.LockID))
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+door.LockID+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	assert.Equal(t, "property-1", h.fwRequired(account, door.LockID))
}

func TestFirmwareAssignValidation(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	l := h.provisionLock(rootKey, "door")
	h.fwMustUpload(rootKey, "1.0")
	for query, want := range map[string]int{
		"":                                      http.StatusBadRequest,
		"scope=building":                        http.StatusBadRequest,
		"scope=lock":                            http.StatusBadRequest,
		"scope=lock&lockId=nope":                http.StatusBadRequest,
		"scope=lock&areaId=" + l.LockID:         http.StatusBadRequest,
		"scope=global&propertyId=" + property:   http.StatusBadRequest,
		"scope=lock&lockId=" + uuid.NewString(): http.StatusNotFound,
		"scope=area&areaId=" + uuid.NewString(): http.StatusNotFound,
		"scope=property&propertyId=" + l.LockID: http.StatusNotFound,
		"scope=property&propertyId=" + property: http.StatusOK,
		"scope=lock&lockId=" + l.LockID:         http.StatusOK,
	} {
		r := h.do("PUT", "/firmware/1.0/assign?"+query, rootKey, nil)
		assert.Equal(t, want, r.Status, "assign ?%s: %s", query, r.Error)
	}
	r := h.do("PUT", "/firmware/9.9/assign?scope=global", rootKey, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, "a version never uploaded")
	r = h.do("PUT", "/firmware/bad_version/assign?scope=global", rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r = h.do("PUT", "/firmware/unassign?scope=lock", rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r = h.do("PUT", "/firmware/unassign?scope=lock&lockId="+uuid.NewString(), rootKey, nil)
	assert.Equal(t, http.StatusNotFound, r.Status)
}

func TestFirmwarePermissions(t *testing.T) {
	h := newHarness(t)
	account := h.fwAccountID(rootKey)
	property := h.lockProperty(rootKey)
	other := h.lockProperty(rootKey)
	room := h.lockArea(rootKey, property)
	l := h.provisionLock(rootKey, "door")
	elsewhere := h.provisionLock(rootKey, "elsewhere")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, room, l.LockID), rootKey, nil).Status)
	otherRoom := h.lockArea(rootKey, other)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(other, otherRoom, elsewhere.LockID), rootKey, nil).Status)

	manager := h.newKey(rootKey, perm("manage-firmware"))
	support := h.newKey(rootKey, perm("support"))
	installer := h.newKey(rootKey, perm("install-lock"))
	scoped := h.newKey(rootKey, scopedPerm("manage-firmware", property))

	// manage-firmware does it all.
	image := h.fwMustUpload(manager, "1.0")
	assert.Equal(t, http.StatusOK, h.do("GET", "/firmware/1.0", manager, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("PUT", "/firmware/1.0/assign?scope=lock&lockId="+l.LockID, manager, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("PUT", "/firmware/unassign?scope=lock&lockId="+l.LockID, manager, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("PUT", "/firmware/1.0/assign?scope=area&areaId="+room, manager, nil).Status)
	d := h.fwSend("GET", "/firmware/1.0/download", manager, "", nil, 0, nil)
	require.Equal(t, http.StatusOK, d.Status)
	assert.True(t, bytes.Equal(image, d.Data))

	// support reads but changes nothing.
	before := h.fwHead()
	assert.Equal(t, http.StatusOK, h.do("GET", "/firmware/1.0", support, nil).Status)
	assert.Equal(t, http.StatusOK, h.fwSend("GET", "/firmware/1.0/download", support, "", nil, 0, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.fwUploadRaw(support, "1.1", image).Status)
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/firmware/1.0/assign?scope=global", support, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/firmware/1.0/assign?scope=lock&lockId="+l.LockID, support, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/firmware/unassign?scope=area&areaId="+room, support, nil).Status)
	assert.Equal(t, before, h.fwHead())
	assert.Len(t, h.fwFiles(), 1, "a refused upload stores nothing")

	// Other permissions neither read nor write.
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/firmware/1.0", installer, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.fwSend("GET", "/firmware/1.0/download", installer, "", nil, 0, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.fwUploadRaw(installer, "1.1", image).Status)

	// Scoped to a property: its locks and areas, not the account's uploads,
	// the global scope, or another property's locks.
	assert.Equal(t, http.StatusOK, h.do("PUT", "/firmware/1.0/assign?scope=lock&lockId="+l.LockID, scoped, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("PUT", "/firmware/1.0/assign?scope=property&propertyId="+property, scoped, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/firmware/1.0/assign?scope=global", scoped, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/firmware/1.0/assign?scope=lock&lockId="+elsewhere.LockID, scoped, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.fwUploadRaw(scoped, "1.1", image).Status)

	// A lock's own key downloads the version required of it, nothing else.
	h.fwMustUpload(manager, "2.0")
	lockKey := l.Private.APIKey
	require.NotEmpty(t, lockKey)
	require.Equal(t, "1.0", h.fwRequired(account, l.LockID))
	d = h.fwSend("GET", "/firmware/1.0/download", lockKey, "", nil, 0, nil)
	require.Equal(t, http.StatusOK, d.Status)
	assert.True(t, bytes.Equal(image, d.Data))
	assert.Equal(t, http.StatusForbidden, h.fwSend("GET", "/firmware/2.0/download", lockKey, "", nil, 0, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/firmware/1.0", lockKey, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.fwUploadRaw(lockKey, "3.0", image).Status)
}

func TestFirmwareCrossAccount(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	room := h.lockArea(rootKey, property)
	l := h.provisionLock(rootKey, "door")
	image := h.fwMustUpload(rootKey, "1.0")

	tenant := h.newAccount()
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/firmware/1.0", tenant, nil).Status, "versions are per account")
	assert.Equal(t, http.StatusNotFound, h.fwSend("GET", "/firmware/1.0/download", tenant, "", nil, 0, nil).Status)
	// The tenant's own 1.0, with other bytes, is no conflict.
	mine := h.fwMustUpload(tenant, "1.0")
	assert.NotEqual(t, fwSHA256(image), fwSHA256(mine))
	for _, query := range []string{"scope=lock&lockId=" + l.LockID, "scope=area&areaId=" + room, "scope=property&propertyId=" + property} {
		assert.Equal(t, http.StatusNotFound, h.do("PUT", "/firmware/1.0/assign?"+query, tenant, nil).Status, query)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", "/firmware/unassign?"+query, tenant, nil).Status, query)
	}
	// The tenant's global version is not the root account's.
	require.Equal(t, http.StatusOK, h.do("PUT", "/firmware/1.0/assign?scope=global", tenant, nil).Status)
	assert.Equal(t, "", h.fwRequired(h.fwAccountID(rootKey), l.LockID))
	d := h.fwSend("GET", "/firmware/1.0/download", rootKey, "", nil, 0, nil)
	assert.True(t, bytes.Equal(image, d.Data), "each account downloads its own bytes")
}

// A download's Range is served (206); a malformed or unsatisfiable one is
// a 416 envelope like every other error, not ServeContent's plain text,
// and If-Match failing is a 412 envelope.
func TestFirmwareDownloadRangeErrorsAreEnvelopes(t *testing.T) {
	h := newHarness(t)
	image := h.fwMustUpload(rootKey, "1.0.0")
	download := func(header map[string]string) reply {
		return h.fwSend("GET", "/firmware/1.0.0/download", rootKey, "", nil, 0, header)
	}

	d := download(map[string]string{"Range": "bytes=0-9"})
	require.Equal(t, http.StatusPartialContent, d.Status)
	assert.Equal(t, image[:10], []byte(d.Data))
	assert.Equal(t, "bytes 0-9/4096", d.Header.Get("Content-Range"))

	for _, bad := range []string{"bytes=zzz", "bytes=999999-", "items=0-1"} {
		d = download(map[string]string{"Range": bad})
		assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, d.Status, bad)
		assert.Equal(t, "application/json", d.Header.Get("Content-Type"), bad)
		assert.False(t, d.Success, bad)
		assert.NotEmpty(t, d.Error, bad)
		assert.Empty(t, d.Header.Get("Content-Disposition"), bad)
	}
	assert.Equal(t, "bytes */4096", download(map[string]string{"Range": "bytes=999999-"}).Header.Get("Content-Range"))

	d = download(map[string]string{"If-Match": `"nope"`})
	assert.Equal(t, http.StatusPreconditionFailed, d.Status)
	assert.Equal(t, "application/json", d.Header.Get("Content-Type"))
	assert.NotEmpty(t, d.Error)
}

// A malformed Range is a 416 that names the size like an unsatisfiable
// one (Content-Range: bytes */SIZE), so a lock can retry with a valid
// range; ServeContent sets it only for the unsatisfiable case.
func TestFirmwareDownloadMalformedRangeNamesSize(t *testing.T) {
	h := newHarness(t)
	h.fwMustUpload(rootKey, "1.0.0")
	for _, bad := range []string{"bytes=zzz", "bytes=5-1", "items=0-1", "bytes=999999-"} {
		d := h.fwSend("GET", "/firmware/1.0.0/download", rootKey, "", nil, 0, map[string]string{"Range": bad})
		require.Equal(t, http.StatusRequestedRangeNotSatisfiable, d.Status, bad)
		assert.Equal(t, "bytes */4096", d.Header.Get("Content-Range"), bad)
		assert.False(t, d.Success, bad)
	}
}

// Ranges follow RFC 7233 §2.1 where ServeContent's parser does not: a
// zero-length suffix is unsatisfiable (416, not an empty 206), and a
// position too large for int64 is past the end, not malformed: a last byte
// is clipped to the end, a suffix takes the whole file, a first byte is
// unsatisfiable (and ignored beside a satisfiable range).
func TestFirmwareDownloadRangesPastInt64AndEmptySuffix(t *testing.T) {
	h := newHarness(t)
	image := h.fwMustUpload(rootKey, "1.0.0")
	download := func(ranges string) reply {
		return h.fwSend("GET", "/firmware/1.0.0/download", rootKey, "", nil, 0, map[string]string{"Range": ranges})
	}
	for _, unsatisfiable := range []string{"bytes=-0", "bytes=-000", "bytes= -0 ,", "bytes=99999999999999999999-"} {
		d := download(unsatisfiable)
		require.Equal(t, http.StatusRequestedRangeNotSatisfiable, d.Status, unsatisfiable)
		assert.Equal(t, "bytes */4096", d.Header.Get("Content-Range"), unsatisfiable)
		assert.Equal(t, "application/json", d.Header.Get("Content-Type"), unsatisfiable)
		assert.False(t, d.Success, unsatisfiable)
	}
	for _, whole := range []string{"bytes=0-99999999999999999999", "bytes=-99999999999999999999"} {
		d := download(whole)
		require.Equal(t, http.StatusPartialContent, d.Status, whole)
		assert.Equal(t, "bytes 0-4095/4096", d.Header.Get("Content-Range"), whole)
		assert.Equal(t, image, []byte(d.Data), whole)
	}
	d := download("bytes=4000-99999999999999999999")
	require.Equal(t, http.StatusPartialContent, d.Status)
	assert.Equal(t, "bytes 4000-4095/4096", d.Header.Get("Content-Range"))
	assert.Equal(t, image[4000:], []byte(d.Data))
	for _, mixed := range []string{"bytes=-0,0-9", "bytes=99999999999999999999-,0-9"} {
		d = download(mixed)
		require.Equal(t, http.StatusPartialContent, d.Status, mixed)
		assert.Equal(t, "bytes 0-9/4096", d.Header.Get("Content-Range"), mixed)
		assert.Equal(t, image[:10], []byte(d.Data), mixed)
	}
}

// The lock output's private part names the firmware version the lock must
// run (private.requiredFirmwareVersion), as its sync does, in GET
// /locks/{lockId} and in the lists, signed with the rest.
func TestLockOutputShowsRequiredFirmware(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	room := h.lockArea(rootKey, property)
	door := h.provisionLock(rootKey, "Door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, room, door.LockID), rootKey, nil).Status)
	required := func(r reply) string {
		t.Helper()
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var l struct {
			Private struct {
				RequiredFirmwareVersion string `json:"requiredFirmwareVersion"`
			} `json:"private"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &l), "%s", r.Data)
		return l.Private.RequiredFirmwareVersion
	}
	listed := func(query string) string {
		t.Helper()
		r := h.do("GET", "/locks?propertyId="+property+query, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var out struct {
			Locks []json.RawMessage `json:"locks"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &out), "%s", r.Data)
		require.Len(t, out.Locks, 1)
		return required(reply{Status: http.StatusOK, Data: out.Locks[0]})
	}

	assert.Equal(t, "", required(h.do("GET", "/locks/"+door.LockID, rootKey, nil)), "nothing assigned")
	h.fwMustUpload(rootKey, "2.1.0")
	require.Equal(t, http.StatusOK, h.do("PUT", "/firmware/2.1.0/assign?scope=property&propertyId="+property, rootKey, nil).Status)
	got := h.do("GET", "/locks/"+door.LockID, rootKey, nil)
	h.verifySigned(got)
	assert.Equal(t, "2.1.0", required(got))
	assert.Equal(t, "2.1.0", listed(""))

	// A membership makes the lock's key map move past what it confirmed.
	user := h.do("POST", "/users", rootKey, map[string]any{"displayName": "Ana"}).field("userId")
	pub, enc := lockKeys(t)
	require.Equal(t, http.StatusCreated, h.do("POST", "/users/"+user+"/devices", rootKey,
		map[string]any{"deviceType": "iOS", "makeModel": "x", "displayName": "p", "publicKey": pub, "encryptionPublicKey": enc}).Status)
	area := h.do("GET", "/properties/"+property+"/areas/"+room, rootKey, nil)
	require.Equal(t, http.StatusOK, h.do("POST", "/properties/"+property+"/groups/"+area.field("areaUserGroupId")+"/users/"+user, rootKey, nil).Status)
	assert.Equal(t, "2.1.0", listed("&outOfSync=true"))
}

// A lock provisioned while the account assigns a version globally answers
// with it required from the start, as GET shows it.
func TestProvisionedLockShowsTheGlobalFirmware(t *testing.T) {
	h := newHarness(t)
	assert.Empty(t, h.provisionLock(rootKey, "Before").Private.RequiredFirmwareVersion)
	h.fwMustUpload(rootKey, "3.0.1")
	require.Equal(t, http.StatusOK, h.do("PUT", "/firmware/3.0.1/assign?scope=global", rootKey, nil).Status)
	door := h.provisionLock(rootKey, "Door")
	assert.Equal(t, "3.0.1", door.Private.RequiredFirmwareVersion)
	got := decodeLock(t, h.do("GET", "/locks/"+door.LockID, rootKey, nil))
	assert.Equal(t, "3.0.1", got.Private.RequiredFirmwareVersion)
}

// A multipart upload with two image parts (two `file`, or `file` and
// `firmware`) is a 400 naming file, whichever comes first: the server
// does not pick one. Fields besides the image after it are fine.
func TestFirmwareUploadTwoFileParts(t *testing.T) {
	h := newHarness(t)
	form := func(fields ...string) (string, *bytes.Buffer) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range fields {
			if f == "note" {
				require.NoError(t, mw.WriteField("note", "ignored"))
				continue
			}
			w, err := mw.CreateFormFile(f, f+".bin")
			require.NoError(t, err)
			_, err = w.Write(fwRandomBytes(t, 100))
			require.NoError(t, err)
		}
		require.NoError(t, mw.Close())
		return mw.FormDataContentType(), &buf
	}
	for _, fields := range [][]string{{"file", "file"}, {"file", "note", "firmware"}, {"firmware", "file"}} {
		ct, body := form(fields...)
		r := h.fwSend("POST", "/firmware/2.0/upload", rootKey, ct, body, int64(body.Len()), nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", fields, r.Error)
		assert.Contains(t, r.Error, "file", fields)
		assert.Contains(t, r.Error, "exactly one file part", fields)
	}
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/firmware/2.0", rootKey, nil).Status, "nothing recorded")
	ct, body := form("note", "file", "note")
	r := h.fwSend("POST", "/firmware/2.0/upload", rootKey, ct, body, int64(body.Len()), nil)
	assert.Equal(t, http.StatusCreated, r.Status, r.Error)
}

// An upload whose body ends early is the client's error, a 400, not a 503
// "read-model database unavailable": reading it fails with
// io.ErrUnexpectedEOF, which is also how a dropped database connection
// fails. A multipart form cut off inside its `file` part (no closing
// boundary) is not a well-formed multipart form; a raw body shorter than
// its Content-Length, the connection closed, could not be read. Nothing
// is recorded or left on disk.
func TestFirmwareUploadCutShortIs400(t *testing.T) {
	h := newHarness(t)
	before := h.fwHead()
	for _, name := range []string{"file", "firmware"} {
		body := "--xx\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"a\"\r\n\r\nabc"
		r := h.fwSend("POST", "/firmware/3.9/upload", rootKey, "multipart/form-data; boundary=xx", strings.NewReader(body), int64(len(body)), nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", name, r.Error)
		assert.Contains(t, r.Error, "not a well-formed multipart form", name)
		// Chunked, without a Content-Length: the same.
		r = h.fwSend("POST", "/firmware/3.9/upload", rootKey, "multipart/form-data; boundary=xx", strings.NewReader(body), -1, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s chunked: %s", name, r.Error)
		assert.Contains(t, r.Error, "not a well-formed multipart form", name)
	}

	// A raw body of 3 bytes announced as 100, the client's side then shut.
	conn, err := net.Dial("tcp", h.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /firmware/3.9/upload HTTP/1.1\r\nHost: accessd\r\nx-api-key: "+rootKey+
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nabc")
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", raw)
	assert.Contains(t, string(raw), "could not read the request body")

	assert.Equal(t, before, h.fwHead(), "nothing appended")
	assert.Empty(t, h.fwFiles(), "no image and no temporary file left")
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/firmware/3.9", rootKey, nil).Status)
}
