package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/portager/portager/internal/registrytest"
)

func match(method, kind string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && (kind == "" || registrytest.KindOf(r) == kind)
	}
}

func matchPath(method, suffix string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == method && strings.HasSuffix(r.URL.Path, suffix)
	}
}

func status(code int, hdr ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
	}
}

func reset(w http.ResponseWriter, _ *http.Request) {
	w.(*registrytest.HijackableWriter).CloseConnection()
}

// TestTransientFaultsSurvived: 503s, 500s and connection resets on both
// sides are retried with backoff and the copy still lands, digest-equal.
func TestTransientFaultsSurvived(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	idx, _ := random.Index(1024, 2, 2)
	src.Push("app:1", idx)
	src.Reset()
	faults := []struct {
		reg *registrytest.Registry
		f   *registrytest.Fault
	}{
		{src, &registrytest.Fault{Match: match(http.MethodHead, "manifest"), Times: 2, Handle: status(503)}},
		{src, &registrytest.Fault{Match: match(http.MethodGet, "manifest"), Times: 2, Handle: reset}},
		{src, &registrytest.Fault{Match: match(http.MethodGet, "blob"), Times: 2, Handle: reset}},
		{src, &registrytest.Fault{Match: match(http.MethodGet, "blob"), Times: 1, Handle: status(502)}},
		{dst, &registrytest.Fault{Match: match(http.MethodHead, "blob"), Times: 1, Handle: status(500)}},
		{dst, &registrytest.Fault{Match: match(http.MethodPut, "upload"), Times: 2, Handle: status(503)}},
		{dst, &registrytest.Fault{Match: match(http.MethodPost, "upload"), Times: 1, Handle: reset}},
		{dst, &registrytest.Fault{Match: match(http.MethodPut, "manifest"), Times: 2, Handle: status(504)}},
	}
	for _, f := range faults {
		f.reg.AddFault(f.f)
	}
	e := newTestEngine(t, func(o *Options) { o.MaxRetries = 5 }, src, dst)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	})
	if r := res[0]; r.Outcome != OutcomeCopied || r.Digest != mustDigest(t, idx) {
		t.Fatalf("result = %+v", r)
	}
	if got := dst.DigestOf("app:1"); got != mustDigest(t, idx) {
		t.Errorf("dst digest = %s, want %s", got, mustDigest(t, idx))
	}
	for i, f := range faults {
		if f.f.Times != 0 {
			t.Errorf("fault %d was not exercised (%d left)", i, f.f.Times)
		}
	}
}

// TestRateLimit: a 429 Retry-After within the cap is waited for; beyond the
// cap the tag fails at once as RateLimited with RetryAfter set.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(256, 1)
	tests := []struct {
		name        string
		retryAfter  string
		wantOutcome Outcome
		wantReason  string
		minElapsed  time.Duration
		wantHEADs   int
		blob        bool // 429 the blob download instead of the tag HEAD
		times       int  // 0 = once
	}{
		{name: "within cap", retryAfter: "1", wantOutcome: OutcomeCopied, wantReason: ReasonCopied, minElapsed: time.Second, wantHEADs: 2},
		{name: "over cap", retryAfter: "120", wantOutcome: OutcomeFailed, wantReason: ReasonRateLimited, wantHEADs: 1},
		{name: "within cap on a blob stream", blob: true, retryAfter: "1", wantOutcome: OutcomeCopied, wantReason: ReasonCopied, minElapsed: time.Second, wantHEADs: 1},
		{name: "no header, never lifts", retryAfter: "", times: -1, wantOutcome: OutcomeFailed, wantReason: ReasonRateLimited, wantHEADs: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t)
			dst := registrytest.New(t)
			src.Push("app:1", img)
			src.Reset()
			m := matchPath(http.MethodHead, "/manifests/1")
			if tc.blob {
				m = match(http.MethodGet, "blob")
			}
			times := tc.times
			if times == 0 {
				times = 1
			}
			hdr := []string{"Retry-After", tc.retryAfter}
			if tc.retryAfter == "" {
				hdr = nil
			}
			src.AddFault(&registrytest.Fault{Match: m, Times: times, Handle: status(http.StatusTooManyRequests, hdr...)})
			e := newTestEngine(t, func(o *Options) { o.RetryAfterCap = 5 * time.Second }, src, dst)
			start := time.Now()
			res := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{"1"}}},
			})
			elapsed := time.Since(start)
			r := res[0]
			if r.Outcome != tc.wantOutcome || r.Reason != tc.wantReason {
				t.Fatalf("result = %+v", r)
			}
			if elapsed < tc.minElapsed {
				t.Errorf("elapsed %v, Retry-After not honoured", elapsed)
			}
			if n := src.CountPath(http.MethodHead, "/manifests/1"); n != tc.wantHEADs {
				t.Errorf("HEADs = %d, want %d", n, tc.wantHEADs)
			}
			if tc.wantReason == ReasonRateLimited && tc.retryAfter != "" {
				if !r.Transient || r.RetryAfter.Before(start.Add(119*time.Second)) || r.RetryAfter.After(time.Now().Add(121*time.Second)) {
					t.Errorf("RetryAfter = %v Transient = %v, want ~now+120s", r.RetryAfter, r.Transient)
				}
				if elapsed > 10*time.Second {
					t.Errorf("waited %v although the Retry-After exceeds the cap", elapsed)
				}
			}
		})
	}
}

