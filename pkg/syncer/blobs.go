package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/klog/v2"
)

// flight is one piece of shared work within a run (a blob, a manifest
// subtree, the referrers of a digest).
type flight struct {
	done     chan struct{}
	err      error
	canceled bool // the leader's own context was cancelled
}

// share runs fn once per key for the run: the first caller (the leader)
// does the work, later callers wait for its result. If the leader was
// cancelled by its own tag (fail-fast after a sibling blob failed) while a
// waiter's context is still alive, the waiter redoes the work instead of
// inheriting a cancellation that is not its own.
func (r *run) share(ctx context.Context, key string, fn func() error) (leader bool, err error) {
	for {
		r.mu.Lock()
		f, ok := r.flights[key]
		if !ok {
			f = &flight{done: make(chan struct{})}
			r.flights[key] = f
			r.mu.Unlock()
			f.err = fn()
			if f.err != nil && ctx.Err() != nil {
				f.canceled = true
				r.mu.Lock()
				delete(r.flights, key)
				r.mu.Unlock()
			}
			close(f.done)
			return true, f.err
		}
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if f.canceled && ctx.Err() == nil {
			continue
		}
		return false, f.err
	}
}

// landed records that digest exists in repo on host, so later blobs can be
// skipped without a HEAD or mounted from there.
func (r *run) markLanded(host, repo string, d v1.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := host + "|" + d.String()
	if r.landed[k] == nil {
		r.landed[k] = map[string]bool{}
	}
	r.landed[k][repo] = true
}

// landedIn reports whether digest is known in repo, and otherwise another
// repository on the same host that holds it (for a cross-repo mount).
func (r *run) landedIn(host, repo string, d v1.Hash) (here bool, other string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	repos := r.landed[host+"|"+d.String()]
	if repos[repo] {
		return true, ""
	}
	for o := range repos {
		if other == "" || o < other {
			other = o
		}
	}
	return false, other
}

// copyBlob makes desc exist in dst, moving bytes only if needed: known
// landed → nothing; HEAD finds it → nothing; landed in another destination
// repository this run → cross-repository mount; otherwise stream it from the
// source, digest-verified on the way. Bytes move at most once per
// destination host per run however many tags and repositories share the
// blob: a repository that needs a blob another repository is uploading
// waits for that upload and then mounts it. It returns the bytes uploaded
// by this call.
func (r *run) copyBlob(ctx context.Context, src, dst *repoClient, desc v1.Descriptor) (int64, error) {
	key := "blob|" + dst.host.host + "|" + dst.repo + "|" + desc.Digest.String()
	var n int64
	_, err := r.share(ctx, key, func() error {
		if here, _ := r.landedIn(dst.host.host, dst.repo, desc.Digest); here {
			return nil
		}
		exists, err := dst.headBlob(ctx, desc.Digest)
		if err != nil {
			return err
		}
		if exists {
			r.markLanded(dst.host.host, dst.repo, desc.Digest)
			return nil
		}
		transfer := func() error {
			err := r.e.withRetry(ctx, "copy blob "+desc.Digest.String(), retryPolicy{replayAfterReauth: true}, func(ctx context.Context) error {
				var aerr error
				n, aerr = r.transferBlob(ctx, src, dst, desc)
				return aerr
			})
			if err == nil {
				r.markLanded(dst.host.host, dst.repo, desc.Digest)
			}
			return err
		}
		// One upload per host: the leader transfers into its repository;
		// the others then mount from there (transferBlob prefers a mount
		// when the blob landed elsewhere). If the leader failed, try on
		// our own.
		leader, err := r.share(ctx, "upload|"+dst.host.host+"|"+desc.Digest.String(), transfer)
		if leader {
			return err
		}
		return transfer()
	})
	return n, err
}

