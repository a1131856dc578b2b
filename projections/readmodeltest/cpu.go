package readmodeltest

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user and system) this process has used: the
// rebuild and apply benchmarks report it per event, which moves less with
// the machine's load than events per second.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
