//go:build !unix

package main

import "os"

// flockExclusive does nothing where advisory locks are not available:
// commands on one state file must then not run at the same time.
func flockExclusive(*os.File) error { return nil }
