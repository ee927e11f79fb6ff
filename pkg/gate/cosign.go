package gate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portager/portager/pkg/digestname"
)

// What cosign writes, in the formats cosign verify reads:
//   - the tag scheme: a manifest under sha256-<hex>.sig whose layers are
//     simple-signing payloads, each signed in an annotation;
//   - the same manifest stored as an OCI 1.1 referrer
//     (--registry-referrers-mode=oci-1-1);
//   - a sigstore bundle stored as an OCI 1.1 referrer
//     (--new-bundle-format): a DSSE envelope around an in-toto statement
//     with the cosign signing predicate.
const (
	simpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	signatureAnnotation    = "dev.cosignproject.cosign/signature"
	cosignSigArtifactType  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	bundleArtifactType     = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundleMediaTypePrefix  = "application/vnd.dev.sigstore.bundle"
	simpleSigningType      = "cosign container image signature"
	cosignSignPredicate    = "https://sigstore.dev/cosign/sign/v1"
	inTotoPayloadType      = "application/vnd.in-toto+json"
)

// cosignCheck accepts a signature that verifies either with key or, when
// there is no key, as a keyless signature of the policy's signer.
type cosignCheck struct {
	key     crypto.PublicKey
	keyless *keyless
	issuer  string
}

func newCosignCheck(p CosignPolicy) (*cosignCheck, error) {
	if p.PublicKey == "" {
		// Without a trusted root (nil keyless) the gate refuses every
		// signature rather than accept an unchecked certificate.
		k, err := newKeyless(p)
		if err != nil {
			return nil, err
		}
		return &cosignCheck{keyless: k, issuer: p.KeylessIssuer}, nil
	}
	key, err := parsePublicKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	switch key.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("publicKey type %T is not supported", key)
	}
	return &cosignCheck{key: key}, nil
}

func (c *cosignCheck) name() string { return "cosign" }

func (c *cosignCheck) check(ctx context.Context, a *attachments) error {
	if c.key == nil && c.keyless == nil {
		return reject("keyless verification is not available (no Sigstore trusted root configured); set publicKey")
	}
	d := a.digest()
	// try records one candidate signature's outcome: nil verified it.
	var seen int
	var why error
	try := func(bad error) bool {
		seen++
		if bad == nil {
			return true
		}
		why = bad
		return false
	}

	// The tag scheme first: it is what cosign writes by default.
	sig, err := a.cosignTag(ctx, d, digestname.SignatureSuffix)
	if err != nil {
		return err
	}
	if sig != nil {
		if ok, err := c.anySimpleSigning(ctx, a, sig, d, try); ok || err != nil {
			return err
		}
	}
	refs, err := a.referrersOf(ctx, d)
	if err != nil {
		return err
	}
	for _, r := range refs {
		switch {
		case r.ArtifactType == cosignSigArtifactType:
			m, err := a.manifest(ctx, r.Digest)
			if err != nil {
				return err
			}
			if ok, err := c.anySimpleSigning(ctx, a, m, d, try); ok || err != nil {
				return err
			}
		case isBundleType(r.ArtifactType):
			m, err := a.manifest(ctx, r.Digest)
			if err != nil {
				return err
			}
			for _, l := range m.Layers {
				if !isBundleType(string(l.MediaType)) {
					continue
				}
				raw, err := a.s.Blob(ctx, l.Digest, maxSignatureSize)
				if err != nil {
					return err
				}
				b, err := parseBundle(raw)
				if err != nil {
					try(err)
					continue
				}
				if b.predicateType != cosignSignPredicate {
					continue // an attestation, not a signature
				}
				if try(c.verifyBundle(b, raw, d)) {
					return nil
				}
			}
		}
	}
	if seen == 0 {
		return reject("no signature found")
	}
	if c.keyless != nil {
		return reject("no keyless signature from %s verifies (%d checked; last: %v)", c.issuer, seen, why)
	}
	return reject("no signature verifies with publicKey (%d checked; last: %v)", seen, why)
}

// anySimpleSigning checks the simple-signing layers of a signature
// manifest (the .sig tag, or the same stored as a referrer), recording each
// outcome with try; ok is true once one verifies.
func (c *cosignCheck) anySimpleSigning(ctx context.Context, a *attachments, m *v1.Manifest, d v1.Hash, try func(error) bool) (ok bool, err error) {
	for _, l := range m.Layers {
		if l.MediaType != simpleSigningMediaType {
			continue
		}
		bad, err := c.simpleSigning(ctx, a, l, d)
		if err != nil {
			return false, err
		}
		if try(bad) {
			return true, nil
		}
	}
	return false, nil
}

// simpleSigning checks one simple-signing layer. A registry error is
// returned as err; a signature that does not verify as bad.
func (c *cosignCheck) simpleSigning(ctx context.Context, a *attachments, l v1.Descriptor, d v1.Hash) (bad error, err error) {
	sigB64, ok := l.Annotations[signatureAnnotation]
	if !ok {
		return errors.New("signature layer without a signature"), nil
	}
	sig, derr := base64.StdEncoding.DecodeString(sigB64)
	if derr != nil {
		return errors.New("signature is not base64"), nil
	}
	payload, err := a.s.Blob(ctx, l.Digest, maxSignatureSize)
	if err != nil {
		return nil, err
	}
	if c.keyless != nil {
		err = c.keyless.verifyLayer(l.Annotations, payload, sig)
	} else {
		err = verifySignature(c.key, payload, sig)
	}
	if err != nil {
		return err, nil
	}
	// The signature is good; now the payload must be about this image.
	var p struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return errors.New("signed payload is not a simple-signing document"), nil
	}
	if p.Critical.Type != simpleSigningType {
		return fmt.Errorf("signed payload has type %q", p.Critical.Type), nil
	}
	if p.Critical.Image.Digest != d.String() {
		return fmt.Errorf("signature is for another image, %s", digestname.Short(p.Critical.Image.Digest)), nil
	}
	return nil, nil
}

