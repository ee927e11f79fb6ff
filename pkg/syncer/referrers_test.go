package syncer

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/digestname"
)

// multiArch builds a 2-platform OCI index.
func multiArch(t *testing.T) (v1.ImageIndex, []v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var children []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img := imageOf(t, types.OCIManifestSchema1, mustLayer(t, 700, types.OCILayer))
		children = append(children, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx, children
}

func hashOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestCosignTagSchemeReferrers: .sig, .att and .sbom tags of the index and
// of a child manifest travel with the image, digests preserved.
func TestCosignTagSchemeReferrers(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	idx, children := multiArch(t)
	src.Push("app:1", idx)
	want := map[string]string{}
	for _, s := range []string{"sig", "att", "sbom"} {
		a, _ := random.Image(200, 1)
		tag := digestname.CosignTag(hashOf(t, idx), s)
		src.Push("app:"+tag, a)
		want[tag] = mustDigest(t, a)
	}
	childSig, _ := random.Image(150, 1)
	childTag := digestname.CosignTag(hashOf(t, children[1]), digestname.SignatureSuffix)
	src.Push("app:"+childTag, childSig)
	want[childTag] = mustDigest(t, childSig)
	src.Reset()

	e := newTestEngine(t, nil, src, dst)
	req := Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	}
	r := mustSync(t, e, req)[0]
	if r.Outcome != OutcomeCopied {
		t.Fatalf("%+v", r)
	}
	for tag, d := range want {
		if got := dst.DigestOf("app:" + tag); got != d {
			t.Errorf("dst %s = %q, want %s", tag, got, d)
		}
	}
	if dst.DigestOf("app:1") != mustDigest(t, idx) {
		t.Errorf("image not copied")
	}
}

// TestOCIReferrers: referrers of the index and of a child manifest are
// found via the referrers API or the fallback tag schema and made
// discoverable at the destination the same two ways.
func TestOCIReferrers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		srcAPI, dstAPI bool
		oddStatus      bool // referrers endpoint answers 405 (src) / 400 (dst) instead of 404
	}{
		{"fallback tags to fallback tags", false, false, false},
		{"API to API", true, true, false},
		{"API to fallback tags", true, false, false},
		{"fallback tags to API", false, true, false},
		{"pre-1.1 registries answering 405 and 400", false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var so, do []registrytest.Option
			if tc.srcAPI {
				so = append(so, registrytest.WithReferrersAPI())
			}
			if tc.dstAPI {
				do = append(do, registrytest.WithReferrersAPI())
			}
			src := registrytest.New(t, so...)
			dst := registrytest.New(t, do...)
			idx, children := multiArch(t)
			src.Push("app:1", idx)

			idxDesc, _ := partial.Descriptor(idx)
			childDesc, _ := partial.Descriptor(children[0])
			artifact := func(subject v1.Descriptor, artifactType types.MediaType) v1.Image {
				base := imageOf(t, types.OCIManifestSchema1, mustLayer(t, 300, types.OCILayer))
				return mutate.Subject(mutate.ConfigMediaType(base, artifactType), *subject.DeepCopy()).(v1.Image)
			}
			sbom := artifact(*idxDesc, "application/spdx+json")
			sig := artifact(*idxDesc, "application/vnd.dev.sigstore.bundle.v0.3+json")
			childAtt := artifact(*childDesc, "application/vnd.in-toto+json")
			// A signature on the SBOM: a referrer of a referrer.
			sbomDesc, _ := partial.Descriptor(sbom)
			sbomSig := artifact(*sbomDesc, "application/vnd.dev.sigstore.bundle.v0.3+json")
			for _, a := range []v1.Image{sbom, sig, childAtt, sbomSig} {
				src.Push("app@"+mustDigest(t, a), a)
			}
			if !tc.srcAPI && src.DigestOf("app:"+digestname.FallbackTag(idxDesc.Digest)) == "" {
				t.Fatal("fixture: no fallback tag at source")
			}
			if tc.oddStatus {
				src.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "referrers"), Times: -1, Handle: status(http.StatusMethodNotAllowed)})
				dst.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "referrers"), Times: -1, Handle: status(http.StatusBadRequest)})
			}
			src.Reset()

			e := newTestEngine(t, nil, src, dst)
			r := mustSync(t, e, Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{"1"}}},
			})[0]
			if r.Outcome != OutcomeCopied {
				t.Fatalf("%+v", r)
			}
			expect := map[v1.Hash][]string{
				idxDesc.Digest:   {mustDigest(t, sbom), mustDigest(t, sig)},
				childDesc.Digest: {mustDigest(t, childAtt)},
				sbomDesc.Digest:  {mustDigest(t, sbomSig)},
			}
			for subject, want := range expect {
				for _, d := range want {
					if dst.DigestOf("app@"+d) != d {
						t.Errorf("referrer %s of %s missing at destination", d, subject)
					}
				}
				got := dstReferrers(t, dst, subject, tc.dstAPI)
				sort.Strings(want)
				if len(got) != len(want) || (len(got) > 0 && (got[0] != want[0] || got[len(got)-1] != want[len(want)-1])) {
					t.Errorf("referrers of %s at destination = %v, want %v", subject, got, want)
				}
			}
		})
	}
}

