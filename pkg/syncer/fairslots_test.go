package syncer

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// TestRunsShareRegistrySlots: a run with hundreds of tags on a slow
// registry does not keep a small run on the same registry waiting until
// its own requests are through: the small run's request takes the next
// free slot.
func TestRunsShareRegistrySlots(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dstA := registrytest.New(t)
	dstB := registrytest.New(t)
	img, _ := random.Image(100, 1)
	var tags []string
	for i := range 200 {
		tags = append(tags, fmt.Sprint(i))
		src.Push("app:"+tags[i], img)
	}
	src.SetHook(func(r *http.Request) func() {
		time.Sleep(20 * time.Millisecond)
		return func() {}
	})
	e := newTestEngine(t, func(o *Options) { o.PerRegistryConcurrency = 2 }, src, dstA, dstB)
	var doneA atomic.Int64
	finishedA := make(chan struct{})
	go func() {
		defer close(finishedA)
		_, _ = e.Sync(context.Background(), Request{
			Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dstA.Host}, DryRun: true,
			Images:   []Image{{Name: "app", Tags: tags}},
			Progress: func(TagResult) { doneA.Add(1) },
		})
	}()
	time.Sleep(200 * time.Millisecond)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dstB.Host}, DryRun: true,
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

// TestTenantsShareRegistrySlots: three runs against one slow source with
// two slots. Runs of one tenant share one fair share: tenant a runs two
// ImageSyncs and tenant b one, and while all three run b is served about
// half of the source's requests (one share of two), not a third. Runs
// without a tenant each get a third, and none waits for the others to end.
func TestTenantsShareRegistrySlots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tenants map[string]string // run (source repository) -> tenant
		// atLeast is the fewest of the first 60 requests each run must
		// have been served.
		atLeast map[string]int
	}{
		{"one tenant with two runs", map[string]string{"a1": "team-a", "a2": "team-a", "b": "team-b"}, map[string]int{"b": 26}},
		{"a run per tenant", map[string]string{"a1": "", "a2": "", "b": ""}, map[string]int{"a1": 16, "a2": 16, "b": 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			served := shareRegistry(t, tc.tenants)
			// The first 60 requests are served while every run still has
			// tags to check (each has 60).
			got := map[string]int{}
			for _, repo := range served[:60] {
				got[repo]++
			}
			t.Logf("the first 60 requests served: %v", got)
			for run, min := range tc.atLeast {
				if got[run] < min {
					t.Errorf("run %s was served %d of the first 60 requests, want at least %d", run, got[run], min)
				}
			}
		})
	}
}

// shareRegistry runs one dry run per entry of tenants (its source
// repository and tenant) at once against a source with two slots and
// returns the source repository of each request in the order served.
func shareRegistry(t *testing.T, tenants map[string]string) []string {
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(100, 1)
	var tags []string
	for i := range 60 {
		tags = append(tags, fmt.Sprint(i))
		for repo := range tenants {
			src.Push(repo+"/app:"+tags[i], img)
		}
	}
	var mu sync.Mutex
	var served []string
	src.SetHook(func(r *http.Request) func() {
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		served = append(served, strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")[0])
		mu.Unlock()
		return func() {}
	})
	e := newTestEngine(t, func(o *Options) { o.PerRegistryConcurrency = 2 }, src, dst)
	// The first run pings the source; the measured requests start after.
	mustSync(t, e, Request{Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host}, DryRun: true,
		Images: []Image{{Name: "app", Tags: []string{"none"}}}})
	mu.Lock()
	served = nil
	mu.Unlock()

	var wg sync.WaitGroup
	for repo, tenant := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Ref(repo)}, Destination: Endpoint{Registry: dst.Host}, DryRun: true,
				RepositoryPrefix: repo, Images: []Image{{Name: "app", Tags: tags}}, Tenant: tenant,
			})
			for _, r := range res {
				if r.Outcome != OutcomeWouldCopy {
					t.Errorf("%s: %+v", repo, r)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return served
}
