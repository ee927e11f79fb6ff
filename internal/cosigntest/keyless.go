package cosigntest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"slices"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/pki"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// The annotations cosign's keyless mode puts on a tag-scheme signature
// layer, next to the signature itself.
const (
	SignatureAnnotation   = "dev.cosignproject.cosign/signature"
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	RekorBundleAnnotation = "dev.sigstore.cosign/bundle"
)

// Sigstore stands in for the public Sigstore instance, which tests cannot
// reach. Its Fulcio CA issues short-lived certificates that carry a signed
// certificate timestamp (SCT) from its certificate transparency log, as the
// public Fulcio's do; sigstore-go's VirtualSigstore keeps its Rekor log and
// timestamp authority. It is also the trusted root (root.TrustedMaterial) to
// verify its signatures with.
type Sigstore struct {
	rekor     *ca.VirtualSigstore // Rekor and the TSA; its own Fulcio CA is unused
	fulcio    *root.FulcioCertificateAuthority
	fulcioKey *ecdsa.PrivateKey
	ctLog     *ecdsa.PrivateKey // the CT log the trusted root lists
	otherLog  *ecdsa.PrivateKey // a CT log it does not
	created   time.Time
	sct       SCT
}

var _ root.TrustedMaterial = &Sigstore{}

// SCT says which signed certificate timestamp the certificates a Sigstore
// issues carry.
type SCT int

const (
	// SCTFromLog: one from the CT log of the trusted root, as the public
	// Fulcio's certificates carry.
	SCTFromLog SCT = iota
	// NoSCT: none, as from a Fulcio that skips certificate transparency.
	NoSCT
	// SCTFromUnknownLog: one from a CT log the trusted root does not list.
	SCTFromUnknownLog
)

// NewSigstore starts a virtual Sigstore.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	intermediate, intermediateKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := &Sigstore{
		rekor: vs,
		fulcio: &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{intermediate},
			ValidityPeriodStart: now.Add(-time.Hour)},
		fulcioKey: intermediateKey,
		created:   now,
	}
	for _, k := range []**ecdsa.PrivateKey{&s.ctLog, &s.otherLog} {
		if *k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// WithSCT returns s issuing certificates with sct instead: the same CA,
// logs and trusted root.
func (s *Sigstore) WithSCT(sct SCT) *Sigstore {
	c := *s
	c.sct = sct
	return &c
}

// FulcioCertificateAuthorities is the trusted root's Fulcio CA.
func (s *Sigstore) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{s.fulcio}
}

// CTLogs is the trusted root's CT log (not the unknown one).
func (s *Sigstore) CTLogs() map[string]*root.TransparencyLog {
	id, err := logID(&s.ctLog.PublicKey)
	if err != nil {
		panic(err)
	}
	return map[string]*root.TransparencyLog{hex.EncodeToString(id[:]): {
		BaseURL: "ctlog.localhost", ID: id[:], HashFunc: crypto.SHA256, PublicKey: &s.ctLog.PublicKey,
		ValidityPeriodStart: s.created.Add(-time.Hour),
	}}
}

// RekorLogs is the trusted root's Rekor log.
func (s *Sigstore) RekorLogs() map[string]*root.TransparencyLog { return s.rekor.RekorLogs() }

// TimestampingAuthorities is the trusted root's timestamp authority.
func (s *Sigstore) TimestampingAuthorities() []root.TimestampingAuthority {
	return s.rekor.TimestampingAuthorities()
}

// PublicKeyVerifier serves trusted public keys, of which there are none.
func (s *Sigstore) PublicKeyVerifier(keyID string) (root.TimeConstrainedVerifier, error) {
	return s.rekor.PublicKeyVerifier(keyID)
}

// TrustedRootJSON is s's trusted root as a trusted_root.json file holds
// it, for `cosign verify --trusted-root`: the Fulcio CA, the Rekor log and
// the CT log.
func (s *Sigstore) TrustedRootJSON(t testing.TB) []byte {
	t.Helper()
	// VirtualSigstore's Rekor log has its hex ID's characters as its ID;
	// a trusted_root.json names a log by the ID's bytes.
	rekor := map[string]*root.TransparencyLog{}
	for id, l := range s.RekorLogs() {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c := *l
		c.ID = raw
		rekor[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.FulcioCertificateAuthorities(), s.CTLogs(), nil, rekor)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// RekorLogID is the hex log ID Rekor entries name.
func (s *Sigstore) RekorLogID() (string, error) { return s.rekor.RekorLogID() }

// RekorSignPayload signs a Rekor entry's signed entry timestamp.
func (s *Sigstore) RekorSignPayload(p tlog.RekorPayload) ([]byte, error) {
	return s.rekor.RekorSignPayload(p)
}

// GenerateLeafCert issues a Fulcio certificate for identity, as certified
// by the OIDC issuer, valid from a minute ago for ten minutes, with the
// SCT s.sct asks for, and returns it with its private key. Its chain is
// FulcioCertificateAuthorities()[0]'s intermediate and root.
func (s *Sigstore) GenerateLeafCert(identity, issuer string) (*x509.Certificate, crypto.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(now.UnixNano()),
		EmailAddresses:  []string{identity},
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: oidFulcioIssuer, Value: []byte(issuer)}},
	}
	if s.sct != NoSCT {
		log := s.ctLog
		if s.sct == SCTFromUnknownLog {
			log = s.otherLog
		}
		// As Fulcio does: the log signs a precertificate, which is the
		// certificate with CT's poison extension where the SCT list goes.
		pre := *tmpl
		pre.ExtraExtensions = append(slices.Clip(tmpl.ExtraExtensions), pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTPoison), Critical: true, Value: asn1.NullBytes})
		preCert, err := s.sign(&pre, &key.PublicKey)
		if err != nil {
			return nil, nil, err
		}
		list, err := sctList(log, preCert, s.fulcio.Intermediates[0], now)
		if err != nil {
			return nil, nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: list})
	}
	cert, err := s.sign(tmpl, &key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// oidFulcioIssuer is Fulcio's (v1) OIDC issuer extension.
var oidFulcioIssuer = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}

