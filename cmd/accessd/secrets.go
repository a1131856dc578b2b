package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// loadOrCreateSecret returns the random key in file under dir, creating it
// (0600) on first start. Secrets live in the data directory, never in the
// event log.
func loadOrCreateSecret(dir, file string, size int) ([]byte, error) {
	path := filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != size {
			return nil, fmt.Errorf("%s: expected %d bytes, found %d", path, size, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, size)
	rand.Read(b)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}