// trickle answers with data, chunk bytes at a time, one chunk per every,
// until the client goes away. Each request (a retry, or another client)
// gets the whole of data.
func trickle(data []byte, chunk int, every time.Duration) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		data := data
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		for len(data) > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(every):
			}
			n := min(chunk, len(data))
			w.Write(data[:n])
			w.(http.Flusher).Flush()
			data = data[n:]
		}
	}
}

// TestTricklingSourceFreesDestination: a source that sends a large blob a
// trickle at a time is cut off after one window of the registry timeout,
// not at the blob's deadline (which grows with its size), so the
// destination slot its transfer holds goes to another tenant's copy.
func TestTricklingSourceFreesDestination(t *testing.T) {
	t.Parallel()
	slow := registrytest.New(t)
	fine := registrytest.New(t)
	dst := registrytest.New(t)
	big, _ := random.Image(16<<20, 1)
	small, _ := random.Image(4096, 1)
	slow.Push("a/app:1", big)
	fine.Push("b/app:1", small)
	layers, _ := big.Layers()
	ld, _ := layers[0].Digest()
	started := make(chan struct{})
	var once sync.Once
	feed := trickle(slow.Blobs.Content(ld.String()), 64, 50*time.Millisecond)
	slow.AddFault(&registrytest.Fault{Match: matchPath(http.MethodGet, ld.String()), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		feed(w, r)
	}})
	// One slot per registry: while the slow transfer holds the
	// destination's, the other tenant's requests there wait for it.
	// The big blob's deadline is 1s + 16 MiB at 1 MiB/s = 17s.
	e := newTestEngine(t, func(o *Options) {
		o.OperationTimeout = time.Second
		o.MinTransferRate = 1 << 20
		o.PerRegistryConcurrency = 1
		o.MaxRetries = -1
	}, slow, fine, dst)

	start := time.Now()
	type outcome struct {
		res []TagResult
		at  time.Duration
	}
	slowDone := make(chan outcome, 1)
	go func() {
		res := mustSync(t, e, Request{Source: Endpoint{Registry: slow.Ref("a")}, Destination: Endpoint{Registry: dst.Host},
			RepositoryPrefix: "a", Images: []Image{{Name: "app", Tags: []string{"1"}}}, Tenant: "a"})
		slowDone <- outcome{res, time.Since(start)}
	}()
	<-started
	res := mustSync(t, e, Request{Source: Endpoint{Registry: fine.Ref("b")}, Destination: Endpoint{Registry: dst.Host},
		RepositoryPrefix: "b", Images: []Image{{Name: "app", Tags: []string{"1"}}}, Tenant: "b"})
	fineAt := time.Since(start)
	if res[0].Outcome != OutcomeCopied {
		t.Errorf("the other tenant's copy: %+v", res[0])
	}
	o := <-slowDone
	r := o.res[0]
	if r.Outcome != OutcomeFailed || !r.Transient || !strings.Contains(r.Message, "slower than the minimum rate") {
		t.Errorf("trickling copy: %+v", r)
	}
	t.Logf("trickling copy cut off after %v; the other tenant's copy done after %v", o.at.Round(time.Millisecond), fineAt.Round(time.Millisecond))
	if o.at > 8*time.Second || fineAt > 8*time.Second {
		t.Errorf("trickling copy ended after %v and the other after %v: the transfer was not cut off before its 17s deadline", o.at, fineAt)
	}
	if dst.DigestOf("a/app:1") != "" {
		t.Errorf("the trickling image was tagged at the destination")
	}
}

