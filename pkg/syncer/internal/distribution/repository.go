package distribution

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/klog/v2"
)

// Repository speaks the distribution API for one repository on one side of
// a run (source or destination) with that side's credentials.
type Repository struct {
	client *Client
	host   *hostState
	ref    name.Repository
	repo   string // repository path on the registry, e.g. "library/nginx"
	auth   *authorizer
	push   bool // destination side: tokens ask for pull,push

	// knownTags, when not nil, is every tag of the repository as listed
	// in this run (set before any tag is synced, read-only afterwards):
	// cosign and referrers fallback tags missing from it are not looked up.
	knownTags map[string]bool
	// runHost is what this run learnt about the repository's host.
	runHost *runHost
}

// Repository returns the client of repo for one side of the session's run,
// resolving that side's keychain (nil is anonymous) for it. push asks for
// pull,push tokens (the destination of a run that writes).
func (c *Client) Repository(ctx context.Context, s *Session, repo name.Repository, keychain authn.Keychain, push bool) (*Repository, error) {
	host := c.hostFor(strings.ToLower(repo.RegistryStr()))
	a, err := c.newAuthorizer(ctx, host, keychain, repo)
	if err != nil {
		return nil, err
	}
	return &Repository{client: c, host: host, ref: repo, repo: repo.RepositoryStr(), auth: a, push: push, runHost: s.host(host.host)}, nil
}

// Ref is the repository's reference, registry included.
func (r *Repository) Ref() name.Repository { return r.ref }

// Path is the repository's path on its registry, e.g. "library/nginx".
func (r *Repository) Path() string { return r.repo }

// Host is the registry's host[:port] as it is addressed, lower-cased.
// Repositories on the same Host share its request slots, ping and breaker.
func (r *Repository) Host() string { return r.host.host }

// SetKnownTags records the repository's tag list as read in this run, so
// that lookups of tags missing from it (cosign and referrers fallback tags)
// are not sent. It must be called before the repository is used
// concurrently.
func (r *Repository) SetKnownTags(tags []string) {
	r.knownTags = make(map[string]bool, len(tags))
	for _, t := range tags {
		r.knownTags[t] = true
	}
}

// MayHaveTag reports whether tag may exist in the repository: false only
// when the run read the tag list (SetKnownTags) and tag is not in it.
func (r *Repository) MayHaveTag(tag string) bool {
	return r.knownTags == nil || r.knownTags[tag]
}

func (r *Repository) scopes(extra ...string) []string {
	action := "pull"
	if r.push {
		action = "pull,push"
	}
	s := []string{"repository:" + r.repo + ":" + action}
	for _, x := range extra {
		s = append(s, "repository:"+x+":pull")
	}
	return s
}

// call describes one registry request.
type call struct {
	op          string // for messages, e.g. "HEAD manifest src/app:1.0"
	method      string
	url         string // "/v2/..." (relative to the host) or absolute
	accept      []string
	contentType string
	body        []byte    // small replayable body (manifests)
	stream      io.Reader // streamed body (blob upload); never retried here
	// size is the length of a streamed body, sent (stream) or received (a
	// blob GET); it extends the request's deadline.
	size        int64
	ok          []int    // statuses that are success; others become errors
	extraScopes []string // extra repositories to pull from (cross-repo mount)
	noRetry     bool     // the caller retries the whole operation itself
	// uploaded, when set, is increased by the bytes of stream sent, even
	// when the request fails.
	uploaded *int64
}

