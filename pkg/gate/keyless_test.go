package gate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portager/portager/internal/cosigntest"
)

const (
	testIssuer   = "https://token.actions.githubusercontent.com"
	testIdentity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
)

// keylessLayer is the tag-scheme signature layer keyless cosign writes for
// payload, signed through s as identity.
func keylessLayer(t *testing.T, s *cosigntest.Sigstore, identity, issuer string, payload []byte) layer {
	return layer{mediaType: simpleSigningMediaType, data: payload, annotations: s.SignatureAnnotations(t, identity, issuer, payload)}
}

// keylessBundle is keyless cosign's sigstore bundle for d.
func keylessBundle(t *testing.T, s *cosigntest.Sigstore, identity, issuer string, d v1.Hash) []byte {
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": d.Hex}}},
		"predicateType": cosignSignPredicate,
		"predicate":     map[string]any{},
	})
	return s.DSSEBundle(t, identity, issuer, stmt)
}

func TestKeylessGate(t *testing.T) {
	vs := cosigntest.NewSigstore(t)
	untrusted := cosigntest.NewSigstore(t)
	keyless := func(issuer, identity, re string) func(*fixture) Policy {
		return func(*fixture) Policy {
			return Policy{Cosign: &CosignPolicy{KeylessIssuer: issuer, KeylessIdentity: identity, KeylessIdentityRegexp: re, TrustedRoot: vs}}
		}
	}
	sigTag := func(s *cosigntest.Sigstore, identity, issuer string, payloadDigest func(*fixture) v1.Hash) func(*fixture) {
		return func(f *fixture) {
			d := f.desc.Digest
			f.src.artifact(f.repo, d.Algorithm+"-"+d.Hex+".sig", "", nil, nil, keylessLayer(t, s, identity, issuer, simpleSigningPayload(f.ref(), payloadDigest(f))))
		}
	}
	self := func(f *fixture) v1.Hash { return f.desc.Digest }
	cases := []struct {
		name    string
		policy  func(*fixture) Policy
		arrange func(*fixture)
		want    string // "" for a copy, else a fragment of the verdict
	}{
		{name: "tag-scheme signature of the identity verifies",
			policy: keyless(testIssuer, testIdentity, ""), arrange: sigTag(vs, testIdentity, testIssuer, self)},
		{name: "identity regexp",
			policy: keyless(testIssuer, "", `^https://github\.com/acme/`), arrange: sigTag(vs, testIdentity, testIssuer, self)},
		{name: "issuer only accepts any signer of that issuer",
			policy: keyless(testIssuer, "", ""), arrange: sigTag(vs, "mallory@example.com", testIssuer, self)},
		{name: "another identity",
			policy: keyless(testIssuer, testIdentity, ""), arrange: sigTag(vs, "mallory@example.com", testIssuer, self),
			want: "cosign: no keyless signature from " + testIssuer + " verifies (1 checked; last: failed to verify certificate identity: no matching CertificateIdentity found, last error: expected SAN value"},
		{name: "identity regexp does not match",
			policy: keyless(testIssuer, "", `^https://github\.com/acme/`), arrange: sigTag(vs, "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", testIssuer, self),
			want: "expected SAN value to match regex"},
		{name: "another issuer",
			policy: keyless(testIssuer, testIdentity, ""), arrange: sigTag(vs, testIdentity, "https://accounts.google.com", self),
			want: "expected issuer value"},
		{name: "certificate from a CA outside the trusted root",
			policy: keyless(testIssuer, testIdentity, ""), arrange: sigTag(untrusted, testIdentity, testIssuer, self),
			want: "not enough verified log entries"},
		{name: "certificate without an SCT",
			policy: keyless(testIssuer, testIdentity, ""), arrange: sigTag(vs.WithSCT(cosigntest.NoSCT), testIdentity, testIssuer, self),
			want: "only able to verify 0 SCT entries"},
		{name: "certificate with an SCT from a log outside the trusted root",
			policy: keyless(testIssuer, testIdentity, ""), arrange: sigTag(vs.WithSCT(cosigntest.SCTFromUnknownLog), testIdentity, testIssuer, self),
			want: "only able to verify 0 SCT entries"},
		{name: "signed payload names another image",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: sigTag(vs, testIdentity, testIssuer, func(*fixture) v1.Hash {
				h, _ := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
				return h
			}),
			want: "signature is for another image"},
		{name: "no transparency log entry",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: func(f *fixture) {
				l := keylessLayer(t, vs, testIdentity, testIssuer, simpleSigningPayload(f.ref(), f.desc.Digest))
				delete(l.annotations, rekorBundleAnnotation)
				f.src.artifact(f.repo, f.desc.Digest.Algorithm+"-"+f.desc.Digest.Hex+".sig", "", nil, nil, l)
			},
			want: "no transparency log entry"},
		{name: "log entry of another signature",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: func(f *fixture) {
				p := simpleSigningPayload(f.ref(), f.desc.Digest)
				l := keylessLayer(t, vs, testIdentity, testIssuer, p)
				l.annotations[rekorBundleAnnotation] = vs.SignatureAnnotations(t, testIdentity, testIssuer, p)[rekorBundleAnnotation]
				f.src.artifact(f.repo, f.desc.Digest.Algorithm+"-"+f.desc.Digest.Hex+".sig", "", nil, nil, l)
			},
			want: "transparency log signature does not match"},
		{name: "a key-based signature is not keyless",
			policy: keyless(testIssuer, testIdentity, ""), arrange: func(f *fixture) { f.sigTag(f.key, f.desc.Digest, f.desc.Digest) },
			want: "no Fulcio certificate"},
		{name: "sigstore bundle referrer",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: keylessBundle(t, vs, testIdentity, testIssuer, f.desc.Digest)})
			}},
		{name: "sigstore bundle of another identity",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: keylessBundle(t, vs, "mallory@example.com", testIssuer, f.desc.Digest)})
			},
			want: "expected SAN value"},
		{name: "sigstore bundle whose certificate has no SCT",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: keylessBundle(t, vs.WithSCT(cosigntest.NoSCT), testIdentity, testIssuer, f.desc.Digest)})
			},
			want: "only able to verify 0 SCT entries"},
		{name: "sigstore bundle about another image",
			policy: keyless(testIssuer, testIdentity, ""),
			arrange: func(f *fixture) {
				other, _ := v1.NewHash("sha256:" + strings.Repeat("cd", 32))
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: keylessBundle(t, vs, testIdentity, testIssuer, other)})
			},
			want: "artifact digest does not match"},
		{name: "without a trusted root keyless fails closed",
			policy:  func(*fixture) Policy { return Policy{Cosign: &CosignPolicy{KeylessIssuer: testIssuer}} },
			arrange: sigTag(vs, testIdentity, testIssuer, self),
			want:    "keyless verification is not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, dst := newFixture(t, true, false)
			tc.arrange(f)
			res := syncWith(t, f.src, dst, f.repo, fixtureTag, tc.policy(f))
			if tc.want == "" {
				if res.Outcome != "Copied" {
					t.Fatalf("want a copy, got %s %s: %s", res.Outcome, res.Reason, res.Message)
				}
				return
			}
			if res.Reason != "GateFailed" || !strings.Contains(res.Message, tc.want) {
				t.Fatalf("want GateFailed with %q, got %s %s: %s", tc.want, res.Outcome, res.Reason, res.Message)
			}
			if dst.has(f.repo, fixtureTag) {
				t.Fatal("a refused image reached the destination")
			}
		})
	}
}

