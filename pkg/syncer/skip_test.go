package syncer

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// TestUpToDateCostsTwoHEADs: an up-to-date tag costs exactly one manifest
// HEAD on the source and one on the destination; no GET, no blob request,
// and no /v2/ ping: anonymous sides never ping (a side with credentials
// pings at most once per host for the engine's lifetime, see auth_test.go).
func TestUpToDateCostsTwoHEADs(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	idx, _ := random.Index(512, 2, 2)
	img, _ := random.Image(512, 2)
	src.Push("team/a:1", img)
	src.Push("team/a:2", idx)
	src.Push("team/b:1", img)
	req := Request{
		Source:           Endpoint{Registry: src.Ref("team")},
		Destination:      Endpoint{Registry: dst.Host},
		RepositoryPrefix: "m",
		Images:           []Image{{Name: "a", Tags: []string{"1", "2"}}, {Name: "b", Tags: []string{"1"}}},
	}
	e := newTestEngine(t, nil, src, dst)
	for _, r := range mustSync(t, e, req) {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("first run: %+v", r)
		}
	}

	tests := []struct {
		name      string
		engine    *Engine
		wantPings int
	}{
		{name: "same engine, second run", engine: e, wantPings: 0},
		{name: "fresh engine", engine: newTestEngine(t, nil, src, dst), wantPings: 0},
	}
	for _, tc := range tests {
		src.Reset()
		dst.Reset()
		res := mustSync(t, tc.engine, req)
		for _, r := range res {
			if r.Outcome != OutcomeSkipped || r.Reason != ReasonUpToDate || r.Bytes != 0 {
				t.Errorf("%s: %s:%s = %+v", tc.name, r.Image, r.Tag, r)
			}
		}
		for _, reg := range []*registrytest.Registry{src, dst} {
			if n := reg.Count(http.MethodHead, "manifest"); n != 3 {
				t.Errorf("%s: manifest HEADs = %d, want 3 (one per tag)", tc.name, n)
			}
			if n := reg.Count("", "ping"); n != tc.wantPings {
				t.Errorf("%s: pings = %d, want %d", tc.name, n, tc.wantPings)
			}
			if n := len(reg.Requests()); n != 3+tc.wantPings {
				t.Errorf("%s: total requests = %d, want %d:\n%s", tc.name, n, 3+tc.wantPings, reg.Dump())
			}
		}
	}
}

// TestChecksFillRequestSlots: TagConcurrency bounds copies, not checks. With
// one copy at a time, copying never overlaps two tags' uploads, yet a
// re-sync checks tags until the registry's request slots are full: each
// destination HEAD is held until PerRegistryConcurrency of them are in
// flight (or 2 s pass), which an engine checking one tag at a time never
// reaches.
func TestChecksFillRequestSlots(t *testing.T) {
	t.Parallel()
	const slots = 4
	src := registrytest.New(t)
	dst := registrytest.New(t)
	var tags []string
	for _, tag := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		img, _ := random.Image(256, 1)
		src.Push("app:"+tag, img)
		tags = append(tags, tag)
	}
	var uploads, uploadPeak, heads, headPeak atomic.Int64
	var hold atomic.Bool // in the re-sync only: while copying, uploads hold slots too
	var seen atomic.Int64
	raise := func(peak *atomic.Int64, n int64) {
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
	}
	dst.SetHook(func(r *http.Request) func() {
		switch {
		case r.Method == http.MethodPut && registrytest.KindOf(r) == "upload":
			raise(&uploadPeak, uploads.Add(1))
			time.Sleep(20 * time.Millisecond) // long enough for a second copy to overlap
			return func() { uploads.Add(-1) }
		case r.Method == http.MethodHead && registrytest.KindOf(r) == "manifest" && !strings.Contains(r.URL.Path, "sha256:"):
			n := heads.Add(1)
			raise(&headPeak, n)
			seen.Add(1)
			// Once every tag's HEAD has come, no more will: release.
			for deadline := time.Now().Add(2 * time.Second); hold.Load() && seen.Load() < int64(len(tags)) && heads.Load() < slots && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			return func() { heads.Add(-1) }
		}
		return func() {}
	})
	e := newTestEngine(t, func(o *Options) {
		o.TagConcurrency = 1
		o.BlobConcurrency = 1
		o.PerRegistryConcurrency = slots
	}, src, dst)
	req := Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: tags}},
	}

	for _, r := range mustSync(t, e, req) {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("copy: %+v", r)
		}
	}
	if p := uploadPeak.Load(); p != 1 {
		t.Errorf("peak blob uploads in flight = %d, want 1 (one tag copied at a time, one blob at a time)", p)
	}

	headPeak.Store(0)
	seen.Store(0)
	hold.Store(true)
	start := time.Now()
	for _, r := range mustSync(t, e, req) {
		if r.Outcome != OutcomeSkipped {
			t.Fatalf("re-sync: %+v", r)
		}
	}
	if p := headPeak.Load(); p != slots {
		t.Errorf("peak destination tag HEADs in flight = %d, want %d (the registry's request slots); the re-sync took %s", p, slots, time.Since(start).Round(time.Millisecond))
	}
}
