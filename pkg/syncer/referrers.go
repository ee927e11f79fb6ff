package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/digestname"
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
func (r *run) findReferrers(ctx context.Context, src *repoClient, d v1.Hash) (referrerSet, error) {
	key := "find-referrers|" + src.host.host + "|" + src.repo + "|" + d.String()
	_, err := r.share(ctx, key, func() error {
		// Indexed by suffix, so the set keeps cosign's order whichever
		// lookup answers first.
		found := make([]*cosignArtifact, len(digestname.CosignSuffixes))
		var set referrerSet
		g, gctx := errgroup.WithContext(ctx)
		for i, s := range digestname.CosignSuffixes {
			tag := digestname.CosignTag(d, s)
			if src.knownTags != nil && !src.knownTags[tag] {
				continue // not in the tag list read this run
			}
			g.Go(func() error {
				desc, ok, err := src.headManifest(gctx, tag)
				if ok {
					found[i] = &cosignArtifact{tag: tag, desc: desc}
				}
				return err
			})
		}
		g.Go(func() (err error) {
			set.oci, err = src.referrers(gctx, d)
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
func (r *run) copyReferrers(ctx context.Context, src, dst *repoClient, subjects []v1.Hash, depth int, moved *atomic.Int64) error {
	// Each subject costs a few lookups even when it has no referrers, so
	// the subjects of a large index are examined in parallel (bounded).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.e.opts.BlobConcurrency)
	for _, d := range subjects {
		g.Go(func() error { return r.copyReferrersOf(gctx, src, dst, d, depth, moved) })
	}
	return g.Wait()
}

func (r *run) copyReferrersOf(ctx context.Context, src, dst *repoClient, d v1.Hash, depth int, moved *atomic.Int64) error {
	_, err := r.share(ctx, "referrers|"+dst.host.host+"|"+dst.repo+"|"+d.String(), func() error {
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
		return dst.indexReferrers(ctx, d, copied)
	})
	return err
}

// copyCosignTag copies one cosign tag-scheme artifact found at the source
// unless the destination has the same digest under that tag.
func (r *run) copyCosignTag(ctx context.Context, src, dst *repoClient, a cosignArtifact, moved *atomic.Int64) error {
	ddesc, dfound, err := dst.headManifest(ctx, a.tag)
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
	return dst.putManifest(ctx, a.tag, m.raw, m.mt, a.desc.Digest)
}

// referrers lists the OCI 1.1 referrers of d: the referrers API when the
// registry supports it (404 means it does not), else the fallback tag.
func (c *repoClient) referrers(ctx context.Context, d v1.Hash) ([]v1.Descriptor, error) {
	idx, supported, err := c.referrersAPI(ctx, d)
	if err != nil {
		return nil, err
	}
	if !supported {
		idx, err = c.fallbackIndex(ctx, d)
		if err != nil {
			return nil, err
		}
	}
	if idx == nil {
		return nil, nil
	}
	return idx.Manifests, nil
}

func (c *repoClient) referrersAPI(ctx context.Context, d v1.Hash) (*v1.IndexManifest, bool, error) {
	if rh := c.runHost; rh != nil {
		switch rh.referrersAPI.Load() {
		case 2:
			// Learnt earlier in this run: the registry is asked once.
			return nil, false, nil
		case 0:
			// One probe at a time until the answer is known, so
			// concurrent subjects do not all probe.
			rh.probe.Lock()
			switch rh.referrersAPI.Load() {
			case 0:
				defer rh.probe.Unlock()
			case 2:
				rh.probe.Unlock()
				return nil, false, nil
			default:
				rh.probe.Unlock()
			}
		}
	}
	resp, err := c.do(ctx, call{
		op: "list referrers " + c.repo + "@" + d.String(), method: http.MethodGet,
		url: "/v2/" + c.repo + "/referrers/" + d.String(), accept: []string{string(types.OCIImageIndex)},
		// 404 is what the spec prescribes for "no referrers API"; registries
		// that predate it answer unknown endpoints with 400, 405 or 501.
		ok: []int{http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotImplemented},
	})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if c.runHost != nil {
			c.runHost.referrersAPI.CompareAndSwap(0, 2)
		}
		return nil, false, nil
	}
	if c.runHost != nil {
		c.runHost.referrersAPI.Store(1)
	}
	what := "list referrers " + c.repo + "@" + d.String()
	raw, err := c.e.readResponse(ctx, resp, maxManifestSize, ReasonManifestTooLarge, what)
	if err != nil {
		return nil, true, err
	}
	idx, err := parseIndex(d, raw)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", what, err)
	}
	return idx, true, nil
}

// fallbackIndex reads the sha256-<hex> tag; nil when absent.
func (c *repoClient) fallbackIndex(ctx context.Context, d v1.Hash) (*v1.IndexManifest, error) {
	if c.knownTags != nil && !c.knownTags[digestname.FallbackTag(d)] {
		return nil, nil
	}
	resp, err := c.do(ctx, call{
		op: "GET referrers tag " + c.repo + ":" + digestname.FallbackTag(d), method: http.MethodGet,
		url: "/v2/" + c.repo + "/manifests/" + digestname.FallbackTag(d), accept: manifestAccept,
		ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	what := "GET referrers tag " + c.repo + ":" + digestname.FallbackTag(d)
	raw, err := c.e.readResponse(ctx, resp, maxManifestSize, ReasonManifestTooLarge, what)
	if err != nil {
		return nil, err
	}
	idx, err := parseIndex(d, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return idx, nil
}

// indexReferrers makes copied referrers discoverable at the destination. A
// registry with the referrers API indexes them itself from their subject;
// otherwise the fallback tag index is merged (never replaced, so
// referrers that exist only at the destination are kept).
func (c *repoClient) indexReferrers(ctx context.Context, d v1.Hash, copied []v1.Descriptor) error {
	_, supported, err := c.referrersAPI(ctx, d)
	if err != nil || supported {
		return err
	}
	idx, err := c.fallbackIndex(ctx, d)
	if err != nil {
		return err
	}
	if idx == nil {
		idx = &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	}
	have := map[v1.Hash]bool{}
	for _, m := range idx.Manifests {
		have[m.Digest] = true
	}
	changed := false
	for _, m := range copied {
		if !have[m.Digest] {
			idx.Manifests = append(idx.Manifests, m)
			have[m.Digest] = true
			changed = true
		}
	}
	if !changed {
		return nil
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("encoding referrers index: %w", err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	return c.putManifest(ctx, digestname.FallbackTag(d), raw, types.OCIImageIndex, h)
}