// withoutCTLogs is a trusted root whose CT logs are left out.
type withoutCTLogs struct{ root.TrustedMaterial }

func (withoutCTLogs) CTLogs() map[string]*root.TransparencyLog { return nil }

// TestLoadTrustedRoot: the built-in public-good root parses and has
// Fulcio, Rekor and CT log material; a file replaces it, and one without a
// CT log is refused.
func TestLoadTrustedRoot(t *testing.T) {
	tr, err := LoadTrustedRoot("")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 || len(tr.RekorLogs()) == 0 || len(tr.CTLogs()) == 0 {
		t.Fatalf("built-in root: %d Fulcio CAs, %d Rekor logs, %d CT logs", len(tr.FulcioCertificateAuthorities()), len(tr.RekorLogs()), len(tr.CTLogs()))
	}
	if _, err := LoadTrustedRoot("/nonexistent/trusted_root.json"); err == nil || !strings.Contains(err.Error(), "reading the Sigstore trusted root") {
		t.Fatalf("missing file: %v", err)
	}
	// The built-in root with its CT logs taken out.
	var doc map[string]any
	if err := json.Unmarshal(publicGoodTrustedRoot, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "ctlogs")
	noCT, _ := json.Marshal(doc)
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, noCT, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrustedRoot(p); err == nil || !strings.Contains(err.Error(), p+": the Sigstore trusted root lists no certificate transparency log") {
		t.Fatalf("root without CT logs: %v", err)
	}
}

// TestKeylessPolicyErrors: policies that cannot be checked are refused
// when the gate is built, not turned into a gate that accepts anyone.
func TestKeylessPolicyErrors(t *testing.T) {
	vs := cosigntest.NewSigstore(t)
	for _, tc := range []struct {
		name string
		p    CosignPolicy
		want string
	}{
		{"no issuer", CosignPolicy{KeylessIdentity: testIdentity, TrustedRoot: vs}, "keylessIssuer is required"},
		{"bad identity regexp", CosignPolicy{KeylessIssuer: testIssuer, KeylessIdentityRegexp: "(", TrustedRoot: vs}, "keyless identity"},
		{"trusted root without a CT log", CosignPolicy{KeylessIssuer: testIssuer, TrustedRoot: withoutCTLogs{vs}}, "lists no certificate transparency log"},
	} {
		if _, err := New(Policy{Cosign: &tc.p}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
