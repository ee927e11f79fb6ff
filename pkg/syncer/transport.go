package syncer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// newBaseTransport builds the HTTP transport. TLS verification is always on:
// there is deliberately no option to skip it. Extra CAs are added to the
// system roots rather than replacing them.
func newBaseTransport(opts Options) (http.RoundTripper, error) {
	if opts.Transport != nil {
		return opts.Transport, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.RootCAs == nil {
		return tr, nil
	}
	// x509.CertPool cannot be merged, so with extra CAs we verify the chain
	// ourselves against the system roots and then the extra pool. The
	// standard verifier is switched off only to be replaced by this one,
	// which performs the same chain and host name checks.
	extra := opts.RootCAs
	tr.TLSClientConfig.InsecureSkipVerify = true
	tr.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyWithPools(cs, cs.ServerName, extra)
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := tr.TLSClientConfig.Clone()
		cfg.ServerName = host
		// SNI is not sent for IP addresses, so cs.ServerName would be
		// empty: verify against the dialled host explicitly.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyWithPools(cs, host, extra)
		}
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
	return tr, nil
}

// verifyWithPools verifies the peer chain for host against the system roots
// and, failing that, against the extra CAs.
func verifyWithPools(cs tls.ConnectionState, host string, extra *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("tls: no peer certificates")
	}
	if host == "" {
		return fmt.Errorf("tls: cannot verify peer without a server name")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	vo := x509.VerifyOptions{DNSName: host, Intermediates: inter}
	if _, err := cs.PeerCertificates[0].Verify(vo); err == nil {
		return nil
	}
	vo.Roots = extra
	_, err := cs.PeerCertificates[0].Verify(vo)
	return err
}

// hostState is what the engine knows about one registry host: how to reach
// it, how it wants to be authenticated, and how many requests may be in
// flight. It is shared by every run so that /v2/ is pinged once per host.
type hostState struct {
	host   string // host[:port] as addressed
	scheme string
	sem    chan struct{}

	mu        sync.Mutex
	pinged    bool
	challenge challenge
}

func (e *Engine) hostFor(host string) *hostState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h, ok := e.hosts[host]; ok {
		return h
	}
	scheme := "https"
	if e.insecure[host] {
		scheme = "http"
	}
	h := &hostState{host: host, scheme: scheme, sem: make(chan struct{}, e.opts.PerRegistryConcurrency)}
	e.hosts[host] = h
	return h
}

type heldKey struct{ host string }

// acquire takes a request slot on h unless ctx already holds one for h (a
// blob transfer holds its slots for the whole stream, and its inner requests
// must not wait on themselves).
func (h *hostState) acquire(ctx context.Context) (func(), error) {
	if ctx.Value(heldKey{h.host}) != nil {
		return func() {}, nil
	}
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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

// watchdog cancels a request when it makes no progress for timeout: first
// while waiting for the response, then between reads of the body.
type watchdog struct {
	timer   *time.Timer
	timeout time.Duration
	cancel  context.CancelCauseFunc
}

func newWatchdog(ctx context.Context, timeout time.Duration) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{timeout: timeout, cancel: cancel}
	w.timer = time.AfterFunc(timeout, func() { cancel(errWatchdog) })
	return ctx, w
}

func (w *watchdog) kick() { w.timer.Reset(w.timeout) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(context.Canceled)
}

// watchedBody resets the watchdog on progress and releases it on Close.
type watchedBody struct {
	io.ReadCloser
	w       *watchdog
	ctx     context.Context
	release func()
	closed  bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.kick()
	}
	if err != nil && err != io.EOF {
		if cause := context.Cause(b.ctx); cause == errWatchdog {
			err = fmt.Errorf("%w: %w", errWatchdog, err)
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

// progressReader kicks a watchdog as a request body is consumed, so an
// upload streaming from a slow but live source is not cut off.
type progressReader struct {
	r io.Reader
	w *watchdog
	// n is atomic: the transport may still be reading the body in its own
	// goroutine when the response (e.g. an early error) has come back.
	n atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.n.Add(int64(n))
		p.w.kick()
	}
	return n, err
}
