package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	fw "github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

// firmwareMultipartSlack is what a multipart upload may add to the image:
// boundaries and part headers.
const firmwareMultipartSlack = 1 << 20

func (a *API) firmwareRoutes() []route {
	return []route{
		{method: "POST", path: "/firmware/{version}/upload", operation: firmwareUploadOperation, handler: a.uploadFirmware,
			summary: "Upload a lock firmware image (raw application/octet-stream body, or multipart field file), up to 64 MiB (manage-firmware)."},
		{method: "GET", path: "/firmware/{version}", operation: "getFirmwareVersion", handler: a.getFirmware,
			summary: "A firmware version's metadata: size, sha256 and where it is assigned (manage-firmware or support)."},
		{method: "GET", path: "/firmware/{version}/download", operation: "downloadFirmwareVersion", handler: a.downloadFirmware, lockKey: true,
			summary: "The firmware image, ETag the quoted sha256 (manage-firmware or support; a lock's own key for the version it must run)."},
		{method: "PUT", path: "/firmware/{version}/assign", operation: "assignFirmwareVersion", handler: a.assignFirmware,
			summary: "Assign a version to a lock, area, property or globally (?scope=&lockId=|areaId=|propertyId=) (manage-firmware)."},
		{method: "PUT", path: "/firmware/unassign", operation: "unassignFirmwareVersion", handler: a.unassignFirmware,
			summary: "Remove the version assigned to a lock, area, property or globally (?scope=&lockId=|areaId=|propertyId=) (manage-firmware)."},
	}
}

// firmwareOut is the reference's FirmwareVersionOutput data.
type firmwareOut struct {
	FirmwareVersion string                  `json:"firmwareVersion"`
	DeviceType      string                  `json:"deviceType"`
	Size            int64                   `json:"size"`
	SHA256          string                  `json:"sha256"`
	Scopes          []queries.FirmwareScope `json:"scopes"`
	Type            string                  `json:"type"`
	TypeState       string                  `json:"typeState"`
	CreatedAt       time.Time               `json:"createdAt"`
	LastModifiedAt  time.Time               `json:"lastModifiedAt"`
	LastModifiedBy  string                  `json:"lastModifiedBy,omitempty"`
}

var (
	errFirmwareRead    = domain.NewError(domain.ErrForbidden, "reading firmware needs owner, manage-firmware or support")
	errFirmwareLockKey = domain.NewError(domain.ErrForbidden, "a lock's own key may download only the firmware version required of it")
	errFirmwareFile    = domain.InvalidField("file", `a multipart upload needs the image in the field "file"`)
	errFirmwareType    = domain.InvalidField("Content-Type", "must be application/octet-stream or multipart/form-data")
)

// firmwareVersionOf reads and checks the {version} path variable.
func firmwareVersionOf(r *http.Request) (string, error) {
	v := mux.Vars(r)["version"]
	return v, fw.ValidateVersion("version", v)
}

func (a *API) uploadFirmware(w http.ResponseWriter, r *http.Request) {
	version, err := firmwareVersionOf(r)
	if err == nil {
		// Refuse before reading: an image may be 64 MiB.
		err = commands.AuthorizeFirmwareUpload(r.Context())
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	image, err := firmwareImage(w, r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	got, err := a.firmwareBlobs.receive(image)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	defer a.firmwareBlobs.discard(got)
	if got.size == 0 {
		writeErr(w, r, domain.InvalidField("file", "is empty"))
		return
	}
	res, err := a.recordFirmware(r, version, got)
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	a.writeFirmware(w, r, status, version)
}

// firmwareUploadOperation names the one route whose body the Idempotency-Key
// fingerprint leaves to its handler (see fingerprintBody).
const firmwareUploadOperation = "uploadFirmwareVersion"

// recordFirmware places the image under its hash and records the
// version; an image placed for an upload the command refuses (other
// bytes under the same version) is removed again.
func (a *API) recordFirmware(r *http.Request, version string, got firmwareReceived) (commands.UploadedFirmware, error) {
	b := a.firmwareBlobs
	b.commit.Lock()
	defer b.commit.Unlock()
	placed, err := b.place(got)
	if err != nil {
		return commands.UploadedFirmware{}, err
	}
	// A keyed upload's fingerprint names the image by its hash: the
	// middleware does not read an image (see fingerprintBody).
	ctx := withBodyDigest(r, "image:sha256:"+got.sha256)
	res, err := a.cmd.UploadFirmware(ctx, commands.UploadFirmware{Version: version, Size: got.size, SHA256: got.sha256})
	if err != nil && placed && (errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrInvalid) ||
		errors.Is(err, commands.ErrIdempotencyKeyReused)) {
		b.remove(got.sha256)
	}
	return res, err
}

// firmwareImage returns the image of an upload: the raw body, or the
// `file` part of a multipart form (`firmware`, the reference's name, is
// accepted too). Neither is read here: the caller streams it.
func firmwareImage(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mediaType := ""
	if ct != "" {
		var err error
		if mediaType, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, errFirmwareType
		}
	}
	switch mediaType {
	case "", "application/octet-stream":
		if r.ContentLength > fw.MaxSize {
			return nil, errFirmwareTooLarge{}
		}
		return clientBody{http.MaxBytesReader(w, r.Body, fw.MaxSize), errBodyUnreadable}, nil
	case "multipart/form-data":
		if r.ContentLength > fw.MaxSize+firmwareMultipartSlack {
			return nil, errFirmwareTooLarge{}
		}
		r.Body = http.MaxBytesReader(w, r.Body, fw.MaxSize+firmwareMultipartSlack)
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, domain.InvalidField("body", "is not a multipart form")
		}
		for {
			part, err := mr.NextPart()
			var tooLarge *http.MaxBytesError
			switch {
			case errors.Is(err, io.EOF):
				return nil, errFirmwareFile
			case errors.As(err, &tooLarge):
				return nil, errFirmwareTooLarge{}
			case err != nil:
				return nil, errMalformedForm
			}
			if isFirmwareFilePart(part) {
				return clientBody{&firmwarePart{Part: part, form: mr}, errMalformedForm}, nil
			}
		}
	}
	return nil, errFirmwareType
}