func (s *Sigstore) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.fulcio.Intermediates[0], pub, s.fulcioKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sctList has log sign an SCT for precert, issued by issuer at t (RFC 6962
// section 3.2), and returns the SCT list extension's value that carries it.
func sctList(log *ecdsa.PrivateKey, precert, issuer *x509.Certificate, t time.Time) ([]byte, error) {
	tbs, err := ctx509.BuildPrecertTBS(precert.RawTBSCertificate, nil)
	if err != nil {
		return nil, err
	}
	id, err := logID(&log.PublicKey)
	if err != nil {
		return nil, err
	}
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: id}, Timestamp: uint64(t.UnixMilli())}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			Timestamp: sct.Timestamp, EntryType: ct.PrecertLogEntryType,
			PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(issuer.RawSubjectPublicKeyInfo), TBSCertificate: tbs},
		},
	}})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, log, sum[:])
	if err != nil {
		return nil, err
	}
	sct.Signature = ct.DigitallySigned{Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA}, Signature: sig}
	list, err := ctx509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&sct})
	if err != nil {
		return nil, err
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(raw)
}

// logID is a CT log's ID: the SHA-256 of its public key (RFC 6962).
func logID(pub crypto.PublicKey) ([sha256.Size]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(der), nil
}

// SignatureAnnotations signs payload as identity (certified for issuer) the
// way keyless `cosign sign` does in the tag scheme, and returns the
// annotations of the signature layer that carries payload: the
// signature, the Fulcio certificate and the Rekor entry (hashedrekord) with
// its signed entry timestamp.
func (s *Sigstore) SignatureAnnotations(t testing.TB, identity, issuer string, payload []byte) map[string]string {
	t.Helper()
	cert, key := s.leaf(t, identity, issuer)
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	ctx := context.Background()
	proposed, err := types.NewProposedEntry(ctx, hashedrekord.KIND, hashedrekord.New().DefaultVersion(), types.ArtifactProperties{
		PublicKeyBytes: [][]byte{certPEM}, PKIFormat: string(pki.X509), ArtifactHash: hex.EncodeToString(sum[:]), SignatureBytes: sig,
	})
	if err != nil {
		t.Fatal(err)
	}
	entry, err := types.CreateVersionedEntry(proposed)
	if err != nil {
		t.Fatal(err)
	}
	body, err := types.CanonicalizeEntry(ctx, entry)
	if err != nil {
		t.Fatal(err)
	}
	logID, err := s.RekorLogID()
	if err != nil {
		t.Fatal(err)
	}
	p := tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: time.Now().Unix(), LogIndex: 1000, LogID: logID}
	set, err := s.RekorSignPayload(p)
	if err != nil {
		t.Fatal(err)
	}
	rekor, _ := json.Marshal(map[string]any{
		"SignedEntryTimestamp": set,
		"Payload":              map[string]any{"body": p.Body, "integratedTime": p.IntegratedTime, "logIndex": p.LogIndex, "logID": p.LogID},
	})
	return map[string]string{
		SignatureAnnotation:   base64.StdEncoding.EncodeToString(sig),
		CertificateAnnotation: string(certPEM),
		RekorBundleAnnotation: string(rekor),
	}
}

// DSSEBundle is what keyless `cosign sign --new-bundle-format` attaches: a
// sigstore bundle v0.3 with the certificate, the Rekor entry (inclusion
// proof and promise) and a DSSE envelope of statement (an in-toto
// statement, JSON).
func (s *Sigstore) DSSEBundle(t testing.TB, identity, issuer string, statement []byte) []byte {
	t.Helper()
	cert, key := s.leaf(t, identity, issuer)
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	envSigner, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: signer, Pub: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	env, err := envSigner.SignPayload(context.Background(), "application/vnd.in-toto+json", statement)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := s.rekor.GenerateTlogEntry(cert, env, sig, time.Now().Unix(), true)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{s.bundleEntry(t, entry)},
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

// leaf issues a certificate for identity, failing the test if it cannot.
func (s *Sigstore) leaf(t testing.TB, identity, issuer string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	cert, key, err := s.GenerateLeafCert(identity, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key.(*ecdsa.PrivateKey)
}

// bundleEntry is a Rekor entry as a bundle holds it. VirtualSigstore's
// entry lacks part of that: the signed entry timestamp (made here with its
// Rekor key, over what Rekor signs) and the entry's kind and version (from
// its body).
func (s *Sigstore) bundleEntry(t testing.TB, e *tlog.Entry) *protorekor.TransparencyLogEntry {
	t.Helper()
	tle := e.TransparencyLogEntry()
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
	return tle
}
