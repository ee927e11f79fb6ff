package syncer

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"
)

// copyImage copies the manifest tree rooted at top (already resolved to a
// digest) and its referrers, then moves the tag. Order is what keeps a
// failure invisible: blobs, child manifests by digest, the top manifest by
// digest, referrers, and the tag last.
func (r *run) copyImage(ctx context.Context, src, dst *repoClient, top v1.Descriptor, tag string, moved *atomic.Int64) error {
	raw, mt, err := r.copyManifest(ctx, src, dst, top, moved)
	if err != nil {
		return err
	}
	if raw == nil {
		// Present at the destination by digest already (an earlier run
		// failed after pushing it, or another tag shares it): the tag still
		// needs the bytes and referrers still need the children.
		m, err := r.fetchManifest(ctx, src, top.Digest)
		if err != nil {
			return err
		}
		raw, mt = m.raw, m.mt
	}
	subjects := []v1.Hash{top.Digest}
	if mt.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", top.Digest, err)
		}
		for _, c := range idx.Manifests {
			if c.MediaType.IsIndex() || c.MediaType.IsImage() {
				subjects = append(subjects, c.Digest)
			}
		}
	}
	if err := r.copyReferrers(ctx, src, dst, subjects, 0, moved); err != nil {
		return err
	}
	// Tag last: only now does the new digest become visible under the tag.
	return dst.putManifest(ctx, tag, raw, mt, top.Digest)
}

// copyManifest makes the manifest desc (and everything it references) exist
// in dst by digest and returns its verified content. The work is done once
// per destination repository per run, however many tags share it.
func (r *run) copyManifest(ctx context.Context, src, dst *repoClient, desc v1.Descriptor, moved *atomic.Int64) ([]byte, types.MediaType, error) {
	key := "manifest|" + dst.host.host + "|" + dst.repo + "|" + desc.Digest.String()
	var m cachedManifest
	leader, err := r.share(ctx, key, func() error {
		// A manifest already present by digest was pushed after all of its
		// content (we push bottom-up), so the whole subtree can be skipped
		// without even reading it from the source.
		_, found, err := dst.headManifest(ctx, desc.Digest.String())
		if err != nil {
			return err
		}
		if found {
			return nil
		}
		m, err = r.fetchManifest(ctx, src, desc.Digest)
		if err != nil {
			return err
		}
		switch {
		case m.mt.IsIndex():
			idx, err := v1.ParseIndexManifest(bytes.NewReader(m.raw))
			if err != nil {
				return fmt.Errorf("parsing index %s: %w", desc.Digest, err)
			}
			// Children in parallel (bounded), failing fast: the index
			// cannot be pushed unless every child landed.
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(r.e.opts.BlobConcurrency)
			for _, c := range idx.Manifests {
				switch {
				case c.MediaType.IsIndex() || c.MediaType.IsImage():
					g.Go(func() error {
						_, _, err := r.copyManifest(gctx, src, dst, c, moved)
						return err
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
			if err := g.Wait(); err != nil {
				return err
			}
		case m.mt.IsImage():
			mf, err := v1.ParseManifest(bytes.NewReader(m.raw))
			if err != nil {
				return fmt.Errorf("parsing manifest %s: %w", desc.Digest, err)
			}
			if err := r.copyBlobs(ctx, src, dst, append([]v1.Descriptor{mf.Config}, mf.Layers...), moved); err != nil {
				return err
			}
		default:
			return &unsupportedError{mediaType: string(m.mt)}
		}
		return dst.putManifest(ctx, desc.Digest.String(), m.raw, m.mt, desc.Digest)
	})
	if err != nil {
		return nil, "", err
	}
	if !leader {
		m = r.manifest(desc.Digest)
	}
	return m.raw, m.mt, nil
}

// copyBlobs copies descs with bounded concurrency, failing fast: once one
// blob fails the others are cancelled, since the manifest cannot be pushed.
func (r *run) copyBlobs(ctx context.Context, src, dst *repoClient, descs []v1.Descriptor, moved *atomic.Int64) error {
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

// fetchManifest GETs a manifest by digest from src, verified, and caches it
// for the run so shared children are fetched once.
func (r *run) fetchManifest(ctx context.Context, src *repoClient, d v1.Hash) (cachedManifest, error) {
	r.mu.Lock()
	m, ok := r.manifests[d]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	raw, mt, err := src.getManifest(ctx, d.String(), &d)
	if err != nil {
		return cachedManifest{}, err
	}
	if mt.IsSchema1() {
		return cachedManifest{}, &unsupportedError{mediaType: string(mt)}
	}
	m = cachedManifest{raw: raw, mt: mt}
	r.mu.Lock()
	r.manifests[d] = m
	r.mu.Unlock()
	return m, nil
}

func (r *run) manifest(d v1.Hash) cachedManifest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manifests[d]
}
