package projections

import "time"

// SetMaxBatch bounds the events of one read-model transaction until the
// returned function restores the bound.
func SetMaxBatch(n int) (restore func()) {
	old := maxBatch
	maxBatch = n
	return func() { maxBatch = old }
}

// SetDeferredLinger sets how long the deferred lane lets a batch grow
// until the returned function restores it.
func SetDeferredLinger(d time.Duration) (restore func()) {
	old := deferredLinger
	deferredLinger = d
	return func() { deferredLinger = old }
}

// SetFollowInterval sets how often a Set without the lease reads the
// stored checkpoints unasked, until the returned function restores it.
func SetFollowInterval(d time.Duration) (restore func()) {
	old := followInterval
	followInterval = d
	return func() { followInterval = old }
}
