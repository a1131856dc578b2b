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
	// hurry, when set, is told whenever someone has to wait: the worker
	// may be holding events back to apply more at once.
	hurry chan<- struct{}
}

// hurryOnWait makes every Wait that has to block tell hurry first.
func (p *Progress) hurryOnWait(hurry chan<- struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hurry = hurry
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
		reached, ch, hurry := p.pos.Load() >= position, p.advanced, p.hurry
		p.mu.Unlock()
		if reached {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err // a check, not a wait: nobody to hurry for
		}
		if hurry != nil {
			select {
			case hurry <- struct{}{}:
			default: // already told
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
