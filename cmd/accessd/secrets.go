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

// loadSecret is loadOrCreateSecret for a server that must not change its
// data directory (--read-only, a read-only mount): a missing key, as in a
// replay of a directory no server ran on, is made for this run only.
func loadSecret(dir, file string, size int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if errors.Is(err, fs.ErrNotExist) {
		b = make([]byte, size)
		rand.Read(b)
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, fmt.Errorf("%s: expected %d bytes, found %d", filepath.Join(dir, file), size, len(b))
	}
	return b, nil
}
