// Package atomicfile replaces a file so that a crash at any point leaves
// the old file or the whole new one, never half of one.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with what write writes, with mode perm. write fills
// a temporary file beside path, which is synced and renamed over path;
// the directory is then synced, so that the rename survives a crash too.
// When write (or any step before the rename) fails, the temporary file is
// removed and path is left as it was. An error syncing the directory
// comes after the rename: path then holds the whole new content, which a
// crash before the directory reaches the disk may still undo.
//
// temp names the temporary file within path's directory. "" picks a new
// name each time (so that writers of one path do not share it); a fixed
// name lets a reader of the directory recognise one a crash left behind.
func Write(path, temp string, perm fs.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	var f *os.File
	var err error
	if temp == "" {
		f, err = os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	} else {
		f, err = os.OpenFile(filepath.Join(dir, temp), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	}
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			// Best effort: the error returned already says what failed.
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes 0600, and OpenFile keeps the mode of a file left
	// behind: either way the mode is set here.
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	renamed = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%s is written, but its directory could not be synced: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s is written, but its directory could not be synced: %w", path, err)
	}
	return nil
}
