package main

import "fmt"

// lowDiskBytes is the free space under which a storage directory counts
// as full: SQLite needs a few pages free to commit, so below this the
// server's appends may fail (503) while reads still serve.
const lowDiskBytes = 1 << 20

// diskFull says which of dirs has less than lowDiskBytes free for the
// server's writes, or "" when none (or the platform cannot tell).
func diskFull(dirs []string) string {
	for _, dir := range dirs {
		free, ok := freeBytes(dir)
		if ok && free < lowDiskBytes {
			return fmt.Sprintf("the disk of %s is full (%d bytes free): commands may answer 503 until space is freed", dir, free)
		}
	}
	return ""
}
