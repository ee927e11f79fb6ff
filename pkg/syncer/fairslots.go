package syncer

import (
	"context"
	"sync"
)

// fairSlots are a registry host's request slots, shared by every run of the
// engine. A run alone may use them all. While runs wait, each freed slot goes
// to the waiting run that holds the fewest slots of the host (the earliest
// waiter among equals), so runs that share a host converge on equal shares,
// and one ImageSync with thousands of tags cannot keep another tenant's run
// waiting for its whole length.
type fairSlots struct {
	mu      sync.Mutex
	free    int
	held    map[any]int
	waiters []*slotWaiter
}

type slotWaiter struct {
	owner   any
	granted chan struct{}
}

func newFairSlots(n int) *fairSlots {
	return &fairSlots{free: n, held: map[any]int{}}
}

// acquire takes a slot for owner (a run), waiting for its turn.
func (s *fairSlots) acquire(ctx context.Context, owner any) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.grant(owner)
		s.mu.Unlock()
		return nil
	}
	w := &slotWaiter{owner: owner, granted: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.granted:
			// Granted while giving up: hand the slot on.
			s.releaseLocked(owner)
		default:
			for i, o := range s.waiters {
				if o == w {
					s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
					break
				}
			}
		}
		return ctx.Err()
	}
}

// release returns owner's slot and hands it to the fairest waiter.
func (s *fairSlots) release(owner any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(owner)
}

func (s *fairSlots) releaseLocked(owner any) {
	s.free++
	if s.held[owner]--; s.held[owner] <= 0 {
		delete(s.held, owner)
	}
	if len(s.waiters) == 0 {
		return
	}
	next := 0
	for i, w := range s.waiters {
		if s.held[w.owner] < s.held[s.waiters[next].owner] {
			next = i
		}
	}
	w := s.waiters[next]
	s.waiters = append(s.waiters[:next], s.waiters[next+1:]...)
	s.grant(w.owner)
	close(w.granted)
}

func (s *fairSlots) grant(owner any) {
	s.free--
	s.held[owner]++
}
