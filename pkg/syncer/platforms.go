package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// ReasonPlatformMismatch is a tag whose source holds none of the platforms
// its Image asks for.
const ReasonPlatformMismatch = "PlatformMismatch"

// maxPlatformConfig bounds the image config read to learn the platform of a
// single-platform image.
const maxPlatformConfig = 4 << 20

// maxListedPlatforms bounds how many of a source's platforms a
// PlatformMismatch message names.
const maxListedPlatforms = 16

// platformError is a source that holds none of the wanted platforms.
type platformError struct{ msg string }

func (e *platformError) Error() string { return e.msg }

// platformFilter is the platforms an Image keeps, as OS/ARCHITECTURE[/VARIANT].
type platformFilter struct {
	specs []string
	want  []v1.Platform
}

// newPlatformFilter parses specs; none is no filter (nil).
func newPlatformFilter(specs []string) (*platformFilter, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	f := &platformFilter{specs: specs}
	for _, s := range specs {
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(s, "/") > 2 {
			return nil, fmt.Errorf("invalid platform %q: want OS/ARCHITECTURE[/VARIANT]", s)
		}
		f.want = append(f.want, *p)
	}
	return f, nil
}

// match returns the wanted platform p satisfies, if any: the same OS and
// architecture and, when the wanted one names a variant, that variant.
func (f *platformFilter) match(p *v1.Platform) (string, bool) {
	if p == nil {
		return "", false
	}
	for i, w := range f.want {
		if p.Satisfies(w) {
			return f.specs[i], true
		}
	}
	return "", false
}

// platformString names p for a message.
func platformString(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return "no platform"
	}
	return p.String()
}

// target is what a tag's destination must hold: the source manifest as it
// is, or an index derived from it that keeps only some platforms.
type target struct {
	digest v1.Hash
	// filtered is the index to write, when it differs from the source's.
	filtered *filteredIndex
	// platforms are the wanted platforms the destination holds.
	platforms []string
}

// filteredIndex is an index reduced to the entries of some platforms.
type filteredIndex struct {
	raw      []byte
	mt       types.MediaType
	digest   v1.Hash
	children []v1.Descriptor
}

// attestationAnnotations mark an index entry that holds the build
// attestations of another entry (docker buildx's layout).
const (
	annotationReferenceType   = "vnd.docker.reference.type"
	annotationReferenceDigest = "vnd.docker.reference.digest"
	attestationManifest       = "attestation-manifest"
)

// filterIndex derives, from the index m (digest d), the index that keeps
// only the entries of f's platforms and the attestations of those entries.
// The derivation depends on nothing but m and f, so the same source always
// gives the same bytes and digest: the entries kept are the source's own
// bytes, in the source's order, and the document is re-encoded with its
// fields sorted. When every entry is kept, the source index is returned as
// it is, so that its signatures stay valid.
func filterIndex(d v1.Hash, m cachedManifest, f *platformFilter) (filteredIndex, []string, error) {
	idx, err := distribution.ParseIndex(d, m.raw)
	if err != nil {
		return filteredIndex{}, nil, err
	}
	keep := make([]bool, len(idx.Manifests))
	kept := map[v1.Hash]bool{}
	var platforms, available []string
	for i, c := range idx.Manifests {
		if c.Annotations[annotationReferenceType] == attestationManifest {
			continue
		}
		if len(available) < maxListedPlatforms {
			available = append(available, platformString(c.Platform))
		}
		if spec, ok := f.match(c.Platform); ok {
			keep[i], kept[c.Digest] = true, true
			if !slices.Contains(platforms, spec) {
				platforms = append(platforms, spec)
			}
		}
	}
	if len(kept) == 0 {
		return filteredIndex{}, nil, &platformError{msg: fmt.Sprintf("index %s has none of the platforms %s; it has %s",
			d, strings.Join(f.specs, ", "), strings.Join(available, ", "))}
	}
	for i, c := range idx.Manifests {
		if c.Annotations[annotationReferenceType] != attestationManifest {
			continue
		}
		if of, err := v1.NewHash(c.Annotations[annotationReferenceDigest]); err == nil && kept[of] {
			keep[i] = true
		}
	}
	var children []v1.Descriptor
	for i, c := range idx.Manifests {
		if keep[i] {
			children = append(children, c)
		}
	}
	if len(children) == len(idx.Manifests) {
		return filteredIndex{raw: m.raw, mt: m.mt, digest: d, children: children}, platforms, nil
	}

	// Re-encode from the source's own bytes, so that fields this engine
	// does not know survive and each kept entry is exactly the source's.
	var doc map[string]json.RawMessage
	var entries []json.RawMessage
	if err := json.Unmarshal(m.raw, &doc); err != nil {
		return filteredIndex{}, nil, fmt.Errorf("parsing index %s: %w", d, err)
	}
	if err := json.Unmarshal(doc["manifests"], &entries); err != nil || len(entries) != len(idx.Manifests) {
		return filteredIndex{}, nil, fmt.Errorf("parsing index %s: its manifests are not a list of descriptors", d)
	}
	var out []json.RawMessage
	for i, e := range entries {
		if keep[i] {
			out = append(out, e)
		}
	}
	list, err := json.Marshal(out)
	if err != nil {
		return filteredIndex{}, nil, fmt.Errorf("encoding the filtered index of %s: %w", d, err)
	}
	doc["manifests"] = list
	raw, err := json.Marshal(doc)
	if err != nil {
		return filteredIndex{}, nil, fmt.Errorf("encoding the filtered index of %s: %w", d, err)
	}
	digest, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return filteredIndex{}, nil, err
	}
	return filteredIndex{raw: raw, mt: m.mt, digest: digest, children: children}, platforms, nil
}

