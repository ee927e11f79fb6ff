package gate

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// What cosign's keyless mode adds to a tag-scheme signature layer: the
// Fulcio certificate and the Rekor entry's signed timestamp.
const (
	certificateAnnotation = "dev.sigstore.cosign/certificate"
	rekorBundleAnnotation = "dev.sigstore.cosign/bundle"
)

// keyless verifies keyless (Fulcio) signatures with sigstore-go, as cosign
// verify does: the certificate chains to a Fulcio CA of the trusted root at
// the time the transparency log (Rekor) recorded the signature, that log
// entry's signed timestamp verifies with the log's key and matches the
// signature, the certificate names the OIDC issuer and identity the policy
// wants, its key verifies the signature, and it carries a signed
// certificate timestamp (SCT) from a certificate transparency log of the
// trusted root, as cosign verify requires unless told
// --insecure-ignore-sct: a certificate Fulcio issued without logging it
// publicly is refused.
type keyless struct {
	verifier *verify.Verifier
	identity verify.CertificateIdentity
}

func newKeyless(p CosignPolicy) (*keyless, error) {
	if p.KeylessIssuer == "" {
		// An empty issuer would match any (API validation requires one).
		return nil, errors.New("keylessIssuer is required without publicKey")
	}
	if p.TrustedRoot == nil {
		return nil, nil
	}
	if err := hasCTLog(p.TrustedRoot); err != nil {
		return nil, err
	}
	v, err := verify.NewVerifier(p.TrustedRoot, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1), verify.WithSignedCertificateTimestamps(1))
	if err != nil {
		return nil, fmt.Errorf("keyless verifier: %w", err)
	}
	// Without identity fields any signer the issuer vouches for passes, as
	// the API has it; API validation warns about that.
	sanRegexp := p.KeylessIdentityRegexp
	if p.KeylessIdentity == "" && sanRegexp == "" {
		sanRegexp = ".*"
	}
	id, err := verify.NewShortCertificateIdentity(p.KeylessIssuer, "", p.KeylessIdentity, sanRegexp)
	if err != nil {
		return nil, fmt.Errorf("keyless identity: %w", err)
	}
	return &keyless{verifier: v, identity: id}, nil
}

// verifyLayer checks a tag-scheme signature layer: payload signed by sig,
// with the certificate and Rekor entry cosign puts in its annotations.
func (k *keyless) verifyLayer(annotations map[string]string, payload, sig []byte) error {
	block, _ := pem.Decode([]byte(annotations[certificateAnnotation]))
	if block == nil {
		return errors.New("signature has no Fulcio certificate (a key-based signature?)")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return errors.New("signature certificate is unreadable")
	}
	raw, ok := annotations[rekorBundleAnnotation]
	if !ok {
		return errors.New("signature has no transparency log entry (signed with --tlog-upload=false?)")
	}
	var rb struct {
		SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		} `json:"Payload"`
	}
	if err := json.Unmarshal([]byte(raw), &rb); err != nil {
		return errors.New("transparency log entry is unreadable")
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return errors.New("transparency log entry body is not base64")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return errors.New("transparency log id is not hex")
	}
	// NewEntry parses Rekor v1 entries only, which is what the tag
	// scheme's bundle annotation always holds.
	entry, err := tlog.NewEntry(body, rb.Payload.IntegratedTime, rb.Payload.LogIndex, logID, rb.SignedEntryTimestamp, nil) //nolint:staticcheck // see above
	if err != nil {
		return errors.New("transparency log entry is unreadable")
	}
	sum := sha256.Sum256(payload)
	e := &layerEntity{cert: cert, sig: sgbundle.NewMessageSignature(sum[:], "SHA2_256", sig), entries: []*tlog.Entry{entry}}
	_, err = k.verifier.Verify(e, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(payload)), verify.WithCertificateIdentity(k.identity)))
	return err
}

// verifyBundle checks a sigstore bundle (--new-bundle-format) over the
// image d: its in-toto subject or message digest must be d.
func (k *keyless) verifyBundle(raw []byte, d v1.Hash) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("sigstore bundle is unreadable: %w", err)
	}
	want, err := hex.DecodeString(d.Hex)
	if err != nil {
		return err
	}
	_, err = k.verifier.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha256", want), verify.WithCertificateIdentity(k.identity)))
	return err
}

// layerEntity presents a tag-scheme signature to sigstore-go.
type layerEntity struct {
	cert    *x509.Certificate
	sig     *sgbundle.MessageSignature
	entries []*tlog.Entry
}

var _ verify.SignedEntity = &layerEntity{}

func (e *layerEntity) VerificationContent() (verify.VerificationContent, error) {
	return sgbundle.NewCertificate(e.cert), nil
}
func (e *layerEntity) SignatureContent() (verify.SignatureContent, error) { return e.sig, nil }
func (e *layerEntity) TlogEntries() ([]*tlog.Entry, error)                { return e.entries, nil }
func (e *layerEntity) Timestamps() ([][]byte, error)                      { return nil, nil }
func (e *layerEntity) HasInclusionPromise() bool                          { return len(e.entries) > 0 }
func (e *layerEntity) HasInclusionProof() bool                            { return false }
func (e *layerEntity) Version() (string, error)                           { return "v0.1", nil }

// LoadTrustedRoot reads a Sigstore trusted root (trusted_root.json, as
// `cosign verify --trusted-root` takes) for keyless verification; an
// empty path is the public-good instance's root built into Portager.
func LoadTrustedRoot(path string) (root.TrustedMaterial, error) {
	if path == "" {
		return root.NewTrustedRootFromJSON(publicGoodTrustedRoot)
	}
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Sigstore trusted root %s: %w", path, err)
	}
	if err := hasCTLog(tr); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}

// hasCTLog refuses a trusted root without a certificate transparency log:
// with one, every keyless certificate's SCT is checked; without, none
// could pass. Refusing the root says so when it is loaded, instead of in
// every verdict.
func hasCTLog(tr root.TrustedMaterial) error {
	if len(tr.CTLogs()) == 0 {
		return errors.New("the Sigstore trusted root lists no certificate transparency log, so the SCTs of Fulcio certificates cannot be checked")
	}
	return nil
}
