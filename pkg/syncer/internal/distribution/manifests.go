package distribution

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestAccept lists the manifest media types the engine copies. Schema 1
// is deliberately absent: it cannot be copied with its digest preserved.
var manifestAccept = []string{
	string(types.OCIImageIndex),
	string(types.DockerManifestList),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestSchema2),
}

// HeadManifest returns the descriptor of ref (tag or digest). found is false
// on 404. Registries that omit Docker-Content-Digest on HEAD cost a GET.
func (r *Repository) HeadManifest(ctx context.Context, ref string) (desc v1.Descriptor, found bool, err error) {
	resp, err := r.do(ctx, call{
		op: "HEAD manifest " + r.repo + ":" + ref, method: http.MethodHead,
		url: "/v2/" + r.repo + "/manifests/" + ref, accept: manifestAccept,
		ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return v1.Descriptor{}, false, nil
	}
	dg := resp.Header.Get("Docker-Content-Digest")
	h, herr := v1.NewHash(dg)
	if herr != nil {
		raw, mt, gerr := r.GetManifest(ctx, ref, nil)
		if gerr != nil {
			return v1.Descriptor{}, false, gerr
		}
		h, _, _ = v1.SHA256(bytes.NewReader(raw))
		return v1.Descriptor{Digest: h, MediaType: mt, Size: int64(len(raw))}, true, nil
	}
	size, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	return v1.Descriptor{Digest: h, MediaType: types.MediaType(resp.Header.Get("Content-Type")), Size: size}, true, nil
}

// GetManifest fetches ref. When want is set the content must hash to it:
// this is what makes "copy by digest" safe against a registry (or a moved
// tag) serving something else.
func (r *Repository) GetManifest(ctx context.Context, ref string, want *v1.Hash) ([]byte, types.MediaType, error) {
	raw, mt, _, err := r.readManifest(ctx, ref, want, false)
	return raw, mt, err
}

// GetManifestIfFound fetches ref, which may be absent (found false on 404),
// in one GET: a HEAD first would cost a second request whenever it exists.
func (r *Repository) GetManifestIfFound(ctx context.Context, ref string) (raw []byte, mt types.MediaType, found bool, err error) {
	return r.readManifest(ctx, ref, nil, true)
}

func (r *Repository) readManifest(ctx context.Context, ref string, want *v1.Hash, allowMissing bool) ([]byte, types.MediaType, bool, error) {
	ok := []int{http.StatusOK}
	if allowMissing {
		ok = append(ok, http.StatusNotFound)
	}
	resp, err := r.do(ctx, call{
		op: "GET manifest " + r.repo + "@" + ref, method: http.MethodGet,
		url: "/v2/" + r.repo + "/manifests/" + ref, accept: manifestAccept,
		ok: ok,
	})
	if err != nil {
		return nil, "", false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, "", false, nil
	}
	raw, err := r.client.readResponse(ctx, resp, MaxManifestSize, ReasonManifestTooLarge, "GET manifest "+r.repo+"@"+ref)
	if err != nil {
		return nil, "", false, err
	}
	if want != nil {
		got, _, _ := v1.SHA256(bytes.NewReader(raw))
		if got != *want {
			return nil, "", false, &DigestMismatchError{What: "manifest " + r.repo + "@" + ref, Want: want.String(), Got: got.String()}
		}
	}
	mt := types.MediaType(resp.Header.Get("Content-Type"))
	if mt == "" || !(mt.IsIndex() || mt.IsImage()) {
		// Fall back to the mediaType field for registries that send a
		// generic content type.
		mt = sniffMediaType(raw, mt)
	}
	return raw, mt, true, nil
}

// PutManifest uploads raw under ref (digest or tag) and checks the
// registry computed the digest we expect.
func (r *Repository) PutManifest(ctx context.Context, ref string, raw []byte, mt types.MediaType, want v1.Hash) error {
	resp, err := r.do(ctx, call{
		op: "PUT manifest " + r.repo + ":" + ref, method: http.MethodPut,
		url: "/v2/" + r.repo + "/manifests/" + ref, contentType: string(mt), body: raw,
		ok: []int{http.StatusCreated, http.StatusOK, http.StatusAccepted},
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if dg := resp.Header.Get("Docker-Content-Digest"); dg != "" && dg != want.String() {
		return &DigestMismatchError{What: "pushed manifest " + r.repo + ":" + ref, Want: want.String(), Got: dg}
	}
	return nil
}

func sniffMediaType(raw []byte, fallback types.MediaType) types.MediaType {
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests []any           `json:"manifests"`
		Config    *any            `json:"config"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fallback
	}
	switch {
	case m.MediaType != "":
		return m.MediaType
	case m.Manifests != nil:
		return types.OCIImageIndex
	case m.Config != nil:
		return types.OCIManifestSchema1
	}
	return fallback
}
