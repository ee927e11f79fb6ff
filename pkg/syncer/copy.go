package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"
)

// copyImage copies the manifest tree rooted at top (already resolved to a
// digest) and its referrers, then moves the tag. Order is what keeps a
// failure invisible: blobs, then child manifests by digest, then (for an
// image with referrers) the top manifest by digest and its referrers, and
// the tag last. An image without referrers needs no push by digest: the
// tag's PUT creates the manifest and moves the tag in one request.
func (r *run) copyImage(ctx context.Context, src, dst *distribution.Repository, top v1.Descriptor, tag string, moved *atomic.Int64) error {
	m, err := r.prepareImage(ctx, src, dst, top, moved)
	if err != nil {
		return err
	}
	// Tag last: only now does the new digest become visible under the tag.
	return dst.PutManifest(ctx, tag, m.raw, m.mt, top.Digest)
}

// prepareImage makes everything the tag of top will need exist at dst: all
// the content below the top manifest and, when the image has referrers, the
// top manifest by digest and the referrers. It runs once per destination
// repository per run, however many tags share the digest.
//
// Reads that do not depend on each other overlap, since on a remote
// registry each serial round trip is most of a small image's copy: the
// source's referrers are looked up while the content is copied, and the
// top manifest is read while the destination is asked whether it has it
// (the tag's PUT needs its bytes either way).
func (r *run) prepareImage(ctx context.Context, src, dst *distribution.Repository, top v1.Descriptor, moved *atomic.Int64) (cachedManifest, error) {
	// The run that prepared the image returns the top manifest it read;
	// one that waited for it reads it from the run's cache or the source.
	var topManifest cachedManifest
	leader, err := r.share(ctx, "image|"+dst.Host()+"|"+dst.Path()+"|"+top.Digest.String(), func() error {
		ctx, cancel := context.WithCancel(ctx)
		var discover errgroup.Group
		defer func() {
			cancel()
			_ = discover.Wait()
		}()
		var withReferrers atomic.Bool
		find := func(d v1.Hash) {
			discover.Go(func() error {
				set, err := r.findReferrers(ctx, src, d)
				if !set.empty() {
					withReferrers.Store(true)
				}
				return err
			})
		}
		find(top.Digest)

		var (
			present bool
			m       cachedManifest
			reads   errgroup.Group
		)
		reads.Go(func() (err error) {
			_, present, err = dst.HeadManifest(ctx, top.Digest.String())
			return err
		})
		reads.Go(func() (err error) {
			m, err = r.fetchManifest(ctx, src, top.Digest)
			return err
		})
		if err := reads.Wait(); err != nil {
			return err
		}
		topManifest = m
		subjects, err := subjectsOf(top.Digest, m)
		if err != nil {
			return err
		}
		for _, child := range subjects[1:] {
			find(child)
		}
		// A manifest present by digest was pushed after all of its content
		// (we push bottom-up), so the subtree needs nothing.
		if !present {
			if err := r.copyContent(ctx, src, dst, top.Digest, m, 0, moved); err != nil {
				return err
			}
		}
		if err := discover.Wait(); err != nil {
			return err
		}
		if !withReferrers.Load() {
			return nil
		}
		// Referrers go after their subject, so the destination never
		// holds a signature for a manifest it does not have.
		if !present {
			if err := dst.PutManifest(ctx, top.Digest.String(), m.raw, m.mt, top.Digest); err != nil {
				return err
			}
		}
		return r.copyReferrers(ctx, src, dst, subjects, 0, moved)
	})
	if err != nil || leader {
		return topManifest, err
	}
	return r.fetchManifest(ctx, src, top.Digest)
}

// subjectsOf lists the digests whose referrers travel with the manifest m
// (digest d): d itself and, for an index, its child manifests, since
// platform images are signed too.
func subjectsOf(d v1.Hash, m cachedManifest) ([]v1.Hash, error) {
	subjects := []v1.Hash{d}
	if !m.mt.IsIndex() {
		return subjects, nil
	}
	idx, err := distribution.ParseIndex(d, m.raw)
	if err != nil {
		return nil, err
	}
	for _, c := range idx.Manifests {
		if c.MediaType.IsIndex() || c.MediaType.IsImage() {
			subjects = append(subjects, c.Digest)
		}
	}
	return subjects, nil
}

