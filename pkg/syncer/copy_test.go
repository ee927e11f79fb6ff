package syncer

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/internal/nettest"
	"github.com/portager/portager/internal/registrytest"

	"github.com/portager/portager/pkg/digestname"
)

func mustLayer(t *testing.T, size int64, mt types.MediaType) v1.Layer {
	t.Helper()
	l, err := random.Layer(size, mt)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t *testing.T, mt types.MediaType, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, mt)
	if mt == types.OCIManifestSchema1 {
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	for _, l := range layers {
		lmt, _ := l.MediaType()
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: lmt})
		if err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// blobSizes returns digest -> size of the config and layers of img.
func blobSizes(t *testing.T, img v1.Image) map[string]int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{m.Config.Digest.String(): m.Config.Size}
	for _, l := range m.Layers {
		out[l.Digest.String()] = l.Size
	}
	return out
}

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// TestMultiArchCopy copies OCI and Docker multi-arch indexes and checks
// every digest is preserved and only unique bytes move.
func TestMultiArchCopy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		indexMT types.MediaType
		imageMT types.MediaType
		layerMT types.MediaType
	}{
		{"oci", types.OCIImageIndex, types.OCIManifestSchema1, types.OCILayer},
		{"docker", types.DockerManifestList, types.DockerManifestSchema2, types.DockerLayer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t)
			dst := registrytest.New(t)
			shared := mustLayer(t, 2048, tc.layerMT)
			var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, tc.indexMT)
			unique := map[string]int64{}
			var children []v1.Image
			for i, arch := range []string{"amd64", "arm64", "s390x"} {
				img := imageOf(t, tc.imageMT, shared, mustLayer(t, int64(1000+i*100), tc.layerMT))
				children = append(children, img)
				for d, s := range blobSizes(t, img) {
					unique[d] = s
				}
				idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
			}
			src.Push("app:multi", idx)
			src.Reset()

			e := newTestEngine(t, nil, src, dst)
			res := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{"multi"}}},
			})
			r := resultFor(t, res, "app", "multi")
			want := mustDigest(t, idx)
			if r.Outcome != OutcomeCopied || r.Digest != want {
				t.Fatalf("result = %+v, want Copied %s", r, want)
			}
			if got := dst.DigestOf("app:multi"); got != want {
				t.Errorf("dst index digest = %s, want %s", got, want)
			}
			for _, c := range children {
				d := mustDigest(t, c)
				if got := dst.DigestOf("app@" + d); got != d {
					t.Errorf("child %s missing at destination", d)
				}
			}
			for d := range unique {
				if !dst.Blobs.Has("app", d) {
					t.Errorf("blob %s missing at destination", d)
				}
			}
			if got, w := dst.UploadedBytes(), sum(unique); got != w || r.Bytes != w {
				t.Errorf("uploaded %d bytes (result says %d), want %d unique bytes", got, r.Bytes, w)
			}
			if n := src.Count(http.MethodGet, "blob"); n != len(unique) {
				t.Errorf("source blob GETs = %d, want %d", n, len(unique))
			}
			// The shared layer is pushed once although three children use it.
			if n := dst.Count(http.MethodPut, "upload"); n != len(unique) {
				t.Errorf("blob uploads = %d, want %d", n, len(unique))
			}
		})
	}
}

