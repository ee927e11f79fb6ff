package syncer

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/sanitize"
)

func mustDigest(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// newTestEngine returns an engine speaking plain HTTP to the given test
// registries, with fast retries.
func newTestEngine(t testing.TB, mod func(*Options), regs ...*registrytest.Registry) *Engine {
	t.Helper()
	o := Options{RegistryOptions: RegistryOptions{RetryBackoff: time.Millisecond, OperationTimeout: 5 * time.Second}}
	for _, r := range regs {
		o.InsecureHosts = append(o.InsecureHosts, r.Host)
	}
	if mod != nil {
		mod(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustSync runs req, fails on Sync errors and checks result invariants.
func mustSync(t testing.TB, e *Engine, req Request) []TagResult {
	t.Helper()
	res, err := e.Sync(context.Background(), req)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	// Invariants of every result.
	for _, r := range res {
		if r.Outcome == "" || r.Reason == "" || len(r.Message) > sanitize.MaxLen {
			t.Errorf("malformed result %+v", r)
		}
		if (r.Reason == ReasonRateLimited) != !r.RetryAfter.IsZero() {
			t.Errorf("RetryAfter set iff RateLimited: %+v", r)
		}
		// A dry run may say what the destination holds instead.
		if r.Outcome != OutcomeFailed && (r.Message != "" && r.Outcome != OutcomeWouldCopy || r.Transient) {
			t.Errorf("successful result with failure details: %+v", r)
		}
	}
	return res
}

func resultFor(t *testing.T, res []TagResult, image, tag string) TagResult {
	t.Helper()
	for _, r := range res {
		if r.Image == image && r.Tag == tag {
			return r
		}
	}
	t.Fatalf("no result for %s:%s in %+v", image, tag, res)
	return TagResult{}
}

func parseRef(s string) (name.Reference, error) { return name.ParseReference(s, name.Insecure) }
