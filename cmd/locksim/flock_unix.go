//go:build unix

package main

import (
	"os"
	"syscall"
)

// flockExclusive waits for an exclusive advisory lock on f.
func flockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
}
