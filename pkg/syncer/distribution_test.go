//go:build distribution

// Opt-in compatibility test against a real distribution server (Debian's
// docker-registry, distribution 2.8) running as a separate process:
//
//	go test -tags distribution -run Distribution ./pkg/syncer/
//
// It is behind a build tag (not skipped at run time) because it needs the
// docker-registry binary on PATH.
package syncer

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/digestname"
)

func startDistribution(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  inmemory: {}\nhttp:\n  addr: %s\n", addr)), 0o600)
	cmd := exec.Command("docker-registry", "serve", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("docker-registry did not start")
	return ""
}

// countingTransport counts requests per host and kind.
type countingTransport struct {
	mu     sync.Mutex
	counts map[string]int
	next   http.RoundTripper
}

// wrap is an Options.WrapTransport that counts on the engine's transport.
func (c *countingTransport) wrap(rt http.RoundTripper) http.RoundTripper {
	c.next = rt
	return c
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	k := r.URL.Host + " " + r.Method + " " + registrytest.KindOf(r)
	if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
		k += "+mount"
	}
	c.counts[k]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.counts
	c.counts = map[string]int{}
	return old
}

func TestDistributionCompatibility(t *testing.T) {
	src := startDistribution(t)
	dst := startDistribution(t)
	push := func(ref string, x remote.Taggable) {
		r, err := parseRef(src + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		switch v := x.(type) {
		case v1.ImageIndex:
			err = remote.WriteIndex(r, v)
		case v1.Image:
			err = remote.Write(r, v)
		}
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
	}
	shared := mustLayer(t, 4096, types.OCILayer)
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img := imageOf(t, types.OCIManifestSchema1, shared, mustLayer(t, 2048, types.OCILayer))
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	push("lib/app:1.0.0", idx)
	push("lib/other:1.0.0", imageOf(t, types.OCIManifestSchema1, shared))
	for i := 0; i < 7; i++ {
		img, _ := random.Image(100, 1)
		push(fmt.Sprintf("lib/app:0.%d.0", i), img)
	}
	sig, _ := random.Image(100, 1)
	push("lib/app:"+digestname.FallbackTag(hashOf(t, idx))+".sig", sig)
	idxDesc, _ := partial.Descriptor(idx)
	sbom := mutate.Subject(mutate.ConfigMediaType(imageOf(t, types.OCIManifestSchema1, mustLayer(t, 100, types.OCILayer)), "application/spdx+json"), *idxDesc).(v1.Image)
	push("lib/app@"+mustDigest(t, sbom), sbom)

	ct := &countingTransport{counts: map[string]int{}}
	e, err := New(Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{src, dst}, WrapTransport: ct.wrap, RetryBackoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{
		Source: Endpoint{Registry: src + "/lib"}, Destination: Endpoint{Registry: dst}, RepositoryPrefix: "mirror",
		Images: []Image{{Name: "app", Semver: ">=0.5.0", MaxTags: 2}, {Name: "other", Tags: []string{"1.0.0"}}},
	}
	res := mustSync(t, e, req)
	var tags []string
	for _, r := range res {
		if r.Outcome != OutcomeCopied {
			t.Errorf("%+v", r)
		}
		tags = append(tags, r.Image+":"+r.Tag)
	}
	if strings.Join(tags, ",") != "app:1.0.0,app:0.6.0,other:1.0.0" {
		t.Errorf("tags = %v", tags)
	}
	first := ct.reset()
	t.Logf("first run requests: %v", first)
	if first[dst+" POST upload+mount"] != 1 {
		t.Errorf("want one cross-repository mount (the shared layer into mirror/other)")
	}
	// 12 distinct blobs: index children (2 configs, shared, 2 layers),
	// 0.6.0 (2), other's config (its layer is mounted), .sig (2), SBOM (2).
	if n := first[dst+" PUT upload"]; n != 12 {
		t.Errorf("blob uploads = %d, want 12", n)
	}
	check := func(ref, want string) {
		r, _ := parseRef(dst + "/" + ref)
		d, err := remote.Head(r)
		if err != nil || d.Digest.String() != want {
			t.Errorf("dst %s = %v %v, want %s", ref, d, err, want)
		}
	}
	check("mirror/app:1.0.0", mustDigest(t, idx))
	check("mirror/app:"+digestname.FallbackTag(hashOf(t, idx))+".sig", mustDigest(t, sig))
	check("mirror/app@"+mustDigest(t, sbom), mustDigest(t, sbom))
	// distribution 2.8 has no referrers API: the SBOM must be listed in
	// the fallback tag index at the destination.
	fr, _ := parseRef(dst + "/mirror/app:" + digestname.FallbackTag(idxDesc.Digest))
	fidx, err := remote.Index(fr)
	if err != nil {
		t.Fatalf("fallback index: %v", err)
	}
	fm, _ := fidx.IndexManifest()
	if len(fm.Manifests) != 1 || fm.Manifests[0].Digest.String() != mustDigest(t, sbom) {
		t.Errorf("fallback index = %+v", fm.Manifests)
	}

	// Up to date: two HEADs per tag, one tag list for the semver image.
	res = mustSync(t, e, req)
	for _, r := range res {
		if r.Outcome != OutcomeSkipped {
			t.Errorf("%+v", r)
		}
	}
	second := ct.reset()
	want := map[string]int{src + " HEAD manifest": 3, dst + " HEAD manifest": 3, src + " GET tags": 1}
	if fmt.Sprint(second) != fmt.Sprint(want) {
		t.Errorf("up-to-date run requests = %v, want %v", second, want)
	}
}

// TestDistributionSelectionAndWritePolicies runs the selection rules and
// write policies against docker-registry on both sides: include/exclude
// and maxTags pick exact tags, a digest entry writes no tag, a broken pin
// writes nothing, immutable tags cost no manifest request on a re-run, and
// a diverged destination tag is kept.
func TestDistributionSelectionAndWritePolicies(t *testing.T) {
	src := startDistribution(t)
	dst := startDistribution(t)
	push := func(host, ref string, img v1.Image) {
		r, err := parseRef(host + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
	}
	img, _ := random.Image(100, 1)
	other, _ := random.Image(100, 1)
	untagged, _ := random.Image(100, 1)
	for _, tag := range []string{"latest", "edge", "1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0", "v3.0.0", "v3.1.0"} {
		push(src, "app:"+tag, img)
	}
	push(src, "app:untagged-holder", untagged)
	push(dst, "app:edge", other) // diverged at the destination

	ct := &countingTransport{counts: map[string]int{}}
	e, err := New(Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{src, dst}, WrapTransport: ct.wrap, RetryBackoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{
		Source: Endpoint{Registry: src}, Destination: Endpoint{Registry: dst},
		ImmutableTags:    `v[0-9.]+`,
		KeepDivergedTags: true,
		Images: []Image{
			{Name: "app", Include: []string{`[0-9.]+.*`, "edge", `v.*`}, Exclude: []string{`.*-rc\..*`}, MaxTags: 4},
			{Name: "app", Tags: []string{"latest@" + mustDigest(t, other)}, Digests: []string{mustDigest(t, untagged)}},
		},
	}
	res := mustSync(t, e, req)
	got := map[string]string{}
	for _, r := range res {
		got[r.Tag] = r.Reason
	}
	want := map[string]string{
		"v3.1.0": ReasonCopied, "v3.0.0": ReasonCopied, "2.0.0": ReasonCopied, "1.1.0": ReasonCopied,
		"latest":                ReasonDigestMismatch,
		mustDigest(t, untagged): ReasonCopied,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("first run = %v, want %v", got, want)
	}
	heads := func(ref string) string {
		r, _ := parseRef(dst + "/" + ref)
		d, err := remote.Head(r)
		if err != nil {
			return ""
		}
		return d.Digest.String()
	}
	if d := heads("app:latest"); d != "" {
		t.Errorf("a broken pin wrote latest: %s", d)
	}
	if d := heads("app@" + mustDigest(t, untagged)); d != mustDigest(t, untagged) {
		t.Errorf("digest entry missing at the destination: %q", d)
	}
	if d := heads("app:untagged-holder"); d != "" {
		t.Errorf("a digest entry wrote a tag: %s", d)
	}

	// Keep the diverged tag: select edge alone with Overwrite Never.
	edge := mustSync(t, e, Request{Source: Endpoint{Registry: src}, Destination: Endpoint{Registry: dst}, KeepDivergedTags: true,
		Images: []Image{{Name: "app", Tags: []string{"edge"}}}})
	if len(edge) != 1 || edge[0].Reason != ReasonDestinationDiverged || heads("app:edge") != mustDigest(t, other) {
		t.Errorf("diverged tag: %+v, destination %s", edge, heads("app:edge"))
	}

	// Re-run: the v3 tags are immutable and listed, so they cost no
	// manifest request; the others are up to date with one HEAD per side.
	ct.reset()
	res = mustSync(t, e, req)
	for _, r := range res {
		wantReason := ReasonUpToDate
		switch r.Tag {
		case "v3.1.0", "v3.0.0":
			wantReason = ReasonImmutableTagPresent
		case "latest":
			wantReason = ReasonDigestMismatch
		}
		if r.Reason != wantReason {
			t.Errorf("re-run %s: %s, want %s", r.Tag, r.Reason, wantReason)
		}
	}
	counts := ct.reset()
	// HEADs: 2.0.0, 1.1.0, the digest entry and the pinned tag on each
	// side; tag lists: the source once for the listing image, the
	// destination once for the immutable check.
	wantCounts := map[string]int{src + " HEAD manifest": 4, dst + " HEAD manifest": 4, src + " GET tags": 1, dst + " GET tags": 1}
	if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
		t.Errorf("re-run requests = %v, want %v", counts, wantCounts)
	}
}

// TestDistributionPlatformFilter: distribution accepts the filtered index,
// which names exactly the kept platform and its attestation, and a re-run
// with the last run's record costs at most two requests and no write.
func TestDistributionPlatformFilter(t *testing.T) {
	src := startDistribution(t)
	dst := startDistribution(t)
	idx, amd64, arm64, _, arm64Att := buildxIndex(t)
	r, err := parseRef(src + "/lib/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}

	ct := &countingTransport{counts: map[string]int{}}
	e, err := New(Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{src, dst}, WrapTransport: ct.wrap, RetryBackoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{
		Source: Endpoint{Registry: src + "/lib"}, Destination: Endpoint{Registry: dst},
		Images: []Image{{Name: "app", Tags: []string{"1"}, Platforms: []string{"linux/arm64"}}},
	}
	res := resultFor(t, mustSync(t, e, req), "app", "1")
	if res.Outcome != OutcomeCopied || res.WrittenDigest == "" || res.WrittenDigest == res.Digest {
		t.Fatalf("result = %+v, want a filtered index copied", res)
	}
	ref, err := parseRef(dst + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d := mustDigest(t, got); d != res.WrittenDigest {
		t.Fatalf("destination tag at %s, want %s", d, res.WrittenDigest)
	}
	m, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range m.Manifests {
		kept = append(kept, c.Digest.String())
	}
	if want := []string{mustDigest(t, arm64), mustDigest(t, arm64Att)}; strings.Join(kept, ",") != strings.Join(want, ",") {
		t.Fatalf("destination index holds %q, want %q", kept, want)
	}
	amdRef, err := parseRef(dst + "/app@" + mustDigest(t, amd64))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(amdRef); err == nil {
		t.Errorf("the amd64 image was copied")
	}

	ct.reset()
	req.Filtered = map[string]Filtered{"app:1": {Source: res.Digest, Written: res.WrittenDigest, Platforms: res.Platforms}}
	again := resultFor(t, mustSync(t, e, req), "app", "1")
	counts := ct.reset()
	total, writes := 0, 0
	for k, n := range counts {
		total += n
		if strings.Contains(k, " PUT ") || strings.Contains(k, " POST ") || strings.Contains(k, " PATCH ") {
			writes += n
		}
	}
	if again.Reason != ReasonUpToDate || total > 2 || writes != 0 {
		t.Fatalf("re-run = %+v with requests %v, want UpToDate in at most 2 requests and no write", again, counts)
	}
}
