package main

import "golang.org/x/sys/unix"

// freeBytes is the space of dir's file system that an unprivileged
// process may still write: f_bavail is counted in fragments (f_frsize).
func freeBytes(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return st.Bavail * unit, true
}
