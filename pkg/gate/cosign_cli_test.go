//go:build cosign

// Opt-in test with the real cosign CLI (v2.6.5, `make test-cosign` installs
// it): the gates accept what cosign signs and attests, in every format
// cosign writes, and refuse it with another key.
//
//	go test -tags cosign -run Cosign ./pkg/gate/
//
// Everything is offline: keys are generated and nothing is uploaded to a
// transparency log.
package gate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portager/portager/internal/cosigntest"
	"github.com/portager/portager/pkg/syncer"
)

func TestCosignCLIArtifactsPassTheGates(t *testing.T) {
	bin := cosigntest.Binary(t)
	dir := t.TempDir()
	cosign := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--allow-http-registry", "--allow-insecure-registry")...)
		if args[0] == "generate-key-pair" {
			cmd = exec.Command(bin, args...)
		}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"), "COSIGN_PASSWORD=", "COSIGN_YES=true")
		cmd.Env = append(cmd.Env, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cosign(nil, "generate-key-pair")
	cosign(nil, "generate-key-pair", "--output-key-prefix", "other")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pub, otherPub := read("cosign.pub"), read("other.pub")
	sbom := filepath.Join(dir, "sbom.spdx.json")
	if err := os.WriteFile(sbom, []byte(`{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app","documentNamespace":"https://portager.io/test/app","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: test"]},"packages":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []struct {
		name         string
		referrersAPI bool
	}{{"referrers API", true}, {"referrers tag fallback", false}} {
		t.Run(mode.name, func(t *testing.T) {
			src := newTestRegistry(t, mode.referrersAPI)
			dst := newTestRegistry(t, mode.referrersAPI)
			ref := func(tag string) string {
				d, _ := src.pushImage("team/app", tag, tag == "index")
				return src.host + "/team/app@" + d.Digest.String()
			}
			// tag scheme: .sig and an SPDX attestation in .att
			v1 := ref("v1")
			cosign(nil, "sign", "--key", "cosign.key", "--tlog-upload=false", v1)
			cosign(nil, "attest", "--key", "cosign.key", "--tlog-upload=false", "--type", "spdxjson", "--predicate", sbom, v1)
			// sigstore bundles as OCI 1.1 referrers
			v2 := ref("v2")
			cosign(nil, "sign", "--key", "cosign.key", "--tlog-upload=false", "--new-bundle-format", v2)
			cosign(nil, "attest", "--key", "cosign.key", "--tlog-upload=false", "--new-bundle-format", "--type", "spdxjson", "--predicate", sbom, v2)
			// a legacy signature stored as an OCI 1.1 referrer
			v3 := ref("v3")
			cosign([]string{"COSIGN_EXPERIMENTAL=1"}, "sign", "--key", "cosign.key", "--tlog-upload=false", "--registry-referrers-mode=oci-1-1", v3)
			// cosign attach sbom (the .sbom tag), signed too
			v4 := ref("v4")
			cosign(nil, "sign", "--key", "cosign.key", "--tlog-upload=false", v4)
			cosign(nil, "attach", "sbom", "--sbom", sbom, "--type", "spdx", v4)
			// a multi-platform index signed at the top
			idx := ref("index")
			cosign(nil, "sign", "--key", "cosign.key", "--tlog-upload=false", "--recursive", idx)
			ref("unsigned")

			for _, tc := range []struct {
				tag  string
				p    Policy
				want string // "" copies; else a fragment of the verdict
			}{
				{"v1", Policy{Cosign: &CosignPolicy{PublicKey: pub}, RequireSBOM: true}, ""},
				{"v2", Policy{Cosign: &CosignPolicy{PublicKey: pub}, RequireSBOM: true}, ""},
				{"v3", Policy{Cosign: &CosignPolicy{PublicKey: pub}}, ""},
				{"v4", Policy{Cosign: &CosignPolicy{PublicKey: pub}, RequireSBOM: true}, ""},
				{"index", Policy{Cosign: &CosignPolicy{PublicKey: pub}}, ""},
				{"v1", Policy{Cosign: &CosignPolicy{PublicKey: otherPub}}, "cosign: no signature verifies with publicKey"},
				{"v2", Policy{Cosign: &CosignPolicy{PublicKey: otherPub}}, "cosign: no signature verifies with publicKey"},
				{"v3", Policy{Cosign: &CosignPolicy{PublicKey: otherPub}}, "cosign: no signature verifies with publicKey"},
				{"v3", Policy{RequireSBOM: true}, "sbom: no SPDX or CycloneDX SBOM attached"},
				{"unsigned", Policy{Cosign: &CosignPolicy{PublicKey: pub}}, "cosign: no signature found"},
			} {
				r := syncWith(t, src, dst, "team/app", tc.tag, tc.p)
				switch {
				case tc.want == "" && r.Outcome != syncer.OutcomeCopied && r.Outcome != syncer.OutcomeSkipped:
					t.Errorf("%s: %+v, want it copied", tc.tag, r)
				case tc.want != "" && (r.Reason != syncer.ReasonGateFailed || !strings.Contains(r.Message, tc.want)):
					t.Errorf("%s: %+v, want GateFailed %q", tc.tag, r, tc.want)
				}
			}
		})
	}
}
