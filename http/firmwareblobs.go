package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/accessd/accessd/domain/firmware"
)

// errFirmwareTooLarge is the 413 of an image over firmware.MaxSize; it
// matches errBodyTooLarge, the error statusOf maps to 413.
type errFirmwareTooLarge struct{}

func (errFirmwareTooLarge) Error() string {
	return fmt.Sprintf("firmware image larger than %d bytes", firmware.MaxSize)
}

func (errFirmwareTooLarge) Is(target error) bool { return target == errBodyTooLarge }

var errFirmwareStorage = errors.New("firmware storage is not configured (Options.FirmwareDir)")

// firmwareBlobs keeps firmware images in a directory, each in a file named
// by its sha256 (lowercase hex). A file is written under a temporary name,
// synced, then renamed into place, so a crash never leaves a half image
// under a hash.
type firmwareBlobs struct {
	dir string
	// commit serializes placing an image and recording it, so an image
	// removed after a refused upload cannot be one another upload of the
	// same bytes has just recorded.
	commit sync.Mutex
}

// newFirmwareBlobs returns the store in dir; nil when dir is empty.
func newFirmwareBlobs(dir string) *firmwareBlobs {
	if dir == "" {
		return nil
	}
	return &firmwareBlobs{dir: dir}
}

// firmwareReceived is an image written to a temporary file: its hash and
// length.
type firmwareReceived struct {
	tmp    string
	sha256 string
	size   int64
}

// receive streams r into a temporary file of the directory, hashing the
// bytes as they pass, so no image is ever held in memory. More than
// firmware.MaxSize bytes is errFirmwareTooLarge.
func (b *firmwareBlobs) receive(r io.Reader) (firmwareReceived, error) {
	if b == nil {
		return firmwareReceived{}, errFirmwareStorage
	}
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return firmwareReceived{}, fmt.Errorf("firmware storage: %w", err)
	}
	f, err := os.CreateTemp(b.dir, ".upload-*")
	if err != nil {
		return firmwareReceived{}, fmt.Errorf("firmware storage: %w", err)
	}
	got := firmwareReceived{tmp: f.Name()}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, firmware.MaxSize+1))
	if err == nil && n > firmware.MaxSize {
		err = errFirmwareTooLarge{}
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = errFirmwareTooLarge{}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(got.tmp)
		return firmwareReceived{}, err
	}
	got.sha256, got.size = hex.EncodeToString(h.Sum(nil)), n
	return got, nil
}

// discard removes a received image that was not placed.
func (b *firmwareBlobs) discard(got firmwareReceived) {
	if got.tmp != "" {
		os.Remove(got.tmp)
	}
}

// place moves a received image to its name; created is false when an
// image with the same hash was there already (the same bytes).
func (b *firmwareBlobs) place(got firmwareReceived) (created bool, err error) {
	final := b.path(got.sha256)
	if _, err := os.Stat(final); err == nil {
		os.Remove(got.tmp)
		return false, nil
	}
	if err := os.Rename(got.tmp, final); err != nil {
		return false, fmt.Errorf("firmware storage: %w", err)
	}
	if d, err := os.Open(b.dir); err == nil {
		d.Sync() // make the rename durable
		d.Close()
	}
	return true, nil
}

// remove deletes an image placed for an upload that was then refused.
func (b *firmwareBlobs) remove(sum string) { os.Remove(b.path(sum)) }

// open opens the image with the hash.
func (b *firmwareBlobs) open(sum string) (*os.File, error) {
	if b == nil {
		return nil, errFirmwareStorage
	}
	f, err := os.Open(b.path(sum))
	if err != nil {
		return nil, fmt.Errorf("firmware image %s: %w", sum, err)
	}
	return f, nil
}

func (b *firmwareBlobs) path(sum string) string { return filepath.Join(b.dir, sum) }
