package gate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// TestVerifySignature checks each key type the way sigstore signs with it.
func TestVerifySignature(t *testing.T) {
	msg := []byte(`{"critical":{"type":"cosign container image signature"}}`)
	sum256 := sha256.Sum256(msg)
	sum384 := sha512.Sum384(msg)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	must := func(sig []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	cases := []struct {
		name string
		pub  crypto.PublicKey
		sig  []byte
	}{
		{"ECDSA P-256 over SHA-256", &p256.PublicKey, must(ecdsa.SignASN1(rand.Reader, p256, sum256[:]))},
		{"ECDSA P-384 over SHA-384", &p384.PublicKey, must(ecdsa.SignASN1(rand.Reader, p384, sum384[:]))},
		{"RSA PKCS#1 v1.5", &rsaKey.PublicKey, must(rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, sum256[:]))},
		{"RSA PSS", &rsaKey.PublicKey, must(rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, sum256[:], nil))},
		{"Ed25519 over the message", edPub, ed25519.Sign(edKey, msg)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The key also goes through the PEM parsing a policy uses.
			der, err := x509.MarshalPKIXPublicKey(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			c, err := newCosignCheck(CosignPolicy{PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
			if err != nil {
				t.Fatal(err)
			}
			if err := verifySignature(c.key, msg, tc.sig); err != nil {
				t.Fatalf("good signature: %v", err)
			}
			if err := verifySignature(c.key, append(msg, ' '), tc.sig); err == nil {
				t.Fatal("signature verified over another message")
			}
			if err := verifySignature(&p256.PublicKey, msg, tc.sig); err == nil && tc.pub != &p256.PublicKey {
				t.Fatal("signature verified with another key")
			}
		})
	}
	if _, err := newCosignCheck(CosignPolicy{PublicKey: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"}); err == nil {
		t.Fatal("a certificate was accepted as a public key")
	}
}
