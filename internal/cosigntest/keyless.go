package cosigntest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// The annotations cosign's keyless mode puts on a tag-scheme signature
// layer, next to the signature itself.
const (
	SignatureAnnotation   = "dev.cosignproject.cosign/signature"
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	RekorBundleAnnotation = "dev.sigstore.cosign/bundle"
)

// Sigstore is sigstore-go's VirtualSigstore: an in-process Fulcio CA,
// Rekor log, CT log and timestamp authority that stands in for the public
// instance, which tests cannot reach. It is also the trusted root
// (root.TrustedMaterial) to verify its signatures with.
type Sigstore struct {
	*ca.VirtualSigstore
}

// NewSigstore starts a virtual Sigstore.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &Sigstore{vs}
}

// SignatureAnnotations signs payload as identity (certified for issuer) the
// way keyless `cosign sign` does in the tag scheme, and returns the
// annotations of the signature layer that carries payload: the
// signature, the Fulcio certificate and the Rekor entry with its signed
// entry timestamp.
func (s *Sigstore) SignatureAnnotations(t testing.TB, identity, issuer string, payload []byte) map[string]string {
	t.Helper()
	e, err := s.Sign(identity, issuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	cert, sig, tle := s.parts(t, e)
	rekor, _ := json.Marshal(map[string]any{
		"SignedEntryTimestamp": tle.InclusionPromise.SignedEntryTimestamp,
		"Payload": map[string]any{
			"body":           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
			"integratedTime": tle.IntegratedTime,
			"logIndex":       tle.LogIndex,
			"logID":          hex.EncodeToString(tle.LogId.KeyId),
		},
	})
	return map[string]string{
		SignatureAnnotation:   base64.StdEncoding.EncodeToString(sig),
		CertificateAnnotation: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})),
		RekorBundleAnnotation: string(rekor),
	}
}

// DSSEBundle is what keyless `cosign sign --new-bundle-format` attaches: a
// sigstore bundle v0.3 with the certificate, the Rekor entry (inclusion
// proof and promise) and a DSSE envelope of statement (an in-toto
// statement, JSON).
func (s *Sigstore) DSSEBundle(t testing.TB, identity, issuer string, statement []byte) []byte {
	t.Helper()
	e, err := s.AttestAtTime(identity, issuer, statement, time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	cert, sig, tle := s.parts(t, e)
	raw, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: statement, PayloadType: "application/vnd.in-toto+json", Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// parts takes a signed entity apart: the leaf certificate (DER), the
// signature, and the log entry as a bundle holds it.
func (s *Sigstore) parts(t testing.TB, e *ca.TestEntity) (cert, sig []byte, tle *protorekor.TransparencyLogEntry) {
	t.Helper()
	vc, err := e.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := e.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := e.TlogEntries()
	if err != nil || len(entries) != 1 {
		t.Fatalf("tlog entries %v, %v", entries, err)
	}
	// VirtualSigstore's entry lacks what a bundle carries: the signed
	// entry timestamp (made here with its Rekor key, over what Rekor
	// signs) and the entry's kind and version (from its body).
	tle = entries[0].TransparencyLogEntry()
	set, err := s.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime, LogIndex: tle.LogIndex, LogID: hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		t.Fatal(err)
	}
	var kv struct{ Kind, APIVersion string }
	if err := json.Unmarshal(tle.CanonicalizedBody, &kv); err != nil {
		t.Fatal(err)
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	tle.KindVersion = &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion}
	return vc.(*sgbundle.Certificate).Certificate().Raw, sc.Signature(), tle
}
