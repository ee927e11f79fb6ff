package gate

import (
	"context"
	"encoding/base64"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portager/portager/internal/jsonstream"

	"github.com/portager/portager/pkg/digestname"
)

// sbomMediaTypes are the SPDX and CycloneDX media types an SBOM artifact
// (OCI referrer artifactType, or a layer of cosign's .sbom tag) carries.
var sbomMediaTypes = map[string]bool{
	"application/spdx+json":              true,
	"text/spdx":                          true,
	"text/spdx+json":                     true,
	"text/spdx+xml":                      true,
	"application/vnd.cyclonedx":          true,
	"application/vnd.cyclonedx+json":     true,
	"application/vnd.cyclonedx+xml":      true,
	"application/vnd.cyclonedx+protobuf": true,
}

// isSBOMPredicate reports whether an in-toto predicate type is an SBOM
// (cosign attest --type spdx, spdxjson or cyclonedx).
func isSBOMPredicate(t string) bool {
	return strings.HasPrefix(t, "https://spdx.dev/Document") || strings.HasPrefix(t, "https://cyclonedx.org/bom")
}

// sbomCheck requires an SBOM attached to the image or, for a multi-platform
// index without one of its own, to every platform image.
type sbomCheck struct{}

func (sbomCheck) name() string { return "sbom" }

func (sbomCheck) check(ctx context.Context, a *attachments) error {
	d := a.digest()
	ok, err := hasSBOM(ctx, a, d)
	if err != nil || ok {
		return err
	}
	children, err := a.platforms(ctx)
	if err != nil {
		return err
	}
	if len(children) == 0 {
		return reject("no SPDX or CycloneDX SBOM attached")
	}
	for _, c := range children {
		ok, err := hasSBOM(ctx, a, c)
		if err != nil {
			return err
		}
		if !ok {
			return reject("no SPDX or CycloneDX SBOM attached to the index or its platform image %s", digestname.Short(c.String()))
		}
	}
	return nil
}

// hasSBOM looks for an SBOM of d in every form cosign and ORAS attach one:
// an OCI 1.1 referrer of an SBOM type, cosign's .sbom tag, or an SBOM
// attestation (cosign's .att tag or a sigstore bundle referrer).
func hasSBOM(ctx context.Context, a *attachments, d v1.Hash) (bool, error) {
	refs, err := a.referrersOf(ctx, d)
	if err != nil {
		return false, err
	}
	for _, r := range refs {
		if sbomMediaTypes[r.ArtifactType] {
			return true, nil
		}
	}
	for _, r := range refs {
		if !isBundleType(r.ArtifactType) {
			continue
		}
		if isSBOMPredicate(r.Annotations[bundlePredicateAnnotation]) {
			return true, nil
		}
		ok, err := bundleHasSBOM(ctx, a, r.Digest)
		if err != nil || ok {
			return ok, err
		}
	}
	m, err := a.cosignTag(ctx, d, digestname.SBOMSuffix)
	if err != nil {
		return false, err
	}
	if m != nil {
		for _, l := range m.Layers {
			if sbomMediaTypes[string(l.MediaType)] {
				return true, nil
			}
		}
	}
	m, err = a.cosignTag(ctx, d, digestname.AttestationSuffix)
	if err != nil {
		return false, err
	}
	if m != nil {
		for _, l := range m.Layers {
			if isSBOMPredicate(l.Annotations["predicateType"]) {
				return true, nil
			}
		}
	}
	return false, nil
}

// bundlePredicateAnnotation is where cosign records an attestation
// bundle's predicate type on its referrer manifest.
const bundlePredicateAnnotation = "dev.sigstore.bundle.predicateType"

// bundleHasSBOM reads an attestation bundle whose referrer does not say
// what it attests.
func bundleHasSBOM(ctx context.Context, a *attachments, d v1.Hash) (bool, error) {
	m, err := a.manifest(ctx, d)
	if err != nil {
		return false, err
	}
	if isSBOMPredicate(m.Annotations[bundlePredicateAnnotation]) {
		return true, nil
	}
	for _, l := range m.Layers {
		if !isBundleType(string(l.MediaType)) {
			continue
		}
		var predicateType string
		err := a.s.ReadBlob(ctx, l.Digest, maxReportSize, func(data []byte) error {
			predicateType = bundlePredicateType(data)
			return nil
		})
		if err != nil {
			return false, err
		}
		if isSBOMPredicate(predicateType) {
			return true, nil
		}
	}
	return false, nil
}

// bundlePredicateType returns the predicate type an attestation bundle
// (as parseBundle reads it, keys in any case as encoding/json matches them)
// attests, or "" if it has none or is not a
// bundle. It reads the bundle and its statement as token streams, keeping
// only the envelope's payload, so a bundle of up to maxReportSize costs a
// small multiple of its size, whatever its statement lists.
func bundlePredicateType(data []byte) string {
	var payloadType, payload string
	signed := false
	dec := newDecoder(data)
	err := jsonstream.Object(dec, func(key string) error {
		switch {
		case strings.EqualFold(key, "messageSignature"):
			signed = true
		case strings.EqualFold(key, "dsseEnvelope"):
			return jsonstream.Object(dec, func(key string) error {
				var err error
				switch {
				case strings.EqualFold(key, "payloadType"):
					payloadType, _, err = jsonstream.String(dec)
				case strings.EqualFold(key, "payload"):
					payload, _, err = jsonstream.String(dec)
				default:
					err = jsonstream.Skip(dec)
				}
				return err
			})
		}
		return jsonstream.Skip(dec)
	})
	switch {
	case err != nil:
		return ""
	case payload == "" && signed:
		return cosignSignPredicate
	case payloadType != inTotoPayloadType:
		return ""
	}
	statement, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var predicateType string
	dec = newDecoder(statement)
	if err := jsonstream.Object(dec, func(key string) error {
		if !strings.EqualFold(key, "predicateType") {
			return jsonstream.Skip(dec)
		}
		var err error
		predicateType, _, err = jsonstream.String(dec)
		return err
	}); err != nil {
		return ""
	}
	return predicateType
}
