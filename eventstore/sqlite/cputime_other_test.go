//go:build !unix

package sqlite

import "time"

// cpuTime reports that the process's CPU time is not measured here: the
// benchmarks leave out their cpu-µs/append metric.
func cpuTime() (time.Duration, bool) { return 0, false }