// TestHungRegistryDoesNotStallOthers: a registry that stops answering (no
// headers, or a body that stalls half-way) is cut off by the operation
// deadline and reported as transient, while other work completes.
func TestHungRegistryDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	hung := registrytest.New(t)
	ok := registrytest.New(t)
	dst := registrytest.New(t)
	// The healthy run gets its own destination: the stock test registry
	// holds a global lock while it reads an upload body, so a stalled
	// upload would block every other upload to that registry.
	dst2 := registrytest.New(t)
	imgHung, _ := random.Image(4096, 1)
	imgOK, _ := random.Image(4096, 1)
	hung.Push("stall/app:body", imgHung)
	hung.Push("stall/app:head", imgHung)
	imgDrip, _ := random.Image(4096, 1)
	hung.Push("stall/app:drip", imgDrip)
	ok.Push("fine/app:1", imgOK)
	layers, _ := imgHung.Layers()
	ld, _ := layers[0].Digest()
	data := hung.Blobs.Content(ld.String())
	hung.AddFault(&registrytest.Fault{Match: matchPath(http.MethodGet, ld.String()), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}})
	hung.AddFault(&registrytest.Fault{Match: matchPath(http.MethodHead, "/manifests/head"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}})
	// drip's layer arrives one byte every 50ms: it never stalls, and
	// would take 200s; the request's absolute deadline ends it.
	dripLayers, _ := imgDrip.Layers()
	dd, _ := dripLayers[0].Digest()
	dripData := hung.Blobs.Content(dd.String())
	hung.AddFault(&registrytest.Fault{Match: matchPath(http.MethodGet, dd.String()), Times: -1, Handle: trickle(dripData, 1, 50*time.Millisecond)})
	e := newTestEngine(t, func(o *Options) {
		o.OperationTimeout = time.Second
		o.MaxRetries = 1
	}, hung, ok, dst, dst2)

	start := time.Now()
	type outcome struct {
		res []TagResult
		err error
		at  time.Time
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := e.Sync(context.Background(), Request{
			Source: Endpoint{Registry: hung.Ref("stall")}, Destination: Endpoint{Registry: dst.Host},
			Images: []Image{{Name: "app", Tags: []string{"body", "head", "drip"}}},
		})
		done <- outcome{res, err, time.Now()}
	}()
	// Meanwhile a run against a healthy registry on the same engine
	// finishes promptly.
	okRes := mustSync(t, e, Request{
		Source: Endpoint{Registry: ok.Ref("fine")}, Destination: Endpoint{Registry: dst2.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	})
	okAt := time.Now()
	if okRes[0].Outcome != OutcomeCopied {
		t.Errorf("healthy run: %+v", okRes[0])
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	res := o.res
	// The hung run needs at least (1+MaxRetries) deadlines per tag; the
	// healthy one must not have waited for it.
	if !okAt.Before(o.at) {
		t.Errorf("healthy run finished %v after the hung one", okAt.Sub(o.at))
	}
	for _, r := range res {
		if r.Outcome != OutcomeFailed || r.Reason != ReasonTransient || !r.Transient {
			t.Errorf("%s: %+v", r.Tag, r)
		}
		if !strings.Contains(r.Message, "timed out") {
			t.Errorf("%s: message %q does not say it timed out", r.Tag, r.Message)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hung run took %v; deadlines not enforced", d)
	}
	if dst.DigestOf("app:body") != "" || dst.DigestOf("app:head") != "" {
		t.Errorf("hung tags were created at the destination")
	}
}

// TestFailureLeavesNoTagAndResumes: a failure after layer 1 of 3 leaves the
// destination tag at its old digest, nothing referencing the new image, and
// the re-run uploads only what did not land.
func TestFailureLeavesNoTagAndResumes(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	l1 := mustLayer(t, 5000, types.DockerLayer)
	l2 := mustLayer(t, 6000, types.DockerLayer)
	l3 := mustLayer(t, 7000, types.DockerLayer)
	img := imageOf(t, types.DockerManifestSchema2, l1, l2, l3)
	old, _ := random.Image(300, 1)
	src.Push("app:1", img)
	dst.Push("app:1", old)
	src.Reset()
	dst.Reset()
	d1, _ := l1.Digest()
	d2, _ := l2.Digest()
	d3, _ := l3.Digest()
	cfg, _ := img.ConfigName()
	src.AddFault(&registrytest.Fault{Match: matchPath(http.MethodGet, d2.String()), Times: -1, Handle: status(500)})

	// BlobConcurrency 1 makes the order deterministic: config, l1, l2, l3.
	e := newTestEngine(t, func(o *Options) { o.BlobConcurrency = 1; o.MaxRetries = 2 }, src, dst)
	req := Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	}
	r := mustSync(t, e, req)[0]
	if r.Outcome != OutcomeFailed || !r.Transient || r.Digest != mustDigest(t, img) {
		t.Fatalf("first run = %+v", r)
	}
	if got := dst.DigestOf("app:1"); got != mustDigest(t, old) {
		t.Errorf("dst tag = %s, want old digest %s", got, mustDigest(t, old))
	}
	if dst.DigestOf("app@"+mustDigest(t, img)) != "" {
		t.Errorf("manifest of the failed image was pushed")
	}
	for d, want := range map[v1.Hash]bool{cfg: true, d1: true, d2: false, d3: false} {
		if got := dst.Blobs.Has("app", d.String()); got != want {
			t.Errorf("blob %s present = %v, want %v", d, got, want)
		}
	}
	if n := src.Count(http.MethodGet, "blob+fault"); n != 3 {
		t.Errorf("layer 2 attempts = %d, want 3 (1 + MaxRetries)", n)
	}

	src.ClearFaults()
	src.Reset()
	dst.Reset()
	r = mustSync(t, e, req)[0]
	if r.Outcome != OutcomeCopied || dst.DigestOf("app:1") != mustDigest(t, img) {
		t.Fatalf("re-run = %+v", r)
	}
	s2, _ := l2.Size()
	s3, _ := l3.Size()
	if got := dst.UploadedBytes(); got != s2+s3 || r.Bytes != s2+s3 {
		t.Errorf("re-run uploaded %d bytes (result %d), want %d (layers 2 and 3 only)", got, r.Bytes, s2+s3)
	}
	for _, rec := range src.Requests() {
		if rec.Kind == "blob" && (strings.HasSuffix(rec.Path, d1.String()) || strings.HasSuffix(rec.Path, cfg.String())) {
			t.Errorf("re-run fetched already-landed blob: %s", rec.Path)
		}
	}
}

// TestCorruptContentDetected: a source serving bytes that do not match the
// digest (blob or manifest) fails the tag as DigestMismatch and nothing of
// it lands.
func TestCorruptContentDetected(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(4000, 2)
	layers, _ := img.Layers()
	ld, _ := layers[1].Digest()
	imgDigest := mustDigest(t, img)
	tests := []struct {
		name  string
		fault func(src *registrytest.Registry) *registrytest.Fault
	}{
		{"blob same length", func(src *registrytest.Registry) *registrytest.Fault {
			data := append([]byte(nil), src.Blobs.Content(ld.String())...)
			data[len(data)/2] ^= 0xff
			return &registrytest.Fault{Match: matchPath(http.MethodGet, ld.String()), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				w.Write(data)
			}}
		}},
		{"blob truncated", func(src *registrytest.Registry) *registrytest.Fault {
			data := src.Blobs.Content(ld.String())
			return &registrytest.Fault{Match: matchPath(http.MethodGet, ld.String()), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
				w.Write(data[:len(data)-10])
			}}
		}},
		{"manifest", func(src *registrytest.Registry) *registrytest.Fault {
			raw, _ := img.RawManifest()
			bad := strings.Replace(string(raw), `"schemaVersion":2`, `"schemaVersion": 2`, 1)
			return &registrytest.Fault{Match: matchPath(http.MethodGet, imgDigest), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
				w.Write([]byte(bad))
			}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t)
			dst := registrytest.New(t)
			src.Push("app:1", img)
			src.AddFault(tc.fault(src))
			src.Reset()
			e := newTestEngine(t, nil, src, dst)
			r := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{"1"}}},
			})[0]
			if r.Outcome != OutcomeFailed || r.Reason != ReasonDigestMismatch || r.Transient {
				t.Fatalf("result = %+v", r)
			}
			if dst.DigestOf("app:1") != "" || dst.DigestOf("app@"+imgDigest) != "" {
				t.Errorf("corrupt image became visible at the destination")
			}
			if dst.Blobs.Has("app", ld.String()) {
				t.Errorf("corrupt blob landed")
			}
		})
	}
}

