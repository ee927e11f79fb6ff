package distribution

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/klog/v2"
)

// HeadBlob reports whether the repository holds the blob d.
func (r *Repository) HeadBlob(ctx context.Context, d v1.Hash) (bool, error) {
	resp, err := r.do(ctx, call{
		op: "HEAD blob " + r.repo + "@" + d.String(), method: http.MethodHead,
		url: "/v2/" + r.repo + "/blobs/" + d.String(), ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// MountBlob asks the registry to mount the blob d into the repository from
// the repository from on the same host. mounted is true when it did;
// otherwise the registry either opened an upload instead (its location) or
// refused the mount (no location, no error): the credential may push here
// but not read from, or the registry rejects mounts. A mount is an
// optimisation, so a refusal is for the caller to upload instead. It is
// not retried: the caller retries the whole transfer.
func (r *Repository) MountBlob(ctx context.Context, d v1.Hash, from string) (mounted bool, location string, err error) {
	q := url.Values{"mount": {d.String()}, "from": {from}}
	resp, err := r.do(ctx, call{
		op: "mount blob " + d.String() + " into " + r.repo, method: http.MethodPost,
		url: "/v2/" + r.repo + "/blobs/uploads/?" + q.Encode(), extraScopes: []string{from},
		ok: []int{http.StatusCreated, http.StatusAccepted}, noRetry: true,
	})
	switch status := statusOf(err); {
	case err == nil:
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			klog.FromContext(ctx).V(3).Info("mounted blob", "digest", d.String(), "from", from, "to", r.repo)
			return true, "", nil
		}
		// 202: the registry declined the mount and opened an upload.
		return false, resp.Header.Get("Location"), nil
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
		klog.FromContext(ctx).V(3).Info("mount refused, uploading", "digest", d.String(), "from", from, "to", r.repo, "status", status)
		return false, "", nil
	default:
		return false, "", err
	}
}

// StartUpload opens a blob upload and returns its location as the registry
// sent it ("" when it sent none). It is not retried: the caller retries the
// whole transfer.
func (r *Repository) StartUpload(ctx context.Context) (location string, err error) {
	resp, err := r.do(ctx, call{
		op: "start upload to " + r.repo, method: http.MethodPost,
		url: "/v2/" + r.repo + "/blobs/uploads/", ok: []int{http.StatusAccepted}, noRetry: true,
	})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Location"), nil
}

// PutBlob streams body, the blob desc, to the upload at location (as
// StartUpload or MountBlob returned it) and completes the upload. uploaded
// is the number of bytes of body sent, even when the upload failed. The
// stream cannot be replayed, so it is not retried: the caller retries the
// whole transfer.
func (r *Repository) PutBlob(ctx context.Context, location string, desc v1.Descriptor, body io.Reader) (uploaded int64, err error) {
	u, err := r.resolveURL(location)
	if err != nil {
		return 0, fmt.Errorf("upload to %s: %w", r.repo, err)
	}
	q := u.Query()
	q.Set("digest", desc.Digest.String())
	u.RawQuery = q.Encode()
	resp, err := r.do(ctx, call{
		op: "upload blob " + desc.Digest.String() + " to " + r.repo, method: http.MethodPut,
		url: u.String(), contentType: "application/octet-stream", stream: body, size: desc.Size,
		ok: []int{http.StatusCreated, http.StatusNoContent, http.StatusOK}, noRetry: true,
		uploaded: &uploaded,
	})
	if err != nil {
		return uploaded, err
	}
	resp.Body.Close()
	return uploaded, nil
}

// GetBlob opens a stream of the blob (redirects to storage are followed
// without credentials). It is not retried: the caller retries the whole
// transfer. The stream is not verified against desc; its request's
// deadline grows with desc.Size.
func (r *Repository) GetBlob(ctx context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	resp, err := r.getBlobResponse(ctx, desc)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// getBlobResponse is GetBlob with the response's headers.
func (r *Repository) getBlobResponse(ctx context.Context, desc v1.Descriptor) (*http.Response, error) {
	return r.do(ctx, call{
		op: "GET blob " + r.repo + "@" + desc.Digest.String(), method: http.MethodGet,
		url: "/v2/" + r.repo + "/blobs/" + desc.Digest.String(), ok: []int{http.StatusOK}, noRetry: true,
		size: desc.Size,
	})
}

// ReadBlob reads the blob d, of at most max bytes (a larger one is an
// error matching ErrTooLarge), checks it against d and passes it to parse.
// Its bytes count against Config.ReadMemory until parse returns; a read
// waits for its share. Failures of the registry are retried; parse's error
// is returned as it is and never retried.
func (r *Repository) ReadBlob(ctx context.Context, d v1.Hash, max int64, parse func(data []byte) error) error {
	c := r.client
	what := "GET blob " + r.repo + "@" + d.String()
	var parseErr error
	err := c.withRetry(ctx, what, retryPolicy{replayAfterReauth: true}, func(ctx context.Context) error {
		resp, err := r.getBlobResponse(ctx, v1.Descriptor{Digest: d, Size: max})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return c.readResponseThen(ctx, resp, max, ReasonBlobTooLarge, what, func(data []byte) error {
			if got, _, _ := v1.SHA256(bytes.NewReader(data)); got != d {
				return &DigestMismatchError{What: "blob " + r.repo + "@" + d.String(), Want: d.String(), Got: got.String()}
			}
			// parse's verdict is not the registry's failure: it is not
			// retried.
			parseErr = parse(data)
			return nil
		})
	})
	if err != nil {
		return err
	}
	return parseErr
}
