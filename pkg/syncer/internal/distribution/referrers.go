package distribution

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/pkg/digestname"
)

// Referrers lists the OCI 1.1 referrers of d: the referrers API when the
// registry supports it (404 means it does not), else the fallback tag.
func (r *Repository) Referrers(ctx context.Context, d v1.Hash) ([]v1.Descriptor, error) {
	idx, supported, err := r.referrersAPI(ctx, d)
	if err != nil {
		return nil, err
	}
	if !supported {
		idx, err = r.fallbackIndex(ctx, d)
		if err != nil {
			return nil, err
		}
	}
	if idx == nil {
		return nil, nil
	}
	return idx.Manifests, nil
}

func (r *Repository) referrersAPI(ctx context.Context, d v1.Hash) (*v1.IndexManifest, bool, error) {
	if rh := r.runHost; rh != nil {
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
	resp, err := r.do(ctx, call{
		op: "list referrers " + r.repo + "@" + d.String(), method: http.MethodGet,
		url: "/v2/" + r.repo + "/referrers/" + d.String(), accept: []string{string(types.OCIImageIndex)},
		// 404 is what the spec prescribes for "no referrers API"; registries
		// that predate it answer unknown endpoints with 400, 405 or 501.
		ok: []int{http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotImplemented},
	})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if r.runHost != nil {
			r.runHost.referrersAPI.CompareAndSwap(0, 2)
		}
		return nil, false, nil
	}
	if r.runHost != nil {
		r.runHost.referrersAPI.Store(1)
	}
	what := "list referrers " + r.repo + "@" + d.String()
	raw, err := r.client.readResponse(ctx, resp, MaxManifestSize, ReasonManifestTooLarge, what)
	if err != nil {
		return nil, true, err
	}
	idx, err := ParseIndex(d, raw)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", what, err)
	}
	return idx, true, nil
}

// fallbackIndex reads the sha256-<hex> tag; nil when absent.
func (r *Repository) fallbackIndex(ctx context.Context, d v1.Hash) (*v1.IndexManifest, error) {
	if !r.MayHaveTag(digestname.FallbackTag(d)) {
		return nil, nil
	}
	resp, err := r.do(ctx, call{
		op: "GET referrers tag " + r.repo + ":" + digestname.FallbackTag(d), method: http.MethodGet,
		url: "/v2/" + r.repo + "/manifests/" + digestname.FallbackTag(d), accept: manifestAccept,
		ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	what := "GET referrers tag " + r.repo + ":" + digestname.FallbackTag(d)
	raw, err := r.client.readResponse(ctx, resp, MaxManifestSize, ReasonManifestTooLarge, what)
	if err != nil {
		return nil, err
	}
	idx, err := ParseIndex(d, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return idx, nil
}

// IndexReferrers makes copied referrers discoverable at the destination. A
// registry with the referrers API indexes them itself from their subject;
// otherwise the fallback tag index is merged (never replaced, so
// referrers that exist only at the destination are kept).
func (r *Repository) IndexReferrers(ctx context.Context, d v1.Hash, copied []v1.Descriptor) error {
	_, supported, err := r.referrersAPI(ctx, d)
	if err != nil || supported {
		return err
	}
	idx, err := r.fallbackIndex(ctx, d)
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
	return r.PutManifest(ctx, digestname.FallbackTag(d), raw, types.OCIImageIndex, h)
}
