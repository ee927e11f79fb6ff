package cosigntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Version is the cosign release `make cosign` installs.
const Version = "v2.6.5"

// Binary returns the cosign CLI on PATH or in GOPATH/bin, failing the test
// when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "cosign")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("cosign not found on PATH or in GOPATH/bin: go install github.com/sigstore/cosign/v2/cmd/cosign@" + Version)
	return ""
}

// Key is a key pair of the kind `cosign generate-key-pair` makes.
type Key struct {
	Private *ecdsa.PrivateKey
	// PublicPEM is the public key as a cosign.pub file holds it, and as
	// spec.validation.cosign.publicKey takes it.
	PublicPEM string
}

// NewKey generates a key pair.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Private: k, PublicPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// Sign signs msg as cosign does with such a key: ECDSA (ASN.1) over its
// SHA-256.
func (k *Key) Sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k.Private, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// SimpleSigningPayload is what `cosign sign` signs in the tag scheme for
// the image ref@digest.
func SimpleSigningPayload(ref, digest string) []byte {
	return []byte(`{"critical":{"identity":{"docker-reference":"` + ref + `"},"image":{"docker-manifest-digest":"` +
		digest + `"},"type":"cosign container image signature"},"optional":null}`)
}
