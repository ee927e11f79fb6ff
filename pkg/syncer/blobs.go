package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
	"k8s.io/klog/v2"
)

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
func (r *run) copyBlob(ctx context.Context, src, dst *distribution.Repository, desc v1.Descriptor) (int64, error) {
	key := "blob|" + dst.Host() + "|" + dst.Path() + "|" + desc.Digest.String()
	var n int64
	_, err := r.share(ctx, key, func() error {
		if here, _ := r.landedIn(dst.Host(), dst.Path(), desc.Digest); here {
			return nil
		}
		exists, err := dst.HeadBlob(ctx, desc.Digest)
		if err != nil {
			return err
		}
		if exists {
			r.markLanded(dst.Host(), dst.Path(), desc.Digest)
			return nil
		}
		transfer := func() error {
			err := r.e.client.Retry(ctx, "copy blob "+desc.Digest.String(), func(ctx context.Context) error {
				var aerr error
				n, aerr = r.transferBlob(ctx, src, dst, desc)
				return aerr
			})
			if err == nil {
				r.markLanded(dst.Host(), dst.Path(), desc.Digest)
			}
			return err
		}
		// One upload per host: the leader transfers into its repository;
		// the others then mount from there (transferBlob prefers a mount
		// when the blob landed elsewhere). If the leader failed, try on
		// our own.
		leader, err := r.share(ctx, "upload|"+dst.Host()+"|"+desc.Digest.String(), transfer)
		if leader {
			return err
		}
		return transfer()
	})
	return n, err
}

// transferBlob is one attempt at mounting or streaming a blob. It holds one
// request slot on each host for the whole transfer.
func (r *run) transferBlob(ctx context.Context, src, dst *distribution.Repository, desc v1.Descriptor) (int64, error) {
	ctx, release, err := distribution.Hold(ctx, src, dst)
	if err != nil {
		return 0, err
	}
	defer release()

	location := ""
	if _, from := r.landedIn(dst.Host(), dst.Path(), desc.Digest); from != "" {
		mounted, loc, err := dst.MountBlob(ctx, desc.Digest, from)
		if err != nil || mounted {
			return 0, err
		}
		location = loc
	}
	var source <-chan openedBlob
	if location == "" {
		if src.Host() != dst.Host() {
			// The upload is certain now, so the source stream opens while
			// the destination opens the upload: one round trip on the
			// copy's critical path instead of two. Each runs under its own
			// host's held slot.
			source = openBlob(ctx, src, desc)
		}
		location, err = dst.StartUpload(ctx)
		if err != nil {
			closeOpened(source)
			return 0, err
		}
	}
	if location == "" {
		closeOpened(source)
		return 0, fmt.Errorf("start upload to %s: registry returned no upload location", dst.Path())
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
	uploaded, err := dst.PutBlob(ctx, location, desc, vr)
	// A digest failure on our side is the real cause even if the upload
	// failed because we aborted it.
	if verr := vr.failed(); verr != nil {
		return 0, verr
	}
	if err != nil {
		return 0, err
	}
	klog.FromContext(ctx).V(3).Info("uploaded blob", "digest", desc.Digest.String(), "repository", dst.Path(), "bytes", uploaded)
	return uploaded, nil
}

// openedBlob is a source blob stream being opened by openBlob.
type openedBlob struct {
	body io.ReadCloser
	err  error
}

// openBlob starts GetBlob and delivers its outcome on the returned channel.
func openBlob(ctx context.Context, c *distribution.Repository, desc v1.Descriptor) <-chan openedBlob {
	ch := make(chan openedBlob, 1)
	go func() {
		body, err := c.GetBlob(ctx, desc)
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
		return 0, v.fail(&distribution.UnsupportedError{MediaType: "digest algorithm " + v.want.Algorithm})
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.n > v.size {
		return n, v.fail(&distribution.DigestMismatchError{What: "blob " + v.want.String(), Want: fmt.Sprintf("%d bytes", v.size), Got: "more bytes"})
	}
	if v.n == v.size && !v.done {
		v.done = true
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			return n, v.fail(&distribution.DigestMismatchError{What: "blob", Want: v.want.String(), Got: "sha256:" + got})
		}
	}
	if err == io.EOF && v.n < v.size {
		return n, v.fail(&distribution.DigestMismatchError{What: "blob " + v.want.String(), Want: fmt.Sprintf("%d bytes", v.size), Got: fmt.Sprintf("%d bytes", v.n)})
	}
	return n, err
}
