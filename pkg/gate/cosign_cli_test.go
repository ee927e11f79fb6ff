//go:build cosign

// Opt-in test with the real cosign CLI (v2.6.5, `make test-cosign` installs
// it): the gates accept what cosign signs and attests, in every format
// cosign writes, and refuse it with another key.
//
//	go test -tags cosign -run Cosign ./pkg/gate/
//
// Everything is offline: keys are generated, and the one transparency log
// is a fake Rekor in the test.
package gate

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"

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
				return src.Host + "/team/app@" + d.Digest.String()
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

// TestCosignCLIKeylessPassesTheGate: the real cosign CLI signs keyless the
// way it does with a Fulcio certificate, here one issued by a virtual
// Sigstore's CA (the public Fulcio and Rekor cannot be reached from here),
// and uploads the signature to a fake Rekor that signs entries with the
// virtual Sigstore's log key. The keyless gate accepts it for the
// certificate's identity and refuses it for another.
func TestCosignCLIKeylessPassesTheGate(t *testing.T) {
	const issuer = "https://token.actions.githubusercontent.com"
	const identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	bin := cosigntest.Binary(t)
	dir := t.TempDir()
	vs := cosigntest.NewSigstore(t)
	rekor := newFakeRekor(t, vs)

	// The signing key and its Fulcio-style certificate for identity.
	leaf, priv, err := vs.GenerateLeafCert(identity, issuer)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, blocks ...*pem.Block) {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("leaf.key", &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	write("leaf.pem", &pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	fulcio := vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	write("chain.pem", &pem.Block{Type: "CERTIFICATE", Bytes: fulcio.Intermediates[0].Raw}, &pem.Block{Type: "CERTIFICATE", Bytes: fulcio.Root.Raw})

	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"), "COSIGN_PASSWORD=", "COSIGN_YES=true")
		return cmd.CombinedOutput()
	}
	cosign := func(args ...string) {
		t.Helper()
		if out, err := run(args...); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cosign("import-key-pair", "--key", "leaf.key", "--output-key-prefix", "keyless")

	src := newTestRegistry(t, true)
	dst := newTestRegistry(t, true)
	d, _ := src.pushImage("team/app", "v1", false)
	cosign("sign", "--key", "keyless.key", "--certificate", "leaf.pem", "--certificate-chain", "chain.pem",
		"--rekor-url", rekor.URL, "--allow-http-registry", "--allow-insecure-registry", src.Host+"/team/app@"+d.Digest.String())
	if rekor.entries.Load() != 1 {
		t.Fatalf("cosign made %d Rekor entries, want 1", rekor.entries.Load())
	}

	// cosign verify itself accepts the signature with the virtual
	// Sigstore's trusted root, certificate transparency included (the
	// certificate's SCT is from its CT log), and refuses it with the same
	// root less its CT log: so the certificates are what the gate must
	// check, not something only this project's code accepts.
	var trustedRoot map[string]any
	if err := json.Unmarshal(vs.TrustedRootJSON(t), &trustedRoot); err != nil {
		t.Fatal(err)
	}
	writeRoot := func(name string, doc map[string]any) {
		raw, _ := json.Marshal(doc)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeRoot("trusted_root.json", trustedRoot)
	delete(trustedRoot, "ctlogs")
	writeRoot("trusted_root_without_ct.json", trustedRoot)
	verify := func(root string) ([]byte, error) {
		return run("verify", "--trusted-root", root, "--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
			"--new-bundle-format=false", "--allow-http-registry", "--allow-insecure-registry", src.Host+"/team/app@"+d.Digest.String())
	}
	if out, err := verify("trusted_root.json"); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	if out, err := verify("trusted_root_without_ct.json"); err == nil || !bytes.Contains(out, []byte("0 SCT entries")) {
		t.Fatalf("cosign verify without the CT log in the trusted root: %v, want it refused for the SCT\n%s", err, out)
	}

	for _, tc := range []struct {
		identity string
		want     string
	}{
		{identity, ""},
		{"mallory@example.com", "expected SAN value"},
	} {
		r := syncWith(t, src, dst, "team/app", "v1", Policy{Cosign: &CosignPolicy{KeylessIssuer: issuer, KeylessIdentity: tc.identity, TrustedRoot: vs}})
		switch {
		case tc.want == "" && r.Outcome != syncer.OutcomeCopied && r.Outcome != syncer.OutcomeSkipped:
			t.Errorf("%s: %+v, want it copied", tc.identity, r)
		case tc.want != "" && (r.Reason != syncer.ReasonGateFailed || !strings.Contains(r.Message, tc.want)):
			t.Errorf("%s: %+v, want GateFailed %q", tc.identity, r, tc.want)
		}
	}
}

// fakeRekor answers cosign's upload (POST /api/v1/log/entries) as Rekor v1
// does, with an entry whose signed entry timestamp is made with the
// virtual Sigstore's log key.
type fakeRekor struct {
	*httptest.Server
	entries atomic.Int32
}

func newFakeRekor(t *testing.T, vs *cosigntest.Sigstore) *fakeRekor {
	f := &fakeRekor{}
	logID, err := vs.RekorLogID()
	if err != nil {
		t.Fatal(err)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
			http.NotFound(w, r)
			return
		}
		var proposed json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&proposed); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var body bytes.Buffer
		if err := json.Compact(&body, proposed); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := int64(f.entries.Add(1))
		p := tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body.Bytes()), IntegratedTime: time.Now().Unix(), LogIndex: n, LogID: logID}
		set, err := vs.RekorSignPayload(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{fmt.Sprintf("%064x", n): map[string]any{
			"body": p.Body, "integratedTime": p.IntegratedTime, "logID": logID, "logIndex": n,
			"verification": map[string]any{"signedEntryTimestamp": base64.StdEncoding.EncodeToString(set)},
		}})
	}))
	t.Cleanup(f.Close)
	return f
}