// TestTagMovesDuringRun: the tag is re-pointed after resolution (inside the
// gate). What is copied is exactly the resolved, gated digest.
func TestTagMovesDuringRun(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	first, _ := random.Image(500, 2)
	second, _ := random.Image(500, 2)
	src.Push("app:1", first)
	var gated []string
	e := newTestEngine(t, nil, src, dst)
	r := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
		Gate: func(ctx context.Context, s *Subject) error {
			gated = append(gated, s.Digest.DigestStr())
			src.Push("app:1", second) // the tag moves after resolution
			return nil
		},
	})[0]
	want := mustDigest(t, first)
	if r.Outcome != OutcomeCopied || r.Digest != want {
		t.Fatalf("result = %+v, want Copied %s", r, want)
	}
	if len(gated) != 1 || gated[0] != want {
		t.Errorf("gate saw %v, want [%s]", gated, want)
	}
	if got := dst.DigestOf("app:1"); got != want {
		t.Errorf("destination has %s, want the gated digest %s", got, want)
	}
	if src.DigestOf("app:1") != mustDigest(t, second) {
		t.Fatalf("fixture: tag did not move")
	}
}

// TestGateBlocks: a gate's verdict is a deterministic GateFailed result and
// nothing is copied; any other gate error is classified like the engine's
// own (transient here).
func TestGateBlocks(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(100, 1)
	src.Push("app:1", img)
	e := newTestEngine(t, nil, src, dst)
	r := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1", "missing"}}},
		Gate:   func(context.Context, *Subject) error { return Rejected(fmt.Errorf("no valid signature")) },
	})
	if r[0].Outcome != OutcomeFailed || r[0].Reason != ReasonGateFailed || r[0].Transient || r[0].Digest != mustDigest(t, img) {
		t.Errorf("gated tag = %+v", r[0])
	}
	if r[1].Reason != ReasonTagNotFound || r[1].Transient {
		t.Errorf("missing tag = %+v", r[1])
	}
	if dst.DigestOf("app:1") != "" || dst.Count("", "upload") != 0 {
		t.Errorf("gated image was copied")
	}
	r = mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
		Gate:   func(context.Context, *Subject) error { panic("verifier bug") },
	})
	if r[0].Reason != ReasonGateFailed || dst.DigestOf("app:1") != "" {
		t.Errorf("panicking gate = %+v", r[0])
	}
	r = mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
		Gate:   func(context.Context, *Subject) error { return io.ErrUnexpectedEOF },
	})
	if r[0].Reason != ReasonTransient || !r[0].Transient || dst.DigestOf("app:1") != "" {
		t.Errorf("gate that could not read the source = %+v", r[0])
	}
}