// TestSharedBlobsDedupeAndMount: blobs shared between tags of one
// repository move once (concurrently), and blobs that already landed in
// another destination repository this run are mounted, not uploaded.
func TestSharedBlobsDedupeAndMount(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	l1 := mustLayer(t, 3000, types.DockerLayer)
	l2 := mustLayer(t, 3100, types.DockerLayer)
	ls := mustLayer(t, 3200, types.DockerLayer)
	l3 := mustLayer(t, 3300, types.DockerLayer)
	imgA := imageOf(t, types.DockerManifestSchema2, l1, l2, ls)
	imgB := imageOf(t, types.DockerManifestSchema2, ls, l3)
	imgC := imageOf(t, types.DockerManifestSchema2, ls, l1)
	src.Push("a:1", imgA)
	src.Push("a:1-again", imgA)
	src.Push("a:2", imgB)
	src.Push("b:1", imgC)
	unique := map[string]int64{}
	for _, img := range []v1.Image{imgA, imgB, imgC} {
		for d, s := range blobSizes(t, img) {
			unique[d] = s
		}
	}
	src.Reset()

	// Sequential tags so that image a lands before image b starts: b's
	// ls and l1 must then be mounted from m/a. Checks are serialised too:
	// with more than one, b's check may win the only copy slot first.
	e := newTestEngine(t, func(o *Options) { o.TagConcurrency = 1; o.CheckConcurrency = 1 }, src, dst)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host}, RepositoryPrefix: "m",
		Images: []Image{{Name: "a", Tags: []string{"1", "1-again", "2"}}, {Name: "b", Tags: []string{"1"}}},
	})
	var resultBytes int64
	for _, r := range res {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("%+v", r)
		}
		resultBytes += r.Bytes
	}
	if got, w := dst.UploadedBytes(), sum(unique); got != w || resultBytes != w {
		t.Errorf("uploaded %d bytes (results say %d), want %d (unique bytes)", got, resultBytes, w)
	}
	if n := src.Count(http.MethodGet, "blob"); n != len(unique) {
		t.Errorf("source blob GETs = %d, want %d:\n%s", n, len(unique), src.Dump())
	}
	mounts := 0
	for _, r := range dst.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.Query, "mount=") {
			if r.Status != http.StatusCreated || !strings.Contains(r.Query, "from=m%2Fa") {
				t.Errorf("unexpected mount %+v", r)
			}
			mounts++
		}
	}
	if mounts != 2 {
		t.Errorf("mounts = %d, want 2 (ls and l1 into m/b):\n%s", mounts, dst.Dump())
	}
	for d := range blobSizes(t, imgC) {
		if !dst.Blobs.Has("m/b", d) {
			t.Errorf("m/b lacks %s", d)
		}
	}

	// Concurrent tags and repositories: shared blobs still move once per
	// destination host; whichever repository loses the race mounts.
	for i := 0; i < 3; i++ {
		dst2 := registrytest.New(t)
		e2 := newTestEngine(t, func(o *Options) { o.TagConcurrency = 4 }, src, dst2)
		src.Reset()
		for _, r := range mustSync(t, e2, Request{
			Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst2.Host}, RepositoryPrefix: "m",
			Images: []Image{{Name: "a", Tags: []string{"1", "1-again", "2"}}, {Name: "b", Tags: []string{"1"}}},
		}) {
			if r.Outcome != OutcomeCopied {
				t.Fatalf("concurrent: %+v", r)
			}
		}
		if got, w := dst2.UploadedBytes(), sum(unique); got != w {
			t.Errorf("concurrent: uploaded %d bytes, want %d", got, w)
		}
		if n := src.Count(http.MethodGet, "blob"); n != len(unique) {
			t.Errorf("concurrent: source blob GETs = %d, want %d", n, len(unique))
		}
		mounts := 0
		for _, r := range dst2.Requests() {
			if r.Method == http.MethodPost && strings.Contains(r.Query, "mount=") && r.Status == http.StatusCreated {
				mounts++
			}
		}
		if mounts != 2 {
			t.Errorf("concurrent: mounts = %d, want 2", mounts)
		}
	}
}