// transferBlob is one attempt at mounting or streaming a blob. It holds one
// request slot on each host for the whole transfer.
func (r *run) transferBlob(ctx context.Context, src, dst *repoClient, desc v1.Descriptor) (int64, error) {
	ctx, release, err := holdHosts(ctx, src.host, dst.host)
	if err != nil {
		return 0, err
	}
	defer release()
	log := klog.FromContext(ctx)

	location := ""
	if _, from := r.landedIn(dst.host.host, dst.repo, desc.Digest); from != "" {
		q := url.Values{"mount": {desc.Digest.String()}, "from": {from}}
		resp, err := dst.do(ctx, call{
			op: "mount blob " + desc.Digest.String() + " into " + dst.repo, method: http.MethodPost,
			url: "/v2/" + dst.repo + "/blobs/uploads/?" + q.Encode(), extraScopes: []string{from},
			ok: []int{http.StatusCreated, http.StatusAccepted}, noRetry: true,
		})
		var he *httpError
		switch {
		case err == nil:
			resp.Body.Close()
			if resp.StatusCode == http.StatusCreated {
				log.V(3).Info("mounted blob", "digest", desc.Digest.String(), "from", from, "to", dst.repo)
				return 0, nil
			}
			// 202: the registry declined the mount and opened an upload.
			location = resp.Header.Get("Location")
		case errors.As(err, &he) && he.status >= 400 && he.status < 500 && he.status != http.StatusTooManyRequests:
			// The credential may push here but not read the other
			// repository, or the registry rejects mounts: a mount is an
			// optimisation, so upload instead.
			log.V(3).Info("mount refused, uploading", "digest", desc.Digest.String(), "from", from, "to", dst.repo, "status", he.status)
		default:
			return 0, err
		}
	}
	var source <-chan openedBlob
	if location == "" {
		if src.host != dst.host {
			// The upload is certain now, so the source stream opens while
			// the destination opens the upload: one round trip on the
			// copy's critical path instead of two. Each runs under its own
			// host's held slot.
			source = openBlob(ctx, src, desc)
		}
		resp, err := dst.do(ctx, call{
			op: "start upload to " + dst.repo, method: http.MethodPost,
			url: "/v2/" + dst.repo + "/blobs/uploads/", ok: []int{http.StatusAccepted}, noRetry: true,
		})
		if err != nil {
			closeOpened(source)
			return 0, err
		}
		resp.Body.Close()
		location = resp.Header.Get("Location")
	}
	if location == "" {
		closeOpened(source)
		return 0, fmt.Errorf("start upload to %s: registry returned no upload location", dst.repo)
	}

	if source == nil {
		source = openBlob(ctx, src, desc)
	}
	opened := <-source
	if opened.err != nil {
		return 0, opened.err
	}
	body := opened.body
	defer body.Close()
	vr := newVerifier(body, desc)

	u, err := dst.resolveURL(location)
	if err != nil {
		return 0, fmt.Errorf("upload to %s: %w", dst.repo, err)
	}
	q := u.Query()
	q.Set("digest", desc.Digest.String())
	u.RawQuery = q.Encode()
	var uploaded int64
	resp, err := dst.do(ctx, call{
		op: "upload blob " + desc.Digest.String() + " to " + dst.repo, method: http.MethodPut,
		url: u.String(), contentType: "application/octet-stream", stream: vr, size: desc.Size,
		ok: []int{http.StatusCreated, http.StatusNoContent, http.StatusOK}, noRetry: true,
		uploaded: &uploaded,
	})
	// A digest failure on our side is the real cause even if the upload
	// failed because we aborted it.
	if verr := vr.failed(); verr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return 0, verr
	}
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	log.V(3).Info("uploaded blob", "digest", desc.Digest.String(), "repository", dst.repo, "bytes", uploaded)
	return uploaded, nil
}

func (c *repoClient) headBlob(ctx context.Context, d v1.Hash) (bool, error) {
	resp, err := c.do(ctx, call{
		op: "HEAD blob " + c.repo + "@" + d.String(), method: http.MethodHead,
		url: "/v2/" + c.repo + "/blobs/" + d.String(), ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// openedBlob is a source blob stream being opened by openBlob.
type openedBlob struct {
	body io.ReadCloser
	err  error
}

// openBlob starts getBlob and delivers its outcome on the returned channel.
func openBlob(ctx context.Context, c *repoClient, desc v1.Descriptor) <-chan openedBlob {
	ch := make(chan openedBlob, 1)
	go func() {
		body, err := c.getBlob(ctx, desc)
		ch <- openedBlob{body, err}
	}()
	return ch
}

// closeOpened waits for a stream openBlob started and closes it, for a
// transfer that ends before reading it.
func closeOpened(ch <-chan openedBlob) {
	if ch == nil {
		return
	}
	if o := <-ch; o.body != nil {
		o.body.Close()
	}
}

// getBlob opens a stream of the blob (redirects to storage are followed
// without credentials). Retries happen at the transfer level.
func (c *repoClient) getBlob(ctx context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	resp, err := c.getBlobResponse(ctx, desc)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// getBlobResponse is getBlob with the response's headers.
func (c *repoClient) getBlobResponse(ctx context.Context, desc v1.Descriptor) (*http.Response, error) {
	return c.do(ctx, call{
		op: "GET blob " + c.repo + "@" + desc.Digest.String(), method: http.MethodGet,
		url: "/v2/" + c.repo + "/blobs/" + desc.Digest.String(), ok: []int{http.StatusOK}, noRetry: true,
		size: desc.Size,
	})
}

// verifier hashes a blob while it streams and fails the read that completes
// the expected size if the content does not match, so a corrupt source blob
// aborts the upload before the destination could accept it. More bytes
// than the descriptor's size are an error too.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	want v1.Hash
	size int64
	n    int64
	done bool

	// err is read by the caller after the request while the transport's
	// goroutine may still hold the body, hence the lock.
	mu  sync.Mutex
	err error
}

func newVerifier(r io.Reader, desc v1.Descriptor) *verifier {
	return &verifier{r: r, h: sha256.New(), want: desc.Digest, size: desc.Size}
}

func (v *verifier) failed() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

func (v *verifier) fail(err error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err == nil {
		v.err = err
	}
	return v.err
}

func (v *verifier) Read(p []byte) (int, error) {
	if err := v.failed(); err != nil {
		return 0, err
	}
	if v.want.Algorithm != "sha256" {
		return 0, v.fail(&unsupportedError{mediaType: "digest algorithm " + v.want.Algorithm})
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.n > v.size {
		return n, v.fail(&digestMismatchError{what: "blob " + v.want.String(), want: fmt.Sprintf("%d bytes", v.size), got: "more bytes"})
	}
	if v.n == v.size && !v.done {
		v.done = true
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			return n, v.fail(&digestMismatchError{what: "blob", want: v.want.String(), got: "sha256:" + got})
		}
	}
	if err == io.EOF && v.n < v.size {
		return n, v.fail(&digestMismatchError{what: "blob " + v.want.String(), want: fmt.Sprintf("%d bytes", v.size), got: fmt.Sprintf("%d bytes", v.n)})
	}
	return n, err
}