func isBundleType(t string) bool {
	return len(t) >= len(bundleMediaTypePrefix) && t[:len(bundleMediaTypePrefix)] == bundleMediaTypePrefix
}

// bundle is the part of a sigstore bundle (v0.1–v0.3, protobuf JSON) a
// key-based check needs.
type bundle struct {
	env *struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig []byte `json:"sig"`
		} `json:"signatures"`
	}
	msg *struct {
		MessageDigest struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"messageDigest"`
		Signature []byte `json:"signature"`
	}
	predicateType string
	subjects      []string // sha256 hex digests of the statement's subjects
}

func parseBundle(raw []byte) (*bundle, error) {
	var doc struct {
		MessageSignature json.RawMessage `json:"messageSignature"`
		DSSEEnvelope     json.RawMessage `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, errors.New("sigstore bundle is not JSON")
	}
	b := &bundle{}
	switch {
	case len(doc.DSSEEnvelope) > 0:
		if err := json.Unmarshal(doc.DSSEEnvelope, &b.env); err != nil || b.env == nil {
			return nil, errors.New("sigstore bundle has an unreadable DSSE envelope")
		}
		if b.env.PayloadType != inTotoPayloadType {
			return nil, fmt.Errorf("DSSE payload type %q is not an in-toto statement", b.env.PayloadType)
		}
		var st struct {
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(b.env.Payload, &st); err != nil {
			return nil, errors.New("DSSE payload is not an in-toto statement")
		}
		b.predicateType = st.PredicateType
		for _, s := range st.Subject {
			b.subjects = append(b.subjects, s.Digest["sha256"])
		}
	case len(doc.MessageSignature) > 0:
		if err := json.Unmarshal(doc.MessageSignature, &b.msg); err != nil || b.msg == nil {
			return nil, errors.New("sigstore bundle has an unreadable message signature")
		}
		// A message signature over an image is a signature of it.
		b.predicateType = cosignSignPredicate
	default:
		return nil, errors.New("sigstore bundle holds neither a DSSE envelope nor a message signature")
	}
	return b, nil
}

// verifyBundle checks a bundle's signature (with the key, or keyless from
// raw) and that it is about d.
func (c *cosignCheck) verifyBundle(b *bundle, raw []byte, d v1.Hash) error {
	if c.keyless != nil {
		return c.keyless.verifyBundle(raw, d)
	}
	switch {
	case b.env != nil:
		about := false
		for _, s := range b.subjects {
			about = about || s == d.Hex
		}
		if !about {
			return errors.New("signed statement does not name this image")
		}
		pae := dssePAE(b.env.PayloadType, b.env.Payload)
		for _, s := range b.env.Signatures {
			if verifySignature(c.key, pae, s.Sig) == nil {
				return nil
			}
		}
		return errors.New("DSSE signature does not verify")
	default:
		want, _ := hex.DecodeString(d.Hex)
		if b.msg.MessageDigest.Algorithm != "SHA2_256" || !bytes.Equal(b.msg.MessageDigest.Digest, want) {
			return errors.New("message signature is not over this image")
		}
		return verifyDigest(c.key, crypto.SHA256, want, b.msg.Signature)
	}
}

// dssePAE is DSSE's pre-authentication encoding, what DSSE signs.
func dssePAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

var errBadSignature = errors.New("signature does not verify")

// verifySignature checks sig over msg the way sigstore signs with each key
// type: ECDSA over the curve's hash, RSA PKCS#1 v1.5 (or PSS) over
// SHA-256, Ed25519 over the message itself.
func verifySignature(key crypto.PublicKey, msg, sig []byte) error {
	if k, ok := key.(ed25519.PublicKey); ok {
		if !ed25519.Verify(k, msg, sig) {
			return errBadSignature
		}
		return nil
	}
	h := crypto.SHA256
	if k, ok := key.(*ecdsa.PublicKey); ok {
		switch k.Curve {
		case elliptic.P384():
			h = crypto.SHA384
		case elliptic.P521():
			h = crypto.SHA512
		}
	}
	var sum []byte
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(msg)
		sum = s[:]
	case crypto.SHA512:
		s := sha512.Sum512(msg)
		sum = s[:]
	default:
		s := sha256.Sum256(msg)
		sum = s[:]
	}
	return verifyDigest(key, h, sum, sig)
}

// verifyDigest checks sig over an already computed digest.
func verifyDigest(key crypto.PublicKey, h crypto.Hash, sum, sig []byte) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, sum, sig) {
			return errBadSignature
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(k, h, sum, sig) != nil && rsa.VerifyPSS(k, h, sum, sig, nil) != nil {
			return errBadSignature
		}
	default:
		// Ed25519 signs messages, not digests.
		return errBadSignature
	}
	return nil
}