// TestNondistributableLayers: foreign layers are left unfetched unless
// AllowNondistributable is set, and then they are copied from the source
// registry only. The URLs a foreign layer's descriptor names (chosen by
// whoever wrote the manifest) are never dialled: here they point at a
// loopback canary, instance metadata and a name resolving to a private
// address, and none sees a connection or a dial attempt, whether the copy
// succeeds or the source lacks the blob.
func TestNondistributableLayers(t *testing.T) {
	t.Parallel()
	canary := nettest.NewCanary(t)
	n := nettest.New()
	n.Name("layers.example.com", "10.0.0.5")
	foreign := mustLayer(t, 1500, types.DockerForeignLayer)
	fd, _ := foreign.Digest()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.DockerManifestSchema2),
		mutate.Addendum{Layer: mustLayer(t, 1000, types.DockerLayer), MediaType: types.DockerLayer},
		mutate.Addendum{Layer: foreign, MediaType: types.DockerForeignLayer, URLs: []string{
			"http://" + canary.Host + "/" + fd.String(),
			"http://169.254.169.254/latest/meta-data/" + fd.String(),
			"https://layers.example.com/" + fd.String(),
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		allow bool
		// inSource pushes the foreign layer's blob to the source too.
		inSource    bool
		wantOutcome Outcome
	}{
		{"left out", false, true, OutcomeCopied},
		{"copied from the source", true, true, OutcomeCopied},
		{"missing from the source", true, false, OutcomeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := registrytest.New(t)
			dst := registrytest.New(t)
			r, _ := parseRef(src.Ref("win:1"))
			opts := []remote.Option{remote.WithTransport(http.DefaultTransport)}
			if tc.inSource {
				opts = append(opts, remote.WithNondistributable)
			}
			if err := remote.Write(r, img, opts...); err != nil {
				t.Fatal(err)
			}
			src.Reset()
			e := newTestEngine(t, func(o *Options) {
				o.AllowNondistributable = tc.allow
				testNetOptions(n)(o)
			}, src, dst)
			res := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "win", Tags: []string{"1"}}},
			})
			if res[0].Outcome != tc.wantOutcome {
				t.Fatalf("%+v, want outcome %s", res[0], tc.wantOutcome)
			}
			if tc.wantOutcome == OutcomeCopied && dst.DigestOf("win:1") != mustDigest(t, img) {
				t.Errorf("not copied")
			}
			fetched := false
			for _, rec := range src.Requests() {
				if rec.Kind == "blob" && strings.HasSuffix(rec.Path, fd.String()) {
					fetched = true
				}
			}
			if fetched != tc.allow || dst.Blobs.Has("win", fd.String()) != (tc.allow && tc.inSource) {
				t.Errorf("foreign layer fetched from the source=%v present=%v", fetched, dst.Blobs.Has("win", fd.String()))
			}
			if got := canary.Accepted(); got != 0 {
				t.Errorf("the canary named by the layer's URLs accepted %d connections", got)
			}
			for _, addr := range []string{"169.254.169.254", "10.0.0.5"} {
				if got := n.Dialed(addr); got != 0 {
					t.Errorf("%d dial attempts to %s", got, addr)
				}
			}
			if got := n.Lookups(); slices.Contains(got, "layers.example.com") {
				t.Errorf("a foreign layer's host was looked up: %v", got)
			}
		})
	}
}

// TestUploadOverlapsSourceRead: once a blob must be uploaded, its source
// stream opens while the destination opens the upload, so each copied
// blob's critical path is one round trip shorter (on remote registries, the
// round trip is most of a small blob's copy). The destination holds each
// upload POST until the source has been asked for that blob; an engine that
// opens the source only after the POST answers makes every hold time out.
func TestUploadOverlapsSourceRead(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img := imageOf(t, types.OCIManifestSchema1, mustLayer(t, 4096, types.OCILayer))
	src.Push("team/app:1", img)

	// The k-th upload POST waits (up to 2 s) until the source has been
	// asked for k blobs.
	var gets, posts, overlapped atomic.Int32
	src.SetHook(func(r *http.Request) func() {
		if r.Method == http.MethodGet && registrytest.KindOf(r) == "blob" {
			gets.Add(1)
		}
		return func() {}
	})
	dst.SetHook(func(r *http.Request) func() {
		if r.Method == http.MethodPost && registrytest.KindOf(r) == "upload" {
			k := posts.Add(1)
			for deadline := time.Now().Add(2 * time.Second); gets.Load() < k && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if gets.Load() >= k {
				overlapped.Add(1)
			}
		}
		return func() {}
	})

	e := newTestEngine(t, func(o *Options) { o.BlobConcurrency = 1; o.MaxRetries = -1 }, src, dst)
	res := mustSync(t, e, Request{
		Source:      Endpoint{Registry: src.Ref("team")},
		Destination: Endpoint{Registry: dst.Host},
		Images:      []Image{{Name: "app", Tags: []string{"1"}}},
	})
	if r := resultFor(t, res, "app", "1"); r.Outcome != OutcomeCopied {
		t.Fatalf("result %+v", r)
	}
	if got, want := dst.DigestOf("app:1"), mustDigest(t, img); got != want {
		t.Errorf("destination digest %q, want %q", got, want)
	}
	// Two uploads (config and layer), one at a time, each overlapping
	// its own source read.
	if n, p := overlapped.Load(), posts.Load(); n != 2 || p != 2 {
		t.Errorf("%d of %d upload POSTs overlapped their source read, want 2 of 2", n, p)
	}
}

