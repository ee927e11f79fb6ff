package gate

import (
	"net/http"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

// fixture is the source image of a case; arrange attaches artifacts to it.
type fixture struct {
	t        *testing.T
	src      *testRegistry
	repo     string
	desc     v1.Descriptor
	children []v1.Descriptor
	key      *signer
	other    *signer
}

func (f *fixture) ref() string { return f.src.Host + "/" + f.repo }

// fixtureTag is the tag of the fixture's image.
const fixtureTag = "1.0"

// newFixture starts a source and a destination registry (with or without
// the referrers API) and pushes the source image, an index when index is
// set, as team/app:1.0.
func newFixture(t *testing.T, referrersAPI, index bool) (*fixture, *testRegistry) {
	t.Helper()
	src := newTestRegistry(t, referrersAPI)
	f := &fixture{t: t, src: src, repo: "team/app", key: newSigner(t), other: newSigner(t)}
	f.desc, f.children = src.pushImage(f.repo, fixtureTag, index)
	return f, newTestRegistry(t, referrersAPI)
}

// sigTag pushes cosign's tag-scheme signature of d made with s.
func (f *fixture) sigTag(s *signer, d v1.Hash, payloadDigest v1.Hash) {
	f.src.artifact(f.repo, d.Algorithm+"-"+d.Hex+".sig", "", nil, nil, s.signatureLayer(f.t, simpleSigningPayload(f.ref(), payloadDigest)))
}

// referrer pushes an OCI 1.1 referrer of subject and, when the registry
// has no referrers API, records it in the fallback tag index.
func (f *fixture) referrer(referrersAPI bool, subject v1.Descriptor, artifactType string, annotations map[string]string, layers ...layer) {
	d := f.src.artifact(f.repo, "", artifactType, &subject, annotations, layers...)
	if !referrersAPI {
		f.src.fallbackIndex(f.repo, subject.Digest, d)
	}
}

// sarif is a minimal SARIF 2.1.0 log with one result per finding, each
// given as "ID=security-severity" (a CVSS score) or "ID@level".
func sarif(findings ...string) []byte {
	var rules, results []string
	for _, f := range findings {
		if id, lvl, ok := strings.Cut(f, "@"); ok {
			rules = append(rules, `{"id":"`+id+`"}`)
			results = append(results, `{"ruleId":"`+id+`","level":"`+lvl+`","message":{"text":"x"}}`)
			continue
		}
		id, score, _ := strings.Cut(f, "=")
		rules = append(rules, `{"id":"`+id+`","properties":{"security-severity":"`+score+`","tags":["vulnerability","security"]}}`)
		results = append(results, `{"ruleId":"`+id+`","level":"error","message":{"text":"x"}}`)
	}
	return []byte(`{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"tool":{"driver":{"name":"Trivy","rules":[` +
		strings.Join(rules, ",") + `]}},"results":[` + strings.Join(results, ",") + `]}]}`)
}

var (
	spdxLayer      = layer{mediaType: "application/spdx+json", data: []byte(`{"spdxVersion":"SPDX-2.3"}`)}
	cyclonedxLayer = layer{mediaType: "application/vnd.cyclonedx+json", data: []byte(`{"bomFormat":"CycloneDX"}`)}
)

func sarifLayer(findings ...string) layer {
	return layer{mediaType: sarifMediaType, data: sarif(findings...)}
}

func TestGates(t *testing.T) {
	high := &VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityHigh, RequireReport: true}
	cases := []struct {
		name         string
		referrersAPI bool
		index        bool
		policy       func(f *fixture) Policy
		arrange      func(f *fixture)
		// want is "" for a copy, else a fragment of the GateFailed message.
		want string
	}{
		// cosign, key-based
		{name: "tag-scheme signature verifies", referrersAPI: true,
			policy:  func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) { f.sigTag(f.key, f.desc.Digest, f.desc.Digest) }},
		{name: "signature by another key", referrersAPI: true,
			policy:  func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) { f.sigTag(f.other, f.desc.Digest, f.desc.Digest) },
			want:    "cosign: no signature verifies with publicKey (1 checked"},
		{name: "no signature", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			want:   "cosign: no signature found"},
		{name: "signed payload names another image", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				other, _ := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
				f.sigTag(f.key, f.desc.Digest, other)
			},
			want: "signature is for another image, sha256:abababababab"},
		{name: "payload swapped under a valid signature", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				l := f.key.signatureLayer(f.t, simpleSigningPayload("elsewhere", f.desc.Digest))
				l.data = simpleSigningPayload(f.ref(), f.desc.Digest)
				f.src.artifact(f.repo, f.desc.Digest.Algorithm+"-"+f.desc.Digest.Hex+".sig", "", nil, nil, l)
			},
			want: "signature does not verify"},
		{name: "one of two signatures verifies", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				p := simpleSigningPayload(f.ref(), f.desc.Digest)
				f.src.artifact(f.repo, f.desc.Digest.Algorithm+"-"+f.desc.Digest.Hex+".sig", "", nil, nil, f.other.signatureLayer(f.t, p), f.key.signatureLayer(f.t, p))
			}},
		{name: "sigstore bundle referrer (referrers API)", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: f.key.dsseBundle(f.t, f.desc.Digest, cosignSignPredicate)})
			}},
		{name: "sigstore bundle referrer (fallback tag)", referrersAPI: false,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				f.referrer(false, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: f.key.dsseBundle(f.t, f.desc.Digest, cosignSignPredicate)})
			}},
		{name: "bundle by another key", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: f.other.dsseBundle(f.t, f.desc.Digest, cosignSignPredicate)})
			},
			want: "DSSE signature does not verify"},
		{name: "an attestation is not a signature", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: f.key.dsseBundle(f.t, f.desc.Digest, "https://spdx.dev/Document")})
			},
			want: "cosign: no signature found"},
		{name: "legacy signature stored as a referrer", referrersAPI: true,
			policy: func(f *fixture) Policy { return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, cosignSigArtifactType, nil, f.key.signatureLayer(f.t, simpleSigningPayload(f.ref(), f.desc.Digest)))
			}},
		{name: "keyless without trust roots fails closed", referrersAPI: true,
			policy: func(f *fixture) Policy {
				return Policy{Cosign: &CosignPolicy{KeylessIssuer: "https://token.actions.githubusercontent.com"}}
			},
			arrange: func(f *fixture) { f.sigTag(f.key, f.desc.Digest, f.desc.Digest) },
			want:    "keyless verification is not available"},

		// SBOM
		{name: "SPDX referrer", referrersAPI: true,
			policy:  func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) { f.referrer(true, f.desc, "application/spdx+json", nil, spdxLayer) }},
		{name: "CycloneDX referrer (fallback tag)", referrersAPI: false,
			policy:  func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) { f.referrer(false, f.desc, "application/vnd.cyclonedx+json", nil, cyclonedxLayer) }},
		{name: "cosign attach sbom tag", referrersAPI: true,
			policy: func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) {
				f.src.artifact(f.repo, f.desc.Digest.Algorithm+"-"+f.desc.Digest.Hex+".sbom", "", nil, nil, spdxLayer)
			}},
		{name: "SBOM attestation bundle", referrersAPI: true,
			policy: func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, bundleArtifactType, nil, layer{mediaType: bundleArtifactType, data: f.key.dsseBundle(f.t, f.desc.Digest, "https://spdx.dev/Document")})
			}},
		{name: "SBOM attestation in the .att tag", referrersAPI: true,
			policy: func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) {
				f.src.artifact(f.repo, f.desc.Digest.Algorithm+"-"+f.desc.Digest.Hex+".att", "", nil, nil,
					layer{mediaType: "application/vnd.dsse.envelope.v1+json", data: []byte(`{}`), annotations: map[string]string{"predicateType": "https://cyclonedx.org/bom"}})
			}},
		{name: "only a signature, no SBOM", referrersAPI: true,
			policy:  func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) { f.sigTag(f.key, f.desc.Digest, f.desc.Digest) },
			want:    "sbom: no SPDX or CycloneDX SBOM attached"},
		{name: "index with an SBOM per platform", referrersAPI: true, index: true,
			policy: func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) {
				for _, c := range f.children {
					f.referrer(true, c, "application/spdx+json", nil, spdxLayer)
				}
			}},
		{name: "index with a platform missing its SBOM", referrersAPI: true, index: true,
			policy:  func(*fixture) Policy { return Policy{RequireSBOM: true} },
			arrange: func(f *fixture) { f.referrer(true, f.children[0], "application/spdx+json", nil, spdxLayer) },
			want:    "attached to the index or its platform image sha256:"},

		// vulnerability
		{name: "finding at the limit blocks", referrersAPI: true,
			policy: func(*fixture) Policy { return Policy{Vulnerability: high} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, sarifMediaType, nil, sarifLayer("CVE-2024-0001=7.5", "CVE-2024-0002=3.1"))
			},
			want: "vulnerability: 1 findings at or above high: CVE-2024-0001 (high)"},
		{name: "findings below the limit pass", referrersAPI: true,
			policy: func(*fixture) Policy {
				return Policy{Vulnerability: &VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityCritical, RequireReport: true}}
			},
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, sarifMediaType, nil, sarifLayer("CVE-2024-0001=8.8", "GHSA-xxxx@warning"))
			}},
		{name: "level only: error is high", referrersAPI: false,
			policy:  func(*fixture) Policy { return Policy{Vulnerability: high} },
			arrange: func(f *fixture) { f.referrer(false, f.desc, sarifMediaType, nil, sarifLayer("CVE-2024-0003@error")) },
			want:    "CVE-2024-0003 (high)"},
		{name: "newest report wins", referrersAPI: true,
			policy: func(*fixture) Policy { return Policy{Vulnerability: high} },
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, sarifMediaType, map[string]string{"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}, sarifLayer("CVE-2024-0004=9.8"))
				f.referrer(true, f.desc, sarifMediaType, map[string]string{"org.opencontainers.image.created": "2026-02-01T00:00:00Z"}, sarifLayer("CVE-2024-0005=2.0"))
			}},
		{name: "no report, required", referrersAPI: true,
			policy: func(*fixture) Policy { return Policy{Vulnerability: high} },
			want:   "vulnerability: no SARIF report attached (requireCveReport)"},
		{name: "no report, not required", referrersAPI: true,
			policy: func(*fixture) Policy {
				return Policy{Vulnerability: &VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityHigh}}
			}},
		{name: "unreadable report fails closed", referrersAPI: true,
			policy: func(*fixture) Policy {
				return Policy{Vulnerability: &VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityCritical}}
			},
			arrange: func(f *fixture) {
				f.referrer(true, f.desc, sarifMediaType, nil, layer{mediaType: sarifMediaType, data: []byte("<html>")})
			},
			want: "is unreadable: not a JSON document"},
		{name: "index reports per platform", referrersAPI: true, index: true,
			policy: func(*fixture) Policy { return Policy{Vulnerability: high} },
			arrange: func(f *fixture) {
				f.referrer(true, f.children[0], sarifMediaType, nil, sarifLayer("CVE-2024-0006=5.0"))
				f.referrer(true, f.children[1], sarifMediaType, nil, sarifLayer("CVE-2024-0007=9.1"))
			},
			want: "CVE-2024-0007 (critical)"},

		{name: "index: a platform without a report does not hide another's findings", referrersAPI: true, index: true,
			policy: func(*fixture) Policy {
				return Policy{Vulnerability: &VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityHigh}}
			},
			arrange: func(f *fixture) {
				f.referrer(true, f.children[1], sarifMediaType, nil, sarifLayer("CVE-2024-0009=9.9"))
			},
			want: "CVE-2024-0009 (critical)"},
		{name: "index: a platform without a report, required", referrersAPI: true, index: true,
			policy: func(*fixture) Policy { return Policy{Vulnerability: high} },
			arrange: func(f *fixture) {
				f.referrer(true, f.children[1], sarifMediaType, nil, sarifLayer("CVE-2024-0010=1.0"))
			},
			want: "no SARIF report attached (requireCveReport)"},

		// all gates at once: every reason is reported
		{name: "every failing gate is named", referrersAPI: true,
			policy: func(f *fixture) Policy {
				return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}, RequireSBOM: true, Vulnerability: high}
			},
			want: "cosign: no signature found"},
		{name: "all gates pass", referrersAPI: true,
			policy: func(f *fixture) Policy {
				return Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}, RequireSBOM: true, Vulnerability: high}
			},
			arrange: func(f *fixture) {
				f.sigTag(f.key, f.desc.Digest, f.desc.Digest)
				f.referrer(true, f.desc, "application/spdx+json", nil, spdxLayer)
				f.referrer(true, f.desc, sarifMediaType, nil, sarifLayer("CVE-2024-0008=4.0"))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, dst := newFixture(t, tc.referrersAPI, tc.index)
			if tc.arrange != nil {
				tc.arrange(f)
			}
			r := syncWith(t, f.src, dst, f.repo, fixtureTag, tc.policy(f))
			if r.Digest != f.desc.Digest.String() {
				t.Fatalf("gated digest %s, want %s", r.Digest, f.desc.Digest)
			}
			if tc.want == "" {
				if r.Outcome != syncer.OutcomeCopied {
					t.Fatalf("result = %+v, want Copied", r)
				}
				if !dst.has(f.repo, fixtureTag) {
					t.Fatalf("not at the destination")
				}
				return
			}
			if r.Outcome != syncer.OutcomeFailed || r.Reason != syncer.ReasonGateFailed || r.Transient {
				t.Fatalf("result = %+v, want GateFailed", r)
			}
			if !strings.Contains(r.Message, tc.want) {
				t.Fatalf("message %q, want it to contain %q", r.Message, tc.want)
			}
			if dst.has(f.repo, fixtureTag) || dst.has(f.repo, f.desc.Digest.String()) {
				t.Fatalf("a blocked image reached the destination")
			}
		})
	}
}