// TestSiblingFailureDoesNotPoisonSharedBlobs: when a tag fails fast
// (cancelling its other blob transfers), a blob it shares with another tag
// is still copied for that tag rather than inheriting the cancellation.
func TestSiblingFailureDoesNotPoisonSharedBlobs(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	bad := mustLayer(t, 1000, types.DockerLayer)
	shared := mustLayer(t, 2000, types.DockerLayer)
	imgA := imageOf(t, types.DockerManifestSchema2, bad, shared)
	imgB := imageOf(t, types.DockerManifestSchema2, shared)
	src.Push("app:a", imgA)
	src.Push("app:b", imgB)
	bd, _ := bad.Digest()
	sd, _ := shared.Digest()
	data := src.Blobs.Content(sd.String())
	src.AddFault(&registrytest.Fault{Match: matchPath(http.MethodGet, bd.String()), Times: -1, Handle: status(http.StatusNotFound)})
	src.AddFault(&registrytest.Fault{Match: matchPath(http.MethodGet, sd.String()), Times: 1, Handle: func(w http.ResponseWriter, r *http.Request) {
		select { // slow enough that the bad layer fails first
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
			return
		}
		w.Write(data)
	}})
	// One check and one copy at a time, so tag a (the failing one) goes first.
	e := newTestEngine(t, func(o *Options) { o.TagConcurrency = 1; o.CheckConcurrency = 1; o.BlobConcurrency = 4 }, src, dst)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"a", "b"}}},
	})
	if res[0].Outcome != OutcomeFailed || res[0].Reason != ReasonRegistryError {
		t.Errorf("a = %+v", res[0])
	}
	if res[1].Outcome != OutcomeCopied || dst.DigestOf("app:b") != mustDigest(t, imgB) {
		t.Errorf("b = %+v", res[1])
	}
}