var (
	errMalformedForm  = domain.InvalidField("body", "is not a well-formed multipart form")
	errBodyUnreadable = domain.InvalidField("body", "could not read the request body")
)

var errFirmwareFiles = domain.InvalidField("file", "a multipart upload takes exactly one file part")

// isFirmwareFilePart reports whether part holds the image: the field
// `file`, or `firmware`, the reference's name.
func isFirmwareFilePart(part *multipart.Part) bool {
	name := part.FormName()
	return name == "file" || name == "firmware"
}

// firmwarePart reads the image part of a multipart upload; at its end it
// reads the rest of the form, and fails the read when the form holds
// another image part: which of two images was meant is not for the server
// to guess.
type firmwarePart struct {
	*multipart.Part
	form *multipart.Reader
}

func (p *firmwarePart) Read(b []byte) (int, error) {
	n, err := p.Part.Read(b)
	if errors.Is(err, io.EOF) {
		if rerr := p.rest(); rerr != nil {
			return n, rerr
		}
	}
	return n, err
}

// rest reads the parts after the image, refusing another image part.
func (p *firmwarePart) rest() error {
	for {
		part, err := p.form.NextPart()
		var tooLarge *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &tooLarge):
			return err
		case err != nil:
			return errMalformedForm
		}
		if isFirmwareFilePart(part) {
			return errFirmwareFiles
		}
	}
}

