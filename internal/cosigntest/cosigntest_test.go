package cosigntest

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

func TestKeySignsVerifiably(t *testing.T) {
	k := NewKey(t)
	block, _ := pem.Decode([]byte(k.PublicPEM))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("PublicPEM = %q", k.PublicPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	msg := SimpleSigningPayload("example.com/app", "sha256:abc")
	sum := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum[:], k.Sign(t, msg)) {
		t.Fatal("signature does not verify with PublicPEM")
	}
	var p map[string]map[string]any
	if err := json.Unmarshal(msg, &p); err != nil {
		t.Fatalf("payload %s: %v", msg, err)
	}
	if img, _ := p["critical"]["image"].(map[string]any); img["docker-manifest-digest"] != "sha256:abc" || p["critical"]["type"] != "cosign container image signature" {
		t.Fatalf("payload %s", msg)
	}
}

// TestSigstoreSCTs: the certificates a Sigstore issues carry the SCT it is
// asked for, checked as sigstore-go checks them against its trusted root.
func TestSigstoreSCTs(t *testing.T) {
	s := NewSigstore(t)
	for _, tc := range []struct {
		name    string
		sct     SCT
		wantErr string // "" when the SCT verifies
	}{
		{"from the trusted root's log", SCTFromLog, ""},
		{"none", NoSCT, "only able to verify 0 SCT entries"},
		{"from another log", SCTFromUnknownLog, "only able to verify 0 SCT entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf, _, err := s.WithSCT(tc.sct).GenerateLeafCert("dev@example.com", "https://issuer.example.com")
			if err != nil {
				t.Fatal(err)
			}
			fulcio := s.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
			chain := [][]*x509.Certificate{{leaf, fulcio.Intermediates[0], fulcio.Root}}
			err = verify.VerifySignedCertificateTimestamp(chain, 1, s)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("SCT: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("SCT: %v, want %q", err, tc.wantErr)
			}
		})
	}
}