// ensurePing pings /v2/ once per host (for the lifetime of the Client) to
// learn the auth challenge. Concurrent first requests wait for the same ping.
func (c *Client) ensurePing(ctx context.Context, h *hostState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pinged {
		return nil
	}
	err := c.withRetry(ctx, "ping "+h.host, retryPolicy{replayAfterReauth: true}, func(ctx context.Context) error {
		ctx, wd := newWatchdog(ctx, c.cfg.OperationTimeout, c.cfg.OperationTimeout, c.cfg.MinTransferRate)
		defer wd.stop()
		req, err := c.newRequest(ctx, http.MethodGet, h.scheme+"://"+h.host+"/v2/", nil)
		if err != nil {
			return fmt.Errorf("ping %s: %w", h.host, err)
		}
		resp, err := c.httpClient().Do(req)
		if err != nil {
			if cause := timedOut(ctx); cause != nil {
				return fmt.Errorf("ping %s: %w", h.host, cause)
			}
			return fmt.Errorf("ping %s: %w", h.host, scrubURLError(err))
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		switch resp.StatusCode {
		case http.StatusOK:
			h.challenge = challenge{}
		case http.StatusUnauthorized:
			h.challenge = parseChallenge(resp.Header.Get("WWW-Authenticate"))
		default:
			return &httpError{op: "ping " + h.host, status: resp.StatusCode}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.pinged = true
	klog.FromContext(ctx).V(4).Info("pinged registry", "host", h.host, "auth", h.challenge.scheme)
	return nil
}

// do performs c with retries for transient failures, re-authentication on
// 401 and Retry-After handling on 429. On success the caller owns the
// response body; it must be closed (it releases the request slot and the
// watchdog).
func (r *Repository) do(ctx context.Context, cl call) (*http.Response, error) {
	c := r.client
	// A side with credentials pings once per host to learn the challenge
	// before sending them. An anonymous side needs no ping: it sends no
	// credentials, and if the registry wants a (token) challenge the 401
	// of the first request carries it and the request is replayed once
	// below, so an up-to-date tag still costs one HEAD per side.
	if !r.auth.anonymous() {
		if err := c.ensurePing(ctx, r.host); err != nil {
			return nil, err
		}
	}
	var resp *http.Response
	err := c.withRetry(ctx, cl.op, retryPolicy{replayAfterReauth: cl.stream == nil, noRetry: cl.noRetry}, func(ctx context.Context) error {
		var err error
		resp, err = r.attempt(ctx, cl)
		return err
	})
	return resp, err
}

// attempt performs cl once and says what its failure asks of the retry
// loop: after a 401 the credentials are refreshed (tokens and credentials
// expire, and anonymous pings can hide a repository's challenge) and the
// error is a reauthError; a 429 is a rateLimitError that is honoured in-run
// when its wait is within RetryAfterCap (here, or by the caller's retry
// loop for operations that cannot be replayed alone).
func (r *Repository) attempt(ctx context.Context, cl call) (*http.Response, error) {
	resp, err := r.once(ctx, cl)
	if err == nil {
		return resp, nil
	}
	var he *httpError
	if errors.As(err, &he) && he.status == http.StatusUnauthorized {
		r.auth.refresh(ctx)
		return nil, &reauthError{err: err}
	}
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return nil, &rateLimitError{op: cl.op, retryAfter: time.Now().Add(ra.after), wait: ra.after, honour: ra.after <= r.client.cfg.RetryAfterCap}
	}
	return nil, err
}

// reauthError is a 401 after which credentials were refreshed; the caller
// may replay the whole operation once (a streamed upload cannot be replayed
// here). It classifies as the 401 it wraps.
type reauthError struct{ err error }

func (e *reauthError) Error() string { return e.err.Error() }
func (e *reauthError) Unwrap() error { return e.err }

// retryAfterError is an internal 429 signal carrying the requested wait.
type retryAfterError struct{ after time.Duration }

func (e *retryAfterError) Error() string { return "too many requests" }

// once performs a single attempt of cl.
func (r *Repository) once(ctx context.Context, cl call) (*http.Response, error) {
	c := r.client
	u, err := r.resolveURL(cl.url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	report, err := r.host.breaker.admit(r.host.host, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	outcome := notSent
	defer func() { report(outcome) }()
	release, err := r.host.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	wctx, wd := newWatchdog(ctx, c.cfg.OperationTimeout, c.requestDeadline(cl.size), c.cfg.MinTransferRate)
	done := func() { wd.stop(); release() }

	var body io.Reader
	var pr *progressReader
	switch {
	case cl.stream != nil:
		pr = &progressReader{r: cl.stream, w: wd}
		body = pr
		wd.stream()
	case cl.body != nil:
		body = bytes.NewReader(cl.body)
	}
	req, err := c.newRequest(wctx, cl.method, u.String(), body)
	if err != nil {
		done()
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	switch {
	case cl.stream != nil:
		req.ContentLength = cl.size
	case cl.body != nil:
		req.ContentLength = int64(len(cl.body))
	}
	if len(cl.accept) > 0 {
		req.Header.Set("Accept", strings.Join(cl.accept, ", "))
	}
	if cl.contentType != "" {
		req.Header.Set("Content-Type", cl.contentType)
	}
	// Credentials go only to the registry host itself, over the scheme it
	// is spoken to with (an upload Location or a Link may point elsewhere).
	if u.Scheme == r.host.scheme && strings.EqualFold(u.Host, r.host.host) {
		h, err := r.auth.header(wctx, r.scopes(cl.extraScopes...))
		if err != nil {
			done()
			return nil, fmt.Errorf("%s: %w", cl.op, err)
		}
		if h != "" {
			req.Header.Set("Authorization", h)
		}
	}
	resp, err := c.httpClient().Do(req)
	if pr != nil && cl.uploaded != nil {
		*cl.uploaded += pr.n.Load()
	}
	switch {
	case err == nil && resp.StatusCode >= 500:
		outcome = serverError
	case err == nil:
		outcome = answered
	case ctx.Err() == nil && !isBlocked(err):
		// The registry did not answer: a failed connection or a request
		// past its deadline.
		outcome = serverError
	}
	if err != nil {
		cause := timedOut(wctx)
		done()
		if cause != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: %w", cl.op, cause)
		}
		return nil, fmt.Errorf("%s: %w", cl.op, scrubURLError(err))
	}
	for _, s := range cl.ok {
		if resp.StatusCode == s {
			wd.stream()
			resp.Body = &watchedBody{ReadCloser: resp.Body, w: wd, ctx: wctx, release: release}
			return resp, nil
		}
	}
	defer done()
	defer resp.Body.Close()
	code := registryErrorCode(resp.Body)
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return nil, &retryAfterError{after: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case http.StatusUnauthorized:
		if ch := resp.Header.Get("WWW-Authenticate"); ch != "" {
			r.host.mu.Lock()
			r.host.challenge = parseChallenge(ch)
			r.host.mu.Unlock()
		}
	}
	return nil, &httpError{op: cl.op, status: resp.StatusCode, code: code}
}

// resolveURL turns "/v2/..." or an absolute URL a registry sent (upload
// Location, Link) into a URL relative to this registry. It refuses schemes
// other than http and https, and plain http from a registry spoken to over
// https.
func (r *Repository) resolveURL(raw string) (*url.URL, error) {
	base := &url.URL{Scheme: r.host.scheme, Host: r.host.host, Path: "/"}
	ref, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL from registry")
	}
	u := base.ResolveReference(ref)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &blockedError{why: "a URL with a scheme other than http or https"}
	case r.host.scheme == "https" && u.Scheme == "http":
		return nil, &blockedError{why: "a plain http URL from a registry spoken to over https"}
	case u.Host == "":
		return nil, fmt.Errorf("invalid URL from registry")
	}
	return u, nil
}

// registryErrorCode extracts only the first error code of a registry error
// body. The message and detail fields are deliberately dropped: they are
// raw registry text and may echo credentials.
func registryErrorCode(body io.Reader) string {
	var eb struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&eb); err != nil || len(eb.Errors) == 0 {
		return ""
	}
	code := eb.Errors[0].Code
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9') {
			return ""
		}
	}
	if len(code) > 40 {
		return ""
	}
	return code
}

// scrubURLError drops the URL from *url.Error: it can carry signed query
// parameters of a redirect target. The operation name already says what
// failed.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
