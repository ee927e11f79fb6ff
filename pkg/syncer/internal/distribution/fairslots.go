package distribution

import (
	"context"
	"sync"
)

// fairSlots are a registry host's request slots, shared by every run of the
// client. A tenant alone may use them all. While tenants wait, each freed
// slot goes to the waiting tenant that holds the fewest slots of the host,
// and among those to the one served least recently, so tenants that share a
// host converge on equal shares and take turns: one ImageSync with
// thousands of tags cannot keep another tenant's run waiting for its whole
// length. A tenant's own requests are served in the order they came.
type fairSlots struct {
	mu      sync.Mutex
	free    int
	served  uint64 // grants so far; orders the tenants' turns
	waiters int    // requests waiting, across tenants
	// owners are the tenants holding or waiting for a slot. A tenant with
	// neither is forgotten, so the map stays as small as the traffic.
	owners map[any]*slotOwner
}

type slotOwner struct {
	held    int
	waiting []chan struct{}
	// lastServed is the value of served at this tenant's latest grant.
	lastServed uint64
}

func newFairSlots(n int) *fairSlots {
	return &fairSlots{free: n, owners: map[any]*slotOwner{}}
}

func (s *fairSlots) owner(key any) *slotOwner {
	o := s.owners[key]
	if o == nil {
		o = &slotOwner{}
		s.owners[key] = o
	}
	return o
}

// forget drops a tenant that holds and waits for nothing.
func (s *fairSlots) forget(key any, o *slotOwner) {
	if o.held <= 0 && len(o.waiting) == 0 {
		delete(s.owners, key)
	}
}

// acquire takes a slot for owner (a tenant), waiting for its turn.
func (s *fairSlots) acquire(ctx context.Context, owner any) error {
	s.mu.Lock()
	o := s.owner(owner)
	if s.free > 0 && s.waiters == 0 {
		s.grant(o)
		s.mu.Unlock()
		return nil
	}
	granted := make(chan struct{})
	o.waiting = append(o.waiting, granted)
	s.waiters++
	s.mu.Unlock()
	select {
	case <-granted:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-granted:
			// Granted while giving up: hand the slot on.
			s.releaseLocked(owner)
		default:
			for i, w := range o.waiting {
				if w == granted {
					o.waiting = append(o.waiting[:i], o.waiting[i+1:]...)
					s.waiters--
					break
				}
			}
			s.forget(owner, o)
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
	if o := s.owners[owner]; o != nil {
		o.held--
		s.forget(owner, o)
	}
	var next *slotOwner
	for _, o := range s.owners {
		if len(o.waiting) == 0 {
			continue
		}
		if next == nil || o.held < next.held || (o.held == next.held && o.lastServed < next.lastServed) {
			next = o
		}
	}
	if next == nil {
		return
	}
	w := next.waiting[0]
	next.waiting = next.waiting[1:]
	s.waiters--
	s.grant(next)
	close(w)
}

func (s *fairSlots) grant(o *slotOwner) {
	s.free--
	o.held++
	s.served++
	o.lastServed = s.served
}
