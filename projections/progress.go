package projections

import (
	"context"
	"sync"
	"sync/atomic"
)

// Progress is a $all position that one worker moves (a projection's
// checkpoint, the forwarder's) and any goroutine may wait for. The zero
// value is at position 0.
type Progress struct {
	pos      atomic.Uint64
	mu       sync.Mutex
	advanced chan struct{} // closed and replaced whenever pos moves
}

// Load is the current position.
func (p *Progress) Load() uint64 { return p.pos.Load() }

// Set moves the position and wakes every waiter.
func (p *Progress) Set(pos uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pos == p.pos.Load() && p.advanced != nil {
		return
	}
	p.pos.Store(pos)
	if p.advanced != nil {
		close(p.advanced)
	}
	p.advanced = make(chan struct{})
}

// Wait blocks until the position is at least position, or ctx ends (its
// error, unwrapped).
func (p *Progress) Wait(ctx context.Context, position uint64) error {
	for {
		p.mu.Lock()
		if p.advanced == nil {
			p.advanced = make(chan struct{})
		}
		reached, ch := p.pos.Load() >= position, p.advanced
		p.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
