package distribution

import (
	"context"
	"testing"
	"time"
)

// TestFairSlots: a waiting owner holding fewer slots goes first, whatever
// the order of waiting; a cancelled waiter gives up its place.
func TestFairSlots(t *testing.T) {
	t.Parallel()
	s := newFairSlots(2)
	ctx := context.Background()
	for range 2 {
		if err := s.acquire(ctx, "big"); err != nil {
			t.Fatal(err)
		}
	}
	order := make(chan string, 3)
	wait := func(owner string) {
		go func() {
			if err := s.acquire(ctx, owner); err == nil {
				order <- owner
			}
		}()
		time.Sleep(20 * time.Millisecond) // queue in this order
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { _ = s.acquire(cctx, "gone") }()
	time.Sleep(20 * time.Millisecond)
	wait("big")
	wait("small")
	cancel()
	time.Sleep(20 * time.Millisecond)
	s.release("big")
	if got := <-order; got != "small" {
		t.Fatalf("first freed slot went to %s, want the owner holding none", got)
	}
	s.release("big")
	if got := <-order; got != "big" {
		t.Fatalf("second freed slot went to %s", got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free != 0 || s.waiters != 0 || len(s.owners) != 2 || s.owners["big"].held != 1 || s.owners["small"].held != 1 {
		t.Errorf("free %d, waiters %d, owners %d", s.free, s.waiters, len(s.owners))
	}
	s.mu.Unlock()
	s.release("big")
	s.release("small")
	s.mu.Lock()
	if s.free != 2 || len(s.owners) != 0 {
		t.Errorf("after every release: free %d, owners %d", s.free, len(s.owners))
	}
}
