package cosigntest

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"
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
