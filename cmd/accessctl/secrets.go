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
// (0600) if it is not there yet. It is cmd/accessd's function of the same
// name (two main packages cannot share code), and must keep its file names,
// sizes and modes, so that the server and the CLI read each other's keys.
// One difference: when the server creates the file at the same moment, the
// CLI reads the server's key instead of failing.
func loadOrCreateSecret(dir, file string, size int) ([]byte, error) {
	path := filepath.Join(dir, file)
	b, err := readSecret(path, size)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	b = make([]byte, size)
	rand.Read(b)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readSecret(path, size)
	}
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

// readSecret reads a key file that must hold exactly size bytes.
func readSecret(path string, size int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, fmt.Errorf("%s: expected %d bytes, found %d", path, size, len(b))
	}
	return b, nil
}
