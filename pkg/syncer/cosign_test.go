//go:build cosign

// Opt-in test with the real cosign CLI (v2.6.5, `make test-cosign` installs
// it): images signed and attested by cosign in both formats, the tag scheme
// (.sig/.att) and the OCI 1.1 referrers scheme (sigstore bundles, and
// legacy signatures with --registry-referrers-mode=oci-1-1), are copied by
// the engine and `cosign verify` succeeds against the destination digest.
//
//	go test -tags cosign -run Cosign ./pkg/syncer/
//
// It is behind a build tag (not skipped at run time) because it needs the
// cosign binary on PATH or in GOPATH/bin. Everything is offline: keys are
// generated, nothing is uploaded to a transparency log, and verification
// uses an empty trusted root with --insecure-ignore-tlog.
package syncer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/portager/portager/internal/cosigntest"
	"github.com/portager/portager/internal/registrytest"
)

type cosignCLI struct {
	t   *testing.T
	bin string
	dir string
}

// run runs cosign in c.dir and returns its combined output and error.
func (c *cosignCLI) run(env []string, args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(),
		"HOME="+c.dir, "TUF_ROOT="+filepath.Join(c.dir, "tuf"), "COSIGN_PASSWORD=", "COSIGN_YES=true")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cosignCLI) must(env []string, args ...string) string {
	c.t.Helper()
	out, err := c.run(env, args...)
	if err != nil {
		c.t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var cosignHTTP = []string{"--allow-http-registry", "--allow-insecure-registry"}

func withHTTP(args ...string) []string { return append(args, cosignHTTP...) }

func TestCosignSignaturesVerifyAtDestination(t *testing.T) {
	c := &cosignCLI{t: t, bin: cosigntest.Binary(t), dir: t.TempDir()}
	c.must(nil, "generate-key-pair")
	c.must(nil, "generate-key-pair", "--output-key-prefix", "other")
	// Key-based verification of sigstore bundles needs a trusted root; an
	// empty one (no CAs, logs or timestamp authorities) keeps it offline.
	if err := os.WriteFile(filepath.Join(c.dir, "trusted_root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "sbom.spdx.json"), []byte(`{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app","documentNamespace":"https://portager.io/test/app","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: test"]},"packages":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		referrers bool // registry serves the OCI 1.1 referrers API
	}{
		{"referrers API", true},
		{"referrers tag fallback", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cosignCLI{t: t, bin: c.bin, dir: c.dir}
			var opts []registrytest.Option
			if tc.referrers {
				opts = append(opts, registrytest.WithReferrersAPI())
			}
			src := registrytest.New(t, opts...)
			dst := registrytest.New(t, opts...)
			// v1 is signed and attested in the tag scheme (.sig/.att tags);
			// v2 in the OCI 1.1 scheme: a sigstore bundle signature and
			// attestation, and a legacy signature stored as a referrer.
			// (cosign prefers bundles when it finds any, so the two
			// schemes live on different images.)
			digests := map[string]string{}
			for _, tag := range []string{"v1", "v2"} {
				img, err := random.Image(4096, 2)
				if err != nil {
					t.Fatal(err)
				}
				src.Push("team/app:"+tag, img)
				digests[tag] = mustDigest(t, img)
			}
			srcRef := func(tag string) string { return src.Ref("team/app@" + digests[tag]) }
			dstRef := func(tag string) string { return dst.Ref("mirror/team/app@" + digests[tag]) }

			c.must(nil, withHTTP("sign", "--key", "cosign.key", "--tlog-upload=false", srcRef("v1"))...)
			c.must(nil, withHTTP("attest", "--key", "cosign.key", "--tlog-upload=false", "--type", "spdxjson", "--predicate", "sbom.spdx.json", srcRef("v1"))...)
			c.must(nil, withHTTP("sign", "--key", "cosign.key", "--tlog-upload=false", "--new-bundle-format", srcRef("v2"))...)
			c.must(nil, withHTTP("attest", "--key", "cosign.key", "--tlog-upload=false", "--new-bundle-format", "--type", "spdxjson", "--predicate", "sbom.spdx.json", srcRef("v2"))...)
			c.must([]string{"COSIGN_EXPERIMENTAL=1"}, withHTTP("sign", "--key", "cosign.key", "--tlog-upload=false", "--registry-referrers-mode=oci-1-1", srcRef("v2"))...)

			verify := func(env []string, args ...string) func(ref, key string) (string, error) {
				return func(ref, key string) (string, error) {
					a := append([]string{}, args...)
					a = append(a, "--key", key, "--insecure-ignore-tlog=true", "--trusted-root", "trusted_root.json", ref)
					return c.run(env, withHTTP(a...)...)
				}
			}
			checks := []struct {
				name, tag string
				verify    func(ref, key string) (string, error)
			}{
				{"verify (tag scheme .sig)", "v1", verify(nil, "verify", "--new-bundle-format=false")},
				{"verify-attestation spdxjson (tag scheme .att)", "v1", verify(nil, "verify-attestation", "--new-bundle-format=false", "--type", "spdxjson")},
				{"verify --new-bundle-format (OCI 1.1 bundle)", "v2", verify(nil, "verify", "--new-bundle-format")},
				{"verify-attestation --new-bundle-format spdxjson (OCI 1.1 bundle)", "v2", verify(nil, "verify-attestation", "--new-bundle-format", "--type", "spdxjson")},
				{"verify --experimental-oci11 (legacy signature as a referrer)", "v2", verify([]string{"COSIGN_EXPERIMENTAL=1"}, "verify", "--experimental-oci11", "--new-bundle-format=false")},
			}
			// The fixtures verify at the source, and nothing is at the
			// destination yet.
			for _, ch := range checks {
				if out, err := ch.verify(srcRef(ch.tag), "cosign.pub"); err != nil {
					t.Fatalf("source %s: %v\n%s", ch.name, err, out)
				}
				if out, err := ch.verify(dstRef(ch.tag), "cosign.pub"); err == nil {
					t.Fatalf("destination %s passed before the copy:\n%s", ch.name, out)
				}
			}

			e := newTestEngine(t, nil, src, dst)
			res := mustSync(t, e, Request{
				Source:           Endpoint{Registry: src.Host},
				Destination:      Endpoint{Registry: dst.Host},
				RepositoryPrefix: "mirror",
				Images:           []Image{{Name: "team/app", Tags: []string{"v1", "v2"}}},
			})
			if len(res) != 2 {
				t.Fatalf("results %+v", res)
			}
			for _, r := range res {
				if r.Outcome != OutcomeCopied || r.Digest != digests[r.Tag] {
					t.Fatalf("result %+v", r)
				}
				if got := dst.DigestOf("mirror/team/app:" + r.Tag); got != digests[r.Tag] {
					t.Fatalf("destination %s digest %q, want %q", r.Tag, got, digests[r.Tag])
				}
			}

			for _, ch := range checks {
				if out, err := ch.verify(dstRef(ch.tag), "cosign.pub"); err != nil {
					t.Errorf("destination %s: %v\n%s", ch.name, err, out)
				}
				if out, err := ch.verify(dstRef(ch.tag), "other.pub"); err == nil {
					t.Errorf("destination %s passed with the wrong key:\n%s", ch.name, out)
				}
			}
			// The tag-scheme artifacts landed under their tags.
			for _, suffix := range []string{".sig", ".att"} {
				tag := "mirror/team/app:" + strings.Replace(digests["v1"], ":", "-", 1) + suffix
				if dst.DigestOf(tag) == "" {
					t.Errorf("%s missing at the destination", tag)
				}
			}
		})
	}
}

