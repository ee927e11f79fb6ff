package syncer

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
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
	if s.free != 0 || len(s.waiters) != 0 || s.held["big"] != 1 || s.held["small"] != 1 {
		t.Errorf("free %d, waiters %d, held %v", s.free, len(s.waiters), s.held)
	}
}

// TestRunsShareRegistrySlots: a run with hundreds of tags on a slow
// registry does not keep a small run on the same registry waiting until
// its own requests are through: the small run's request takes the next
// free slot.
func TestRunsShareRegistrySlots(t *testing.T) {
	t.Parallel()
	src := newTestRegistry(t)
	dstA := newTestRegistry(t)
	dstB := newTestRegistry(t)
	img, _ := random.Image(100, 1)
	var tags []string
	for i := range 200 {
		tags = append(tags, fmt.Sprint(i))
		src.push("app:"+tags[i], img)
	}
	src.setHook(func(r *http.Request) func() {
		time.Sleep(20 * time.Millisecond)
		return func() {}
	})
	e := newTestEngine(t, func(o *Options) { o.PerRegistryConcurrency = 2 }, src, dstA, dstB)
	var doneA atomic.Int64
	finishedA := make(chan struct{})
	go func() {
		defer close(finishedA)
		_, _ = e.Sync(context.Background(), Request{
			Source: Endpoint{Registry: src.host}, Destination: Endpoint{Registry: dstA.host}, DryRun: true,
			Images:   []Image{{Name: "app", Tags: tags}},
			Progress: func(TagResult) { doneA.Add(1) },
		})
	}()
	time.Sleep(200 * time.Millisecond)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.host}, Destination: Endpoint{Registry: dstB.host}, DryRun: true,
		Images: []Image{{Name: "app", Tags: []string{"0"}}},
	})
	atB := doneA.Load()
	<-finishedA
	if res[0].Outcome != OutcomeWouldCopy {
		t.Fatalf("%+v", res[0])
	}
	// The large run checks 64 tags at once; had the small run queued
	// behind them, the large run would have finished about 60 more.
	t.Logf("the large run had checked %d of %d tags when the small run finished", atB, len(tags))
	if atB > 40 {
		t.Errorf("the small run finished after %d of the large run's tags", atB)
	}
}