// copyManifest makes the manifest desc (and everything it references) exist
// in dst by digest. The work is done once per destination repository per
// run, however many tags share it. A caller that needs the bytes reads them
// with fetchManifest, from the run's cache when this copy read them.
func (r *run) copyManifest(ctx context.Context, src, dst *distribution.Repository, desc v1.Descriptor, depth int, moved *atomic.Int64) error {
	_, err := r.share(ctx, "manifest|"+dst.Host()+"|"+dst.Path()+"|"+desc.Digest.String(), func() error {
		// A manifest already present by digest was pushed after all of its
		// content (we push bottom-up), so the whole subtree can be skipped
		// without even reading it from the source.
		_, found, err := dst.HeadManifest(ctx, desc.Digest.String())
		if err != nil || found {
			return err
		}
		m, err := r.fetchManifest(ctx, src, desc.Digest)
		if err != nil {
			return err
		}
		if err := r.copyContent(ctx, src, dst, desc.Digest, m, depth, moved); err != nil {
			return err
		}
		return dst.PutManifest(ctx, desc.Digest.String(), m.raw, m.mt, desc.Digest)
	})
	return err
}

// maxIndexDepth bounds indexes nested in indexes below a tag.
const maxIndexDepth = 4

// copyContent copies what the manifest m (digest d) references, so that m
// can be pushed: an index's child manifests and blobs, an image's config
// and layers. depth is how many indexes m is nested in.
func (r *run) copyContent(ctx context.Context, src, dst *distribution.Repository, d v1.Hash, m cachedManifest, depth int, moved *atomic.Int64) error {
	switch {
	case m.mt.IsIndex():
		if depth >= maxIndexDepth {
			return &distribution.LimitError{Reason: ReasonManifestTooLarge,
				What: fmt.Sprintf("index %s is nested more than %d indexes deep", d, maxIndexDepth)}
		}
		idx, err := distribution.ParseIndex(d, m.raw)
		if err != nil {
			return err
		}
		// Children in parallel (bounded), failing fast: the index cannot be
		// pushed unless every child landed.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(r.e.opts.BlobConcurrency)
		for _, c := range idx.Manifests {
			switch {
			case c.MediaType.IsIndex() || c.MediaType.IsImage():
				g.Go(func() error {
					return r.copyManifest(gctx, src, dst, c, depth+1, moved)
				})
			case !c.MediaType.IsDistributable() && !r.e.opts.AllowNondistributable:
			default:
				g.Go(func() error {
					n, err := r.copyBlob(gctx, src, dst, c)
					moved.Add(n)
					return err
				})
			}
		}
		return g.Wait()
	case m.mt.IsImage():
		// Only the blobs are needed: annotations, which may be most of a
		// large manifest, are not decoded.
		var mf struct {
			Config v1.Descriptor   `json:"config"`
			Layers []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(m.raw, &mf); err != nil {
			return fmt.Errorf("parsing manifest %s: %w", d, err)
		}
		return r.copyBlobs(ctx, src, dst, append([]v1.Descriptor{mf.Config}, mf.Layers...), moved)
	default:
		return &distribution.UnsupportedError{MediaType: string(m.mt)}
	}
}

// copyBlobs copies descs with bounded concurrency, failing fast: once one
// blob fails the others are cancelled, since the manifest cannot be pushed.
func (r *run) copyBlobs(ctx context.Context, src, dst *distribution.Repository, descs []v1.Descriptor, moved *atomic.Int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.e.opts.BlobConcurrency)
	seen := map[v1.Hash]bool{}
	for _, d := range descs {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		if !d.MediaType.IsDistributable() && !r.e.opts.AllowNondistributable {
			klog.FromContext(ctx).V(3).Info("leaving non-distributable layer unfetched", "digest", d.Digest.String(), "mediaType", string(d.MediaType))
			continue
		}
		g.Go(func() error {
			n, err := r.copyBlob(gctx, src, dst, d)
			moved.Add(n)
			return err
		})
	}
	return g.Wait()
}

type cachedManifest struct {
	raw []byte
	mt  types.MediaType
}

// maxRunManifestCache bounds the manifest bytes one run keeps for reuse;
// beyond it, a manifest needed twice is fetched twice.
const maxRunManifestCache = 32 << 20

// fetchManifest GETs a manifest by digest from src, verified, and caches it
// for the run so shared children are fetched once.
func (r *run) fetchManifest(ctx context.Context, src *distribution.Repository, d v1.Hash) (cachedManifest, error) {
	r.mu.Lock()
	m, ok := r.manifests[d]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	raw, mt, err := src.GetManifest(ctx, d.String(), &d)
	if err != nil {
		return cachedManifest{}, err
	}
	if mt.IsSchema1() {
		return cachedManifest{}, &distribution.UnsupportedError{MediaType: string(mt)}
	}
	m = cachedManifest{raw: raw, mt: mt}
	r.mu.Lock()
	if r.cachedBytes+len(raw) <= maxRunManifestCache {
		r.manifests[d] = m
		r.cachedBytes += len(raw)
	}
	r.mu.Unlock()
	return m, nil
}