// TestEveryVerdictListed: with all three gates failing, the message names
// each one.
func TestEveryVerdictListed(t *testing.T) {
	f, dst := newFixture(t, true, false)
	src := f.src
	r := syncWith(t, src, dst, f.repo, fixtureTag, Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}, RequireSBOM: true,
		Vulnerability: &VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityLow, RequireReport: true}})
	for _, want := range []string{"cosign: ", "; sbom: ", "; vulnerability: "} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message %q lacks %q", r.Message, want)
		}
	}
}

// TestRegistryErrorIsNotAVerdict: a source that fails while a gate reads
// it gives a transient result, retried later, not a failed verification.
func TestRegistryErrorIsNotAVerdict(t *testing.T) {
	f, dst := newFixture(t, true, false)
	src := f.src
	f.sigTag(f.key, f.desc.Digest, f.desc.Digest)
	src.failWhen(func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/blobs/") })
	r := syncWith(t, src, dst, f.repo, fixtureTag, Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}})
	if r.Outcome != syncer.OutcomeFailed || r.Reason == syncer.ReasonGateFailed || !r.Transient {
		t.Fatalf("result = %+v, want a transient registry failure", r)
	}
	if dst.has(f.repo, fixtureTag) {
		t.Fatal("copied without verification")
	}
	src.failWhen(nil)
	if r := syncWith(t, src, dst, f.repo, fixtureTag, Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}}); r.Outcome != syncer.OutcomeCopied {
		t.Fatalf("after recovery: %+v", r)
	}
}

