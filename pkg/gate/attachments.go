package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portager/portager/pkg/digestname"
)

// Limits on what a gate reads from the source: signature payloads and
// bundles are small; SBOMs are not read at all; SARIF reports of large
// images run to megabytes. A source is the tenant's choice, so the number
// of referrers examined per image is bounded too: a repository with
// thousands of referrers must not hold a worker for thousands of requests.
const (
	maxSignatureSize = 1 << 20
	maxReportSize    = 32 << 20
	maxReferrers     = 64
)

// attachments finds what is attached to the subject and to its platform
// images, reading each referrers list, cosign tag and manifest at most once
// per tag checked, however many gates ask. The gates of one tag run one
// after another, so it needs no lock.
type attachments struct {
	s Source

	referrers     map[v1.Hash][]v1.Descriptor
	tagged        map[string]*v1.Manifest // nil value: looked up, absent
	children      []v1.Hash
	childrenKnown bool
}

func newAttachments(s Source) *attachments {
	return &attachments{s: s, referrers: map[v1.Hash][]v1.Descriptor{}, tagged: map[string]*v1.Manifest{}}
}

// digest is the subject's digest.
func (a *attachments) digest() v1.Hash {
	return a.s.Image().Digest
}

// platforms returns the digests of the subject's child manifests when it
// is an index (nil for a single image).
func (a *attachments) platforms(ctx context.Context) ([]v1.Hash, error) {
	if a.childrenKnown {
		return a.children, nil
	}
	if !a.s.Image().MediaType.IsIndex() {
		a.childrenKnown = true
		return nil, nil
	}
	raw, _, err := a.s.Manifest(ctx, a.digest())
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", a.digest(), err)
	}
	for _, m := range idx.Manifests {
		if m.MediaType.IsImage() {
			a.children = append(a.children, m.Digest)
		}
	}
	a.childrenKnown = true
	return a.children, nil
}

// emptyConfigType is the config media type of OCI 1.1 artifacts.
const emptyConfigType = "application/vnd.oci.empty.v1+json"

// referrersOf lists the OCI 1.1 referrers of d, each with its artifact
// type. A registry should report a referrer's artifactType field, falling
// back to its config media type; some report only the config media type,
// which for an OCI 1.1 artifact is the empty type, so such referrers are
// read to learn what they are.
func (a *attachments) referrersOf(ctx context.Context, d v1.Hash) ([]v1.Descriptor, error) {
	list, ok := a.referrers[d]
	if ok {
		return list, nil
	}
	list, err := a.s.Referrers(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(list) > maxReferrers {
		// The referrers API defines no order; the fallback tag schema
		// appends, so its last entries are the newest.
		list = list[len(list)-maxReferrers:]
	}
	for i, r := range list {
		if (r.ArtifactType != "" && r.ArtifactType != emptyConfigType) || !r.MediaType.IsImage() {
			continue
		}
		m, err := a.manifest(ctx, r.Digest)
		if err != nil {
			return nil, err
		}
		list[i].ArtifactType = m.ArtifactType
		if m.ArtifactType == "" {
			list[i].ArtifactType = string(m.Config.MediaType)
		}
		if list[i].Annotations == nil {
			list[i].Annotations = m.Annotations
		}
	}
	a.referrers[d] = list
	return list, nil
}

// cosignTag returns the manifest cosign attaches to d under
// sha256-<hex>.<suffix> (sig, att or sbom); nil when there is none.
func (a *attachments) cosignTag(ctx context.Context, d v1.Hash, suffix string) (*v1.Manifest, error) {
	tag := digestname.CosignTag(d, suffix)
	m, ok := a.tagged[tag]
	if ok {
		return m, nil
	}
	raw, _, found, err := a.s.TaggedManifest(ctx, tag)
	if err != nil {
		return nil, err
	}
	if found {
		if m, err = parseManifest(raw); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", tag, err)
		}
	}
	a.tagged[tag] = m
	return m, nil
}

// manifest fetches and parses the image manifest of a referrer.
func (a *attachments) manifest(ctx context.Context, d v1.Hash) (*v1.Manifest, error) {
	raw, mt, err := a.s.Manifest(ctx, d)
	if err != nil {
		return nil, err
	}
	if !mt.IsImage() {
		return nil, fmt.Errorf("referrer %s is a %s, not an image manifest", d, mt)
	}
	return parseManifest(raw)
}

func parseManifest(raw []byte) (*v1.Manifest, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
