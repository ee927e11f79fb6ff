package syncer

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// TestBreakerStopsStorm: a registry answering every request with 503 gets
// a bounded number of requests before its breaker opens, and the remaining
// tags fail at once as Transient; after the cooldown one probe finds the
// registry healthy again and closes the breaker.
func TestBreakerStopsStorm(t *testing.T) {
	t.Parallel()
	const tags = 30
	for _, tc := range []struct {
		name      string
		threshold int
		// maxRequests bounds the manifest requests of the failing run.
		maxRequests int
	}{
		// Each tag tries 1+MaxRetries times.
		{"without a breaker", -1, tags * 5},
		{"with a breaker", 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t)
			dst := registrytest.New(t)
			img, _ := random.Image(100, 1)
			var names []string
			for i := 0; i < tags; i++ {
				names = append(names, fmt.Sprint(i))
				src.Push("app:"+names[i], img)
			}
			src.Reset()
			src.AddFault(&registrytest.Fault{Match: match("", "manifest"), Times: -1, Handle: status(http.StatusServiceUnavailable)})
			var mu sync.Mutex
			var changes []string
			e := newTestEngine(t, func(o *Options) {
				o.BreakerThreshold = tc.threshold
				o.BreakerCooldown = 300 * time.Millisecond
				o.CheckConcurrency = 1
				o.BreakerChanged = func(host string, open bool) {
					mu.Lock()
					changes = append(changes, fmt.Sprintf("%s open=%v", host, open))
					mu.Unlock()
				}
			}, src, dst)
			req := Request{Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: names}}}
			res := mustSync(t, e, req)
			requests := src.Count("", "manifest+fault")
			t.Logf("%d manifest requests for %d tags", requests, tags)
			if requests > tc.maxRequests {
				t.Errorf("%d manifest requests, want at most %d", requests, tc.maxRequests)
			}
			paused := 0
			for _, r := range res {
				if r.Outcome != OutcomeFailed || r.Reason != ReasonTransient || !r.Transient {
					t.Fatalf("%+v, want a transient failure", r)
				}
				if strings.Contains(r.Message, "paused until") {
					paused++
				}
			}
			if tc.threshold < 0 {
				if paused != 0 || len(changes) != 0 {
					t.Errorf("without a breaker: %d tags paused, changes %v", paused, changes)
				}
				return
			}
			if paused < tags-tc.threshold {
				t.Errorf("%d tags failed as paused, want at least %d", paused, tags-tc.threshold)
			}
			src.ClearFaults()
			time.Sleep(350 * time.Millisecond)
			for _, r := range mustSync(t, e, req) {
				if r.Outcome != OutcomeCopied {
					t.Fatalf("after the cooldown: %+v", r)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []string{src.Host + " open=true", src.Host + " open=false"}; fmt.Sprint(changes) != fmt.Sprint(want) {
				t.Errorf("breaker changes = %v, want %v", changes, want)
			}
		})
	}
}
