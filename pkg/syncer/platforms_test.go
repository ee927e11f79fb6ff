package syncer

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/digestname"
)

// platformImage is an image whose config names os/arch.
func platformImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	img := imageOf(t, types.OCIManifestSchema1, mustLayer(t, 600, types.OCILayer))
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// buildxIndex is a two-platform index laid out as docker buildx writes
// it: linux/amd64 and linux/arm64, each followed by its attestation
// manifest (platform unknown/unknown, annotated with the image it
// attests).
func buildxIndex(t *testing.T) (idx v1.ImageIndex, amd64, arm64, amd64Att, arm64Att v1.Image) {
	t.Helper()
	idx = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.Annotations(idx, map[string]string{"org.opencontainers.image.source": "https://example.com/app"}).(v1.ImageIndex)
	amd64, arm64 = platformImage(t, "linux", "amd64"), platformImage(t, "linux", "arm64")
	amd64Att = imageOf(t, types.OCIManifestSchema1, mustLayer(t, 300, types.OCILayer))
	arm64Att = imageOf(t, types.OCIManifestSchema1, mustLayer(t, 300, types.OCILayer))
	for _, e := range []struct {
		img, att v1.Image
		arch     string
	}{{amd64, amd64Att, "amd64"}, {arm64, arm64Att, "arm64"}} {
		idx = mutate.AppendManifests(idx,
			mutate.IndexAddendum{Add: e.img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: e.arch}}},
			mutate.IndexAddendum{Add: e.att, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
				Annotations: map[string]string{
					annotationReferenceType:   attestationManifest,
					annotationReferenceDigest: mustDigest(t, e.img),
				}}})
	}
	return idx, amd64, arm64, amd64Att, arm64Att
}

// destinationIndex reads the index under ref at reg (setup, not counted
// against the engine).
func destinationIndex(t *testing.T, reg *registrytest.Registry, ref string) *v1.IndexManifest {
	t.Helper()
	r, err := name.ParseReference(reg.Ref(ref), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writes counts the requests to reg that write something.
func writes(reg *registrytest.Registry) int {
	n := 0
	for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		n += reg.Count(m, "")
	}
	return n
}

// TestPlatformFilter copies one platform of a two-platform index: the
// destination index holds exactly that platform and its attestation, the
// other platform's manifests, blobs and signatures stay behind, and a
// re-run with nothing changed costs at most two requests and no write.
func TestPlatformFilter(t *testing.T) {
	src := registrytest.New(t)
	dst := registrytest.New(t)
	idx, amd64, arm64, amd64Att, arm64Att := buildxIndex(t)
	src.Push("app:1", idx)
	sig := func(of v1.Image) (string, string) {
		s, _ := random.Image(120, 1)
		tag := digestname.CosignTag(hashOf(t, of), digestname.SignatureSuffix)
		src.Push("app:"+tag, s)
		return tag, mustDigest(t, s)
	}
	amdSigTag, amdSig := sig(amd64)
	armSigTag, _ := sig(arm64)
	src.Reset()

	e := newTestEngine(t, nil, src, dst)
	req := Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}, Platforms: []string{"linux/amd64"}}},
	}
	r := resultFor(t, mustSync(t, e, req), "app", "1")
	if r.Outcome != OutcomeCopied || r.Digest != mustDigest(t, idx) || r.WrittenDigest == "" || r.WrittenDigest == r.Digest ||
		!slices.Equal(r.Platforms, []string{"linux/amd64"}) {
		t.Fatalf("result = %+v, want Copied from the source index, written as another digest, platforms [linux/amd64]", r)
	}
	if got := dst.DigestOf("app:1"); got != r.WrittenDigest {
		t.Fatalf("destination tag at %s, want the written %s", got, r.WrittenDigest)
	}
	m := destinationIndex(t, dst, "app:1")
	var kept []string
	for _, c := range m.Manifests {
		kept = append(kept, c.Digest.String())
	}
	if want := []string{mustDigest(t, amd64), mustDigest(t, amd64Att)}; !slices.Equal(kept, want) {
		t.Fatalf("destination index holds %q, want amd64 and its attestation %q", kept, want)
	}
	if m.MediaType != types.OCIImageIndex || m.Annotations["org.opencontainers.image.source"] != "https://example.com/app" {
		t.Errorf("destination index lost the source's media type or annotations: %+v", m)
	}
	for what, d := range map[string]string{"arm64": mustDigest(t, arm64), "arm64 attestation": mustDigest(t, arm64Att)} {
		if dst.DigestOf("app@"+d) != "" {
			t.Errorf("the %s manifest was copied", what)
		}
	}
	if dst.DigestOf("app:"+amdSigTag) != amdSig {
		t.Errorf("the amd64 image's signature did not travel")
	}
	if dst.DigestOf("app:"+armSigTag) != "" {
		t.Errorf("the arm64 image's signature travelled without its image")
	}

	// The controller hands the engine what the last run wrote: the re-run
	// reads neither index.
	src.Reset()
	dst.Reset()
	req.Filtered = map[string]Filtered{"app:1": {Source: r.Digest, Written: r.WrittenDigest, Platforms: r.Platforms}}
	again := resultFor(t, mustSync(t, e, req), "app", "1")
	if again.Outcome != OutcomeSkipped || again.Reason != ReasonUpToDate || again.WrittenDigest != r.WrittenDigest || !slices.Equal(again.Platforms, r.Platforms) {
		t.Fatalf("re-run = %+v, want UpToDate with the written digest and platforms", again)
	}
	if n := len(src.Requests()) + len(dst.Requests()); n > 2 {
		t.Errorf("re-run made %d requests, want at most 2:\n%s%s", n, src.Dump(), dst.Dump())
	}
	if n := writes(src) + writes(dst); n != 0 {
		t.Errorf("re-run wrote %d times", n)
	}

	// Without that record (a new controller), the index is read once and
	// derived again to the same digest: still up to date, still no write.
	src.Reset()
	dst.Reset()
	req.Filtered = nil
	fresh := resultFor(t, mustSync(t, newTestEngine(t, nil, src, dst), req), "app", "1")
	if fresh.Outcome != OutcomeSkipped || fresh.WrittenDigest != r.WrittenDigest {
		t.Fatalf("re-run without a record = %+v, want UpToDate at %s", fresh, r.WrittenDigest)
	}
	if n := len(src.Requests()) + len(dst.Requests()); n != 3 || writes(dst) != 0 {
		t.Errorf("re-run without a record made %d requests (%d writes), want 3 and none:\n%s%s", n, writes(dst), src.Dump(), dst.Dump())
	}

	// A record whose source no longer matches is not trusted: a moved
	// source tag is copied again.
	idx2, _, _, _, _ := buildxIndex(t)
	src.Push("app:1", idx2)
	req.Filtered = map[string]Filtered{"app:1": {Source: r.Digest, Written: r.WrittenDigest, Platforms: r.Platforms}}
	moved := resultFor(t, mustSync(t, e, req), "app", "1")
	if moved.Outcome != OutcomeCopied || moved.Digest != mustDigest(t, idx2) || dst.DigestOf("app:1") != moved.WrittenDigest {
		t.Fatalf("after the source moved = %+v, want the new index filtered and copied", moved)
	}
}