// TestCosignPlatformFilterKeepsSignatures: of an index signed with cosign
// --recursive, a copy filtered to one platform carries that platform
// image's signature, which verifies at the destination; the filtered index
// has another digest, which no signature covers. A filter that keeps every
// platform copies the index as it is, and its own signature verifies.
func TestCosignPlatformFilterKeepsSignatures(t *testing.T) {
	c := &cosignCLI{t: t, bin: cosigntest.Binary(t), dir: t.TempDir()}
	c.must(nil, "generate-key-pair")
	if err := os.WriteFile(filepath.Join(c.dir, "trusted_root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := registrytest.New(t)
	dst := registrytest.New(t)
	idx, children := multiArch(t)
	src.Push("team/app:multi", idx)
	c.must(nil, withHTTP("sign", "--key", "cosign.key", "--tlog-upload=false", "--recursive", src.Ref("team/app@"+mustDigest(t, idx)))...)
	verify := func(ref string) (string, error) {
		return c.run(nil, withHTTP("verify", "--new-bundle-format=false", "--key", "cosign.pub", "--insecure-ignore-tlog=true", "--trusted-root", "trusted_root.json", ref)...)
	}

	e := newTestEngine(t, nil, src, dst)
	sync := func(prefix string, platforms ...string) TagResult {
		return resultFor(t, mustSync(t, e, Request{
			Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host}, RepositoryPrefix: prefix,
			Images: []Image{{Name: "team/app", Tags: []string{"multi"}, Platforms: platforms}},
		}), "team/app", "multi")
	}
	arm := sync("arm", "linux/arm64")
	if arm.Outcome != OutcomeCopied || arm.WrittenDigest == "" {
		t.Fatalf("filtered copy = %+v", arm)
	}
	if out, err := verify(dst.Ref("arm/team/app@" + mustDigest(t, children[1]))); err != nil {
		t.Errorf("the arm64 image's signature does not verify at the destination: %v\n%s", err, out)
	}
	if out, err := verify(dst.Ref("arm/team/app@" + arm.WrittenDigest)); err == nil {
		t.Errorf("the filtered index verified, but no signature can cover it:\n%s", out)
	}

	all := sync("all", "linux/amd64", "linux/arm64")
	if all.Outcome != OutcomeCopied || all.WrittenDigest != "" {
		t.Fatalf("copy keeping every platform = %+v, want the index as it is", all)
	}
	if out, err := verify(dst.Ref("all/team/app:multi")); err != nil {
		t.Errorf("the index's own signature does not verify at the destination: %v\n%s", err, out)
	}
}