// platformTarget decides what the destination of a tag with a platform
// filter must hold. A tag whose source and destination are still where
// an earlier run with the same filter left them (Request.Filtered) needs
// no read; otherwise an index is read and filtered, and a single image's
// config is read for its platform, which must be wanted.
func (r *run) platformTarget(ctx context.Context, j job, desc v1.Descriptor, dst v1.Descriptor, dfound bool) (target, error) {
	if prior, ok := r.req.Filtered[j.name+":"+j.ref]; ok && dfound &&
		prior.Source == desc.Digest.String() && prior.Written == dst.Digest.String() {
		return target{digest: dst.Digest, platforms: prior.Platforms}, nil
	}
	m, err := r.fetchManifest(ctx, j.src, desc.Digest)
	if err != nil {
		return target{}, err
	}
	switch {
	case m.mt.IsIndex():
		fi, platforms, err := filterIndex(desc.Digest, m, j.platforms)
		if err != nil {
			return target{}, err
		}
		t := target{digest: fi.digest, platforms: platforms}
		if fi.digest != desc.Digest {
			t.filtered = &fi
		}
		return t, nil
	case m.mt.IsImage():
		p, err := r.imagePlatform(ctx, j.src, desc.Digest, m)
		if err != nil {
			return target{}, err
		}
		spec, ok := j.platforms.match(p)
		if !ok {
			return target{}, &platformError{msg: fmt.Sprintf("image %s is for %s, not for %s", desc.Digest, platformString(p), strings.Join(j.platforms.specs, ", "))}
		}
		return target{digest: desc.Digest, platforms: []string{spec}}, nil
	default:
		return target{}, &distribution.UnsupportedError{MediaType: string(m.mt)}
	}
}

// imagePlatform reads the platform of the image manifest m (digest d) from
// its config. A config that names none (an artifact) is no platform.
func (r *run) imagePlatform(ctx context.Context, src *distribution.Repository, d v1.Hash, m cachedManifest) (*v1.Platform, error) {
	var mf struct {
		Config v1.Descriptor `json:"config"`
	}
	if err := json.Unmarshal(m.raw, &mf); err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", d, err)
	}
	var cfg struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	err := src.ReadBlob(ctx, mf.Config.Digest, maxPlatformConfig, func(b []byte) error {
		return json.Unmarshal(b, &cfg)
	})
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax) || errors.As(err, &typ):
		return nil, nil
	case err != nil:
		return nil, err
	case cfg.OS == "" || cfg.Architecture == "":
		return nil, nil
	}
	return &v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}, nil
}

// copyFiltered copies the entries a filtered index keeps, then their
// referrers (signatures, attestations, SBOMs), then writes the index under
// tag: the tag moves only once everything it names is there.
func (r *run) copyFiltered(ctx context.Context, src, dst *distribution.Repository, fi *filteredIndex, tag string, moved *atomic.Int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.e.opts.BlobConcurrency)
	var subjects []v1.Hash
	for _, c := range fi.children {
		if !c.MediaType.IsIndex() && !c.MediaType.IsImage() {
			return &distribution.UnsupportedError{MediaType: string(c.MediaType)}
		}
		subjects = append(subjects, c.Digest)
		g.Go(func() error { return r.copyManifest(gctx, src, dst, c, 1, moved) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := r.copyReferrers(ctx, src, dst, subjects, 0, moved); err != nil {
		return err
	}
	return dst.PutManifest(ctx, tag, fi.raw, fi.mt, fi.digest)
}