func TestPlatformSelection(t *testing.T) {
	src := registrytest.New(t)
	idx, amd64, _, _, _ := buildxIndex(t)
	src.Push("app:multi", idx)
	src.Push("app:amd64", amd64)
	artifact, _ := random.Image(100, 1) // a config that names no platform
	src.Push("app:artifact", artifact)

	tests := []struct {
		name      string
		tag       string
		platforms []string
		// written is "" for the source as it is, "filtered" for a derived index.
		written    string
		platforms2 []string
		reason     string
		message    string
	}{
		{name: "every platform kept: the index as it is", tag: "multi", platforms: []string{"linux/amd64", "linux/arm64"},
			platforms2: []string{"linux/amd64", "linux/arm64"}, reason: ReasonCopied},
		{name: "a platform the index lacks is no error", tag: "multi", platforms: []string{"linux/arm64", "linux/s390x"},
			written: "filtered", platforms2: []string{"linux/arm64"}, reason: ReasonCopied},
		{name: "a variant asked for must match", tag: "multi", platforms: []string{"linux/arm64/v8"},
			reason: ReasonPlatformMismatch, message: "has none of the platforms linux/arm64/v8; it has linux/amd64, linux/arm64"},
		{name: "an index with none of them", tag: "multi", platforms: []string{"windows/amd64"},
			reason: ReasonPlatformMismatch, message: "has none of the platforms windows/amd64"},
		{name: "a single image of a wanted platform", tag: "amd64", platforms: []string{"linux/arm64", "linux/amd64"},
			platforms2: []string{"linux/amd64"}, reason: ReasonCopied},
		{name: "a single image of another platform", tag: "amd64", platforms: []string{"linux/arm64"},
			reason: ReasonPlatformMismatch, message: "is for linux/amd64, not for linux/arm64"},
		{name: "an artifact names no platform", tag: "artifact", platforms: []string{"linux/amd64"},
			reason: ReasonPlatformMismatch, message: "is for no platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := registrytest.New(t)
			e := newTestEngine(t, nil, src, dst)
			r := resultFor(t, mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{tt.tag}, Platforms: tt.platforms}},
			}), "app", tt.tag)
			if r.Reason != tt.reason || !strings.Contains(r.Message, tt.message) || r.Transient {
				t.Fatalf("result = %+v, want %s %q", r, tt.reason, tt.message)
			}
			if tt.reason == ReasonPlatformMismatch {
				if n := writes(dst); n != 0 {
					t.Errorf("a mismatch wrote %d times at the destination", n)
				}
				return
			}
			if !slices.Equal(r.Platforms, tt.platforms2) {
				t.Errorf("platforms = %q, want %q", r.Platforms, tt.platforms2)
			}
			switch got := dst.DigestOf("app:" + tt.tag); {
			case tt.written == "" && (r.WrittenDigest != "" || got != r.Digest):
				t.Errorf("destination at %s (written %q), want the source's %s as it is", got, r.WrittenDigest, r.Digest)
			case tt.written != "" && (r.WrittenDigest == "" || got != r.WrittenDigest):
				t.Errorf("destination at %s, want a filtered index %q", got, r.WrittenDigest)
			}
		})
	}
}

// TestFilterIndexIsDeterministic derives the same bytes from the same
// index every time, and refuses an index whose manifests are not a list.
func TestFilterIndexIsDeterministic(t *testing.T) {
	idx, _, _, _, _ := buildxIndex(t)
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	f, err := newPlatformFilter([]string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	d := hashOf(t, idx)
	first, _, err := filterIndex(d, cachedManifest{raw: raw, mt: types.OCIImageIndex}, f)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _, err := filterIndex(d, cachedManifest{raw: raw, mt: types.OCIImageIndex}, f)
		if err != nil || again.digest != first.digest || string(again.raw) != string(first.raw) {
			t.Fatalf("derivation differs: %s vs %s (%v)", again.digest, first.digest, err)
		}
	}
	if got, _, _ := v1.SHA256(strings.NewReader(string(first.raw))); got != first.digest {
		t.Errorf("digest %s is not of the bytes (%s)", first.digest, got)
	}
}