func (a *API) getFirmware(w http.ResponseWriter, r *http.Request) {
	version, err := firmwareVersionOf(r)
	if err == nil && !commands.CanReadFirmware(actorOf(r)) {
		err = errFirmwareRead
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeFirmware(w, r, http.StatusOK, version)
}

// writeFirmware answers a version of the caller's account.
func (a *API) writeFirmware(w http.ResponseWriter, r *http.Request, status int, version string) {
	v, err := a.firmware.Version(r.Context(), actorOf(r).AccountID, version)
	if errors.Is(err, queries.ErrEntityNotFound) {
		err = fw.ErrNotFound
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	scopes, err := a.visibleFirmwareScopes(r, v.Scopes)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, status, firmwareOut{
		FirmwareVersion: v.Version, DeviceType: v.DeviceType, Size: v.Size, SHA256: v.SHA256, Scopes: scopes,
		Type: "firmwareVersion", TypeState: "active", CreatedAt: v.CreatedAt, LastModifiedAt: v.LastModifiedAt, LastModifiedBy: v.LastModifiedBy,
	})
}

// visibleFirmwareScopes keeps the assignments a caller may see: the
// global one, and one to a property, or to an area or lock in a property,
// only when the caller reads firmware there (owner, manage-firmware or
// support for it), so a property-scoped key learns no id of another
// property. An account-wide reader sees them all.
func (a *API) visibleFirmwareScopes(r *http.Request, scopes []queries.FirmwareScope) ([]queries.FirmwareScope, error) {
	actor := actorOf(r)
	readers := []domain.Permission{domain.PermManageFirmware, domain.PermSupport}
	if actor.CanAny(uuid.Nil, readers...) {
		return scopes, nil
	}
	out := []queries.FirmwareScope{}
	for _, s := range scopes {
		property := s.PropertyID
		kind, id := "", ""
		switch {
		case s.LockID != "":
			kind, id = entities.KindLock, s.LockID
		case s.AreaID != "":
			kind, id = entities.KindArea, s.AreaID
		}
		if kind != "" {
			doc, err := a.entities.Get(r.Context(), kind, actor.AccountID.String(), id, false)
			if errors.Is(err, queries.ErrEntityNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			property = doc.PropertyID
		}
		if s.Scope != "global" {
			pid, err := uuid.Parse(property)
			if err != nil || pid == uuid.Nil || !actor.CanAny(pid, readers...) {
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (a *API) downloadFirmware(w http.ResponseWriter, r *http.Request) {
	version, err := firmwareVersionOf(r)
	if err == nil {
		err = a.authorizeFirmwareDownload(r, version)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	v, err := a.firmware.Version(r.Context(), actorOf(r).AccountID, version)
	if errors.Is(err, queries.ErrEntityNotFound) {
		err = fw.ErrNotFound
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	f, err := a.firmwareBlobs.open(v.SHA256)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+v.SHA256+`"`)
	h.Set("Content-Disposition", `attachment; filename="firmware-`+v.Version+`.bin"`)
	// ServeContent answers If-None-Match with 304 and serves ranges; its
	// errors (416 for a bad or unsatisfiable Range, 412) it writes in plain
	// text, so they are caught and answered as envelopes.
	ew := &envelopeErrors{ResponseWriter: w, size: v.Size}
	if ranges := r.Header.Get("Range"); ranges != "" {
		if fixed := byteRangesForServeContent(ranges, v.Size); fixed != ranges {
			r = r.Clone(r.Context())
			r.Header.Set("Range", fixed)
		}
	}
	http.ServeContent(ew, r, "", time.Time{}, f)
	ew.finish()
}

// byteRangesForServeContent rewrites the ranges of a Range header that
// ServeContent's parser gets wrong by RFC 7233 §2.1 and leaves the rest
// (malformed ones included: 416 either way) as they are. A zero-length
// suffix (`-0`), which ServeContent serves as an empty 206, is
// unsatisfiable. A position too large for int64, which it calls
// malformed, is past any end: a last byte is clipped to the end, a
// suffix length takes the whole file, a first byte is unsatisfiable.
//
// An unsatisfiable range becomes `SIZE-`: ServeContent ignores it beside
// satisfiable ones, and alone answers it with 416 and `Content-Range:
// bytes */SIZE`, after its own checks (If-None-Match, If-Range) as usual.
func byteRangesForServeContent(header string, size int64) string {
	const unit = "bytes="
	specs, ok := strings.CutPrefix(header, unit)
	if !ok {
		return header
	}
	unsatisfiable := strconv.FormatInt(size, 10) + "-"
	parts := strings.Split(specs, ",")
	for i, part := range parts {
		part = textproto.TrimString(part)
		if part == "" {
			continue
		}
		first, last, ok := strings.Cut(part, "-")
		if !ok {
			return header
		}
		first, last = textproto.TrimString(first), textproto.TrimString(last)
		_, firstErr := bytePos(first)
		lastN, lastErr := bytePos(last)
		switch {
		case first == "" && lastErr == nil && lastN == 0:
			parts[i] = unsatisfiable
		case first == "" && errors.Is(lastErr, strconv.ErrRange):
			parts[i] = "0-"
		case errors.Is(firstErr, strconv.ErrRange):
			parts[i] = unsatisfiable
		case firstErr == nil && errors.Is(lastErr, strconv.ErrRange):
			parts[i] = first + "-"
		}
	}
	return unit + strings.Join(parts, ",")
}

// bytePos parses a byte position of a Range: digits only, leading zeros
// allowed (RFC 9110's 1*DIGIT). Too many for int64, it answers
// strconv.ErrRange.
func bytePos(s string) (int64, error) {
	if !domain.AllDigits(s) {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}

// envelopeErrors passes a handler's successful answer through and holds
// back an error status and its plain-text body, for finish to answer as an
// envelope with the headers set so far (a 416's Content-Range).
type envelopeErrors struct {
	http.ResponseWriter
	status int // the error status held back; 0 while there is none
	body   strings.Builder
	// size is the image's: every 416 names it in Content-Range, a
	// malformed Range too (ServeContent sets it only when none overlaps).
	size int64
}

func (e *envelopeErrors) WriteHeader(status int) {
	if status >= http.StatusBadRequest {
		e.status = status
		return
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *envelopeErrors) Write(p []byte) (int, error) {
	if e.status != 0 {
		return e.body.Write(p)
	}
	return e.ResponseWriter.Write(p)
}

func (e *envelopeErrors) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// finish answers the error held back, if any, as an envelope.
func (e *envelopeErrors) finish() {
	if e.status == 0 {
		return
	}
	msg := strings.TrimSpace(e.body.String())
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.status))
	}
	e.ResponseWriter.Header().Del("Content-Disposition") // no file comes
	if e.status == http.StatusRequestedRangeNotSatisfiable && e.ResponseWriter.Header().Get("Content-Range") == "" {
		e.ResponseWriter.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(e.size, 10))
	}
	writeFailure(e.ResponseWriter, e.status, msg)
}

// authorizeFirmwareDownload lets readers of firmware download any version
// of their account, and a lock's own key the version required of it.
func (a *API) authorizeFirmwareDownload(r *http.Request, version string) error {
	actor := actorOf(r)
	if actor.LockID == uuid.Nil {
		if !commands.CanReadFirmware(actor) {
			return errFirmwareRead
		}
		return nil
	}
	required, err := a.firmware.RequiredFor(r.Context(), actor.AccountID, actor.LockID)
	if err != nil {
		return err
	}
	if required != version {
		return errFirmwareLockKey
	}
	return nil
}

// firmwareTarget reads ?scope= and the one id it names; an id for another
// scope is refused rather than ignored.
func firmwareTarget(r *http.Request) (fw.Target, error) {
	t := fw.Target{Scope: fw.Scope(queryGet(r, "scope"))}
	if !t.Scope.Valid() {
		return t, domain.InvalidField("scope", `must be "lock", "area", "property" or "global"`)
	}
	for _, name := range []string{"lockId", "areaId", "propertyId"} {
		raw := queryGet(r, name)
		if name != t.Scope.IDField() {
			if raw != "" {
				return t, domain.InvalidField(name, "does not go with scope "+string(t.Scope))
			}
			continue
		}
		id, err := domain.ParseID(name, raw)
		if err != nil {
			return t, err
		}
		t.ID = id
	}
	return t, nil
}

func (a *API) assignFirmware(w http.ResponseWriter, r *http.Request) {
	version, err := firmwareVersionOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	target, err := firmwareTarget(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.AssignFirmware(r.Context(), version, target)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeFirmware(w, r, http.StatusOK, version)
}

// firmwareUnassignOut says what left the target.
type firmwareUnassignOut struct {
	queries.FirmwareScope
	// UnassignedFirmwareVersion is the version that was assigned there;
	// absent when none was.
	UnassignedFirmwareVersion string `json:"unassignedFirmwareVersion,omitempty"`
}

func (a *API) unassignFirmware(w http.ResponseWriter, r *http.Request) {
	target, err := firmwareTarget(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UnassignFirmware(r.Context(), target)
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := firmwareUnassignOut{FirmwareScope: queries.FirmwareScope{Scope: string(target.Scope)}, UnassignedFirmwareVersion: res.Version}
	switch target.Scope {
	case fw.ScopeLock:
		out.LockID = target.ID.String()
	case fw.ScopeArea:
		out.AreaID = target.ID.String()
	case fw.ScopeProperty:
		out.PropertyID = target.ID.String()
	}
	writeData(w, http.StatusOK, out)
}

// firmwareAssigned reports whether the caller's account assigns firmware
// anywhere, asked once for a page of locks rather than once per lock.
func (a *API) firmwareAssigned(r *http.Request) (bool, error) {
	if a.requiredFirmware == nil {
		return false, nil
	}
	return a.requiredFirmware.AssignsAny(r.Context(), actorOf(r).AccountID)
}

// withRequiredFirmware sets private.requiredFirmwareVersion of a lock
// document that has a private part: the version its sync would report
// (the nearest assignment), left out when none applies. The stored
// document never holds it, since it follows assignments to the lock's
// areas, property and account; a version is letters, digits, dots and
// dashes only, so it is spliced in as it is.
func (a *API) withRequiredFirmware(r *http.Request, doc queries.Document) (queries.Document, error) {
	if a.requiredFirmware == nil {
		return doc, nil
	}
	i := bytes.Index(doc.JSON, privateOpen)
	if i < 0 {
		return doc, nil // no private part
	}
	lockID, err := uuid.Parse(doc.ID)
	if err != nil {
		return doc, fmt.Errorf("lock document id %q: %w", doc.ID, err)
	}
	version, err := a.requiredFirmware.RequiredFor(r.Context(), actorOf(r).AccountID, lockID)
	if err != nil || version == "" {
		return doc, err
	}
	if !fw.RecordedVersionValid(version) {
		return doc, fmt.Errorf("lock %s: stored firmware version %q is not a valid version", lockID, version)
	}
	at := i + len(privateOpen)
	out := make([]byte, 0, len(doc.JSON)+len(version)+32)
	out = append(out, doc.JSON[:at]...)
	out = append(out, `"requiredFirmwareVersion":"`...)
	out = append(out, version...)
	out = append(out, `",`...)
	out = append(out, doc.JSON[at:]...)
	doc.JSON = out
	return doc, nil
}

// privateOpen starts a lock document's private part, which is never empty.
var privateOpen = []byte(`"private":{`)