// TestPingFaultRetried: a side with credentials pings once per host; a
// transient failure of that ping is retried and the copy lands.
func TestPingFaultRetried(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t)
	img, _ := random.Image(600, 1)
	reg.Push("src/app:1", img)
	reg.Authorize = prefixAuth(map[string][2]string{"src": {"u", "p"}, "dst": {"u", "p"}}, nil)
	reg.Reset()
	f := &registrytest.Fault{Match: match(http.MethodGet, "ping"), Times: 1, Handle: status(503)}
	reg.AddFault(f)
	kc := dockerConfig(t, reg.Host, "u", "p")
	e := newTestEngine(t, nil, reg)
	r := mustSync(t, e, Request{
		Source: Endpoint{Registry: reg.Ref("src"), Keychain: kc}, Destination: Endpoint{Registry: reg.Host, Keychain: kc},
		RepositoryPrefix: "dst", Images: []Image{{Name: "app", Tags: []string{"1"}}},
	})[0]
	if r.Outcome != OutcomeCopied || reg.DigestOf("dst/app:1") != mustDigest(t, img) {
		t.Fatalf("%+v\n%s", r, reg.Dump())
	}
	if f.Times != 0 {
		t.Errorf("ping fault not exercised")
	}
}

// TestRunDeadlineCause: when the caller's deadline ends a run, every tag it
// cut short is Transient and says the caller's cause, whatever request was
// in flight.
func TestRunDeadlineCause(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(1000, 1)
	src.Push("app:1", img)
	src.Push("app:2", img)
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	src.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "blob"), Times: -1, Handle: hang})
	src.AddFault(&registrytest.Fault{Match: matchPath(http.MethodHead, "/manifests/2"), Times: -1, Handle: hang})
	e := newTestEngine(t, func(o *Options) { o.OperationTimeout = time.Minute }, src, dst)
	cause := errors.New("the run exceeded its budget")
	ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, cause)
	defer cancel()
	res, err := e.Sync(ctx, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1", "2"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for _, r := range res {
		if r.Outcome != OutcomeFailed || r.Reason != ReasonTransient || !r.Transient || r.Message != cause.Error() {
			t.Errorf("%s: %+v, want Transient with the caller's cause", r.Tag, r)
		}
	}
}