// TestGateRequestsPerTag: a gate reads each attachment once per tag, and an
// up-to-date tag is still verified (a revoked signature must show).
func TestGateRequestsPerTag(t *testing.T) {
	f, dst := newFixture(t, true, false)
	src := f.src
	f.sigTag(f.key, f.desc.Digest, f.desc.Digest)
	f.referrer(true, f.desc, "application/spdx+json", nil, spdxLayer)
	p := Policy{Cosign: &CosignPolicy{PublicKey: f.key.PublicPEM}, RequireSBOM: true}
	if r := syncWith(t, src, dst, f.repo, fixtureTag, p); r.Outcome != syncer.OutcomeCopied {
		t.Fatalf("first sync: %+v", r)
	}
	src.Reset()
	if r := syncWith(t, src, dst, f.repo, fixtureTag, p); r.Outcome != syncer.OutcomeSkipped {
		t.Fatalf("second sync: %+v", r)
	}
	// HEAD of the tag; one GET of the .sig tag; its payload blob; one
	// referrers list shared by both gates, and the SBOM referrer's
	// manifest, because this registry lists artifacts by config media type
	// (the empty type) instead of their artifactType.
	if got := len(src.Requests()); got != 5 {
		t.Errorf("source requests for an up-to-date gated tag = %d, want 5", got)
	}
}

// TestReferrersBounded: a source with a hundred referrers that must each be
// read to learn their type costs at most maxReferrers manifest reads.
func TestReferrersBounded(t *testing.T) {
	f, dst := newFixture(t, false, false)
	src := f.src
	var refs []v1.Descriptor
	for i := 0; i < 100; i++ {
		d := src.artifact(f.repo, "", "", &f.desc, map[string]string{"n": strings.Repeat("x", i)}, layer{mediaType: "application/octet-stream", data: []byte{byte(i)}})
		d.ArtifactType = "" // as listed by a registry that reports only config media types
		refs = append(refs, d)
	}
	src.fallbackIndex(f.repo, f.desc.Digest, refs...)
	src.Reset()
	r := syncWith(t, src, dst, f.repo, fixtureTag, Policy{RequireSBOM: true})
	if r.Reason != syncer.ReasonGateFailed {
		t.Fatalf("result = %+v", r)
	}
	// HEAD of the tag, the fallback index, the manifests read to type
	// referrers, and the .sbom and .att tags.
	if got := len(src.Requests()); got > 64+5 {
		t.Fatalf("%d source requests, want at most %d", got, 64+5)
	}
}
