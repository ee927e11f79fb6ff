package distribution

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// newTransports builds the client's two transports, one that may dial only
// public addresses and one for the host:ports a run may reach inside the
// network (see reach.go). TLS is always verified, against cfg.RootCAs or
// the system roots: there is deliberately no option to skip verification.
func newTransports(cfg Config) (public, internal http.RoundTripper) {
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	build := func(internal bool) http.RoundTripper {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Registries are reached directly: a proxy from the environment
		// would dial on the client's behalf, outside the dial policy.
		tr.Proxy = nil
		tr.MaxIdleConnsPerHost = 16
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
		tr.DialContext = (&policyDialer{resolver: resolver, dial: dial, internal: internal}).DialContext
		return tr
	}
	return build(false), build(true)
}

// LoadRootCAs returns the system's root CAs plus the PEM certificates in
// files, for Config.RootCAs.
func LoadRootCAs(files []string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f)
		}
	}
	return pool, nil
}

// hostState is what the client knows about one registry host: how to reach
// it, how it wants to be authenticated, and how many requests may be in
// flight. It is shared by every run so that /v2/ is pinged once per host.
type hostState struct {
	host    string // host[:port] as addressed
	scheme  string
	slots   *fairSlots
	breaker *breaker

	mu        sync.Mutex
	pinged    bool
	challenge challenge
}

func (c *Client) hostFor(host string) *hostState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[host]; ok {
		return h
	}
	scheme := "https"
	if c.insecure[host] {
		scheme = "http"
	}
	h := &hostState{host: host, scheme: scheme, slots: newFairSlots(c.cfg.PerRegistryConcurrency),
		breaker: &breaker{threshold: c.cfg.BreakerThreshold, cooldown: c.cfg.BreakerCooldown}}
	if changed := c.cfg.BreakerChanged; changed != nil {
		h.breaker.changed = func(open bool) { changed(host, open) }
	}
	c.hosts[host] = h
	return h
}

type heldKey struct{ host string }

// slotOwnerKey carries the tenant (the engine's Request.Tenant, or else the
// run) whose requests share a host's slots fairly with other tenants.
type slotOwnerKey struct{}

// WithSlotOwner says whose share of each host's request slots the requests
// ctx carries take: owner is a tenant, or a run that names none (any
// comparable value). See fairSlots.
func WithSlotOwner(ctx context.Context, owner any) context.Context {
	return context.WithValue(ctx, slotOwnerKey{}, owner)
}

// acquire takes a request slot on h unless ctx already holds one for h (a
// blob transfer holds its slots for the whole stream, and its inner requests
// must not wait on themselves).
func (h *hostState) acquire(ctx context.Context) (func(), error) {
	if ctx.Value(heldKey{h.host}) != nil {
		return func() {}, nil
	}
	owner := ctx.Value(slotOwnerKey{})
	if err := h.slots.acquire(ctx, owner); err != nil {
		return nil, err
	}
	return func() { h.slots.release(owner) }, nil
}

// holdHosts acquires one slot on each distinct host in a fixed order (which
// prevents deadlock between transfers) and marks them held in the returned
// context.
func holdHosts(ctx context.Context, hosts ...*hostState) (context.Context, func(), error) {
	var uniq []*hostState
	seen := map[string]bool{}
	for _, h := range hosts {
		if !seen[h.host] && ctx.Value(heldKey{h.host}) == nil {
			seen[h.host] = true
			uniq = append(uniq, h)
		}
	}
	for i := 1; i < len(uniq); i++ {
		if uniq[i].host < uniq[0].host {
			uniq[0], uniq[i] = uniq[i], uniq[0]
		}
	}
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	for _, h := range uniq {
		r, err := h.acquire(ctx)
		if err != nil {
			release()
			return ctx, func() {}, err
		}
		releases = append(releases, r)
		ctx = context.WithValue(ctx, heldKey{h.host}, true)
	}
	return ctx, release, nil
}

