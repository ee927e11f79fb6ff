package syncer

import (
	"context"
	"fmt"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/digestname"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// maxReferrerDepth bounds referrers-of-referrers (e.g. a signature on an
// SBOM) so a cyclic or hostile graph cannot make a run unbounded.
const maxReferrerDepth = 2

// referrerSet is what the source holds for one subject: its cosign
// tag-scheme artifacts and its OCI 1.1 referrers.
type referrerSet struct {
	cosign []cosignArtifact
	oci    []v1.Descriptor
}

// cosignArtifact is a cosign tag-scheme tag found at the source.
type cosignArtifact struct {
	tag  string
	desc v1.Descriptor
}

func (s referrerSet) empty() bool { return len(s.cosign) == 0 && len(s.oci) == 0 }

// findReferrers reads, once per run, what the source holds for subject d.
// It asks nothing of the destination, so a copy starts it first and lets it
// run alongside the blobs instead of after them. Its lookups go out
// together: on a repository read without a tag list that is three cosign
// HEADs and the referrers lookup in one round trip rather than four.
func (r *run) findReferrers(ctx context.Context, src *distribution.Repository, d v1.Hash) (referrerSet, error) {
	key := "find-referrers|" + src.Host() + "|" + src.Path() + "|" + d.String()
	_, err := r.share(ctx, key, func() error {
		// Indexed by suffix, so the set keeps cosign's order whichever
		// lookup answers first.
		found := make([]*cosignArtifact, len(digestname.CosignSuffixes))
		var set referrerSet
		g, gctx := errgroup.WithContext(ctx)
		for i, s := range digestname.CosignSuffixes {
			tag := digestname.CosignTag(d, s)
			if !src.MayHaveTag(tag) {
				continue // not in the tag list read this run
			}
			g.Go(func() error {
				desc, ok, err := src.HeadManifest(gctx, tag)
				if ok {
					found[i] = &cosignArtifact{tag: tag, desc: desc}
				}
				return err
			})
		}
		g.Go(func() (err error) {
			set.oci, err = src.Referrers(gctx, d)
			return err
		})
		if err := g.Wait(); err != nil {
			return err
		}
		for _, a := range found {
			if a != nil {
				set.cosign = append(set.cosign, *a)
			}
		}
		r.mu.Lock()
		r.referrerSets[key] = set
		r.mu.Unlock()
		return nil
	})
	if err != nil {
		return referrerSet{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.referrerSets[key], nil
}

// copyReferrers makes the signatures, attestations and SBOMs of each
// subject travel with the image: cosign tag-scheme artifacts and OCI 1.1
// referrers (via the referrers API or its fallback tag). Subjects include
// the children of an index, since platform images are signed too.
func (r *run) copyReferrers(ctx context.Context, src, dst *distribution.Repository, subjects []v1.Hash, depth int, moved *atomic.Int64) error {
	// Each subject costs a few lookups even when it has no referrers, so
	// the subjects of a large index are examined in parallel (bounded).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.e.opts.BlobConcurrency)
	for _, d := range subjects {
		g.Go(func() error { return r.copyReferrersOf(gctx, src, dst, d, depth, moved) })
	}
	return g.Wait()
}

func (r *run) copyReferrersOf(ctx context.Context, src, dst *distribution.Repository, d v1.Hash, depth int, moved *atomic.Int64) error {
	_, err := r.share(ctx, "referrers|"+dst.Host()+"|"+dst.Path()+"|"+d.String(), func() error {
		set, err := r.findReferrers(ctx, src, d)
		if err != nil {
			return err
		}
		for _, a := range set.cosign {
			if err := r.copyCosignTag(ctx, src, dst, a, moved); err != nil {
				return err
			}
		}
		var copied []v1.Descriptor
		for _, desc := range set.oci {
			if !desc.MediaType.IsImage() && !desc.MediaType.IsIndex() {
				klog.FromContext(ctx).V(2).Info("skipping referrer of unsupported media type", "subject", d.String(), "digest", desc.Digest.String(), "mediaType", string(desc.MediaType))
				continue
			}
			if err := r.copyManifest(ctx, src, dst, desc, 0, moved); err != nil {
				return fmt.Errorf("copying referrer %s of %s: %w", desc.Digest, d, err)
			}
			copied = append(copied, desc)
			if depth < maxReferrerDepth {
				if err := r.copyReferrersOf(ctx, src, dst, desc.Digest, depth+1, moved); err != nil {
					return err
				}
			}
		}
		if len(copied) == 0 {
			return nil
		}
		return dst.IndexReferrers(ctx, d, copied)
	})
	return err
}

// copyCosignTag copies one cosign tag-scheme artifact found at the source
// unless the destination has the same digest under that tag.
func (r *run) copyCosignTag(ctx context.Context, src, dst *distribution.Repository, a cosignArtifact, moved *atomic.Int64) error {
	ddesc, dfound, err := dst.HeadManifest(ctx, a.tag)
	if err != nil {
		return err
	}
	if dfound && ddesc.Digest == a.desc.Digest {
		return nil
	}
	if err := r.copyManifest(ctx, src, dst, a.desc, 0, moved); err != nil {
		return fmt.Errorf("copying %s: %w", a.tag, err)
	}
	m, err := r.fetchManifest(ctx, src, a.desc.Digest) // cached if copyManifest read it
	if err != nil {
		return err
	}
	return dst.PutManifest(ctx, a.tag, m.raw, m.mt, a.desc.Digest)
}