// dstReferrers lists referrer digests of subject at the destination the way
// a client would: the API when supported, else the fallback tag.
func dstReferrers(t *testing.T, reg *registrytest.Registry, subject v1.Hash, api bool) []string {
	t.Helper()
	path := "/v2/app/manifests/" + digestname.FallbackTag(subject)
	if api {
		path = "/v2/app/referrers/" + subject.String()
	}
	req, _ := http.NewRequest(http.MethodGet, reg.Server.URL+path, nil)
	req.Header.Set("Accept", string(types.OCIImageIndex))
	req.Header.Set("X-Test-Probe", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var idx v1.IndexManifest
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.Digest.String())
	}
	sort.Strings(out)
	return out
}

// TestReferrerLookupsUseTagList: when an image's tags were listed in the
// run (semver), cosign and fallback tags missing from the list are not
// looked up, those present are copied, and a registry without the
// referrers API is asked about it once per run, not once per subject.
func TestReferrerLookupsUseTagList(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	idx, children := multiArch(t)
	src.Push("app:1.0.0", idx)
	plain, _ := random.Image(300, 1)
	src.Push("app:1.1.0", plain)
	sig, _ := random.Image(150, 1)
	sigTag := digestname.CosignTag(hashOf(t, children[0]), digestname.SignatureSuffix)
	src.Push("app:"+sigTag, sig)
	src.Reset()

	e := newTestEngine(t, nil, src, dst)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Semver: ">=1.0.0"}},
	})
	if len(res) != 2 || res[0].Outcome != OutcomeCopied || res[1].Outcome != OutcomeCopied {
		t.Fatalf("%+v", res)
	}
	if got := dst.DigestOf("app:" + sigTag); got != mustDigest(t, sig) {
		t.Errorf("signature of a child: dst %q, want %s", got, mustDigest(t, sig))
	}
	// The only cosign or fallback tag the source is asked about is the
	// one in its tag list (HEAD, then GET of its manifest).
	for _, rec := range src.Requests() {
		if rec.Kind == "manifest" && strings.Contains(rec.Path, "sha256-") && !strings.HasSuffix(rec.Path, sigTag) {
			t.Errorf("looked up %s %s although the tag list does not have it", rec.Method, rec.Path)
		}
	}
	// The test registry has no referrers API: 4 subjects (index, two
	// children, plain image) but one probe on the source.
	if n := src.Count("", "referrers"); n != 1 {
		t.Errorf("referrers API probed %d times on the source, want 1:\n%s", n, src.Dump())
	}
}