// watchdog bounds a request twice: it cancels the request at an absolute
// deadline (response and body), and earlier when the request stops moving.
// It checks in windows of the stall timeout. While the request waits (for
// its response, or for the registry to acknowledge an upload), a window
// that ends before the response arrives ends the request. While a body
// streams (a response body, or an upload's request body), every window
// must move at least minBytes: a registry that sends a trickle (a byte a
// second) is cut off after one window, not at the end of a deadline that
// grows with the blob's size, so it does not keep the slots the transfer
// holds on both registries.
type watchdog struct {
	timer     *time.Timer
	window    time.Duration
	minBytes  int64
	streaming atomic.Bool
	moved     atomic.Int64
	cancel    context.CancelCauseFunc
	deadline  context.CancelFunc
}

// lowSpeedFraction sets a window's minimum: a body must move at least this
// fraction of what Config.MinTransferRate would move in the window. A body
// slower than that for a whole window would miss its deadline by far.
const lowSpeedFraction = 8

// newWatchdog starts a watchdog in the waiting state. minRate is the
// slowest rate, in bytes per second, a streaming body may keep for a whole
// window before it counts as stalled (at least a byte per window).
func newWatchdog(ctx context.Context, stall, deadline time.Duration, minRate int64) (context.Context, *watchdog) {
	ctx, cancelDeadline := context.WithTimeoutCause(ctx, deadline, errDeadline)
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{window: stall, cancel: cancel, deadline: cancelDeadline,
		minBytes: max(1, int64(float64(minRate)/lowSpeedFraction*stall.Seconds()))}
	w.timer = time.AfterFunc(stall, w.check)
	return ctx, w
}

// check runs at the end of each window.
func (w *watchdog) check() {
	if !w.streaming.Load() {
		w.cancel(errWatchdog)
		return
	}
	if w.moved.Swap(0) < w.minBytes {
		w.cancel(errTooSlow)
		return
	}
	w.timer.Reset(w.window)
}

// stream starts a fresh window in which a body moves.
func (w *watchdog) stream() {
	w.moved.Store(0)
	w.streaming.Store(true)
	w.timer.Reset(w.window)
}

// wait starts a fresh window in which the request waits for the registry.
func (w *watchdog) wait() {
	w.streaming.Store(false)
	w.timer.Reset(w.window)
}

// progress records n bytes moved.
func (w *watchdog) progress(n int) { w.moved.Add(int64(n)) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(context.Canceled)
	w.deadline()
}

// timedOut returns the watchdog's cause when it ended ctx.
func timedOut(ctx context.Context) error {
	switch cause := context.Cause(ctx); cause {
	case errWatchdog, errTooSlow, errDeadline:
		return cause
	}
	return nil
}

// requestDeadline is the absolute deadline of a request that carries a body
// of size bytes: OperationTimeout, plus the time the body takes at
// MinTransferRate.
func (c *Client) requestDeadline(size int64) time.Duration {
	d := c.cfg.OperationTimeout
	if size > 0 {
		d += time.Duration(float64(size) / float64(c.cfg.MinTransferRate) * float64(time.Second))
	}
	return d
}

// watchedBody reports a response body's progress to the watchdog and
// releases it on Close.
type watchedBody struct {
	io.ReadCloser
	w       *watchdog
	ctx     context.Context
	release func()
	closed  bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.progress(n)
	if err != nil && err != io.EOF {
		if cause := timedOut(b.ctx); cause != nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.closed {
		b.closed = true
		b.w.stop()
		b.release()
	}
	return err
}

// progressReader reports an upload's progress to the watchdog as the request
// body is consumed, and puts the watchdog back to waiting when the body
// ends, while the registry digests what it received.
type progressReader struct {
	r io.Reader
	w *watchdog
	// n is atomic: the transport may still be reading the body in its own
	// goroutine when the response (e.g. an early error) has come back.
	n atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	p.w.progress(n)
	if err == io.EOF {
		p.w.wait()
	}
	return n, err
}