// TestCopyCriticalPath: reads that do not depend on each other overlap, and
// an image is pushed no more often than its referrers need. The
// destination's HEAD of the new digest is held until the source has been
// asked for that manifest and for its referrers; an engine that waits for
// one answer before asking the next makes the hold time out. An image
// without referrers is pushed once, by its tag; a signed one is pushed by
// digest first, so its signature never lands before it, and tagged last.
func TestCopyCriticalPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		signed bool
	}{
		{"no referrers", false},
		{"cosign signature", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t)
			dst := registrytest.New(t)
			img := imageOf(t, types.OCIManifestSchema1, mustLayer(t, 4096, types.OCILayer))
			src.Push("app:1", img)
			d := mustDigest(t, img)
			sigTag := digestname.CosignTag(hashOf(t, img), digestname.SignatureSuffix)
			var sig v1.Image
			if tc.signed {
				sig, _ = random.Image(150, 1)
				src.Push("app:"+sigTag, sig)
			}
			src.Reset()

			var manifestGET, referrersAsked, overlapped atomic.Bool
			src.SetHook(func(r *http.Request) func() {
				switch {
				case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+d):
					manifestGET.Store(true)
				case registrytest.KindOf(r) == "referrers":
					referrersAsked.Store(true)
				}
				return func() {}
			})
			dst.SetHook(func(r *http.Request) func() {
				if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/manifests/"+d) {
					for deadline := time.Now().Add(2 * time.Second); !(manifestGET.Load() && referrersAsked.Load()) && time.Now().Before(deadline); {
						time.Sleep(time.Millisecond)
					}
					overlapped.Store(manifestGET.Load() && referrersAsked.Load())
				}
				return func() {}
			})

			e := newTestEngine(t, nil, src, dst)
			res := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{"1"}}},
			})
			if r := resultFor(t, res, "app", "1"); r.Outcome != OutcomeCopied {
				t.Fatalf("result %+v", r)
			}
			if got := dst.DigestOf("app:1"); got != d {
				t.Errorf("destination digest %q, want %q", got, d)
			}
			if !overlapped.Load() {
				t.Errorf("the destination's HEAD of %s waited 2 s for the source's manifest GET and referrers lookup: they follow it instead of overlapping it", d)
			}

			var puts []string
			for _, rec := range dst.Requests() {
				if rec.Method == http.MethodPut && rec.Kind == "manifest" {
					puts = append(puts, rec.Path[strings.LastIndex(rec.Path, "/")+1:])
				}
			}
			want := []string{"1"}
			if tc.signed {
				want = []string{d, mustDigest(t, sig), sigTag, "1"}
				if got := dst.DigestOf("app:" + sigTag); got != mustDigest(t, sig) {
					t.Errorf("signature at the destination %q, want %s", got, mustDigest(t, sig))
				}
			}
			if strings.Join(puts, " ") != strings.Join(want, " ") {
				t.Errorf("destination manifest PUTs %v, want %v", puts, want)
			}
		})
	}
}
