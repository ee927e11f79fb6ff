package distribution

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Config configures a Client. It is the part of the engine's options that
// concerns speaking to registries; New takes it as given, with every limit
// and duration already set (the engine applies its defaults first).
type Config struct {
	// InsecureHosts lists host[:port] that are spoken to over plain HTTP.
	InsecureHosts []string
	// RootCAs verifies registries' certificates (nil = the system roots).
	RootCAs *x509.CertPool
	// WrapTransport, if set, wraps the transport the client built (with
	// its TLS and dial policies intact).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Resolver looks up registry host names (nil: net.DefaultResolver).
	Resolver Resolver
	// Dial connects to an address the dial policy approved (nil: a
	// net.Dialer).
	Dial DialFunc
	// UserAgent is sent with every request to registries and token
	// services.
	UserAgent string

	// PerRegistryConcurrency bounds in-flight requests per registry host.
	PerRegistryConcurrency int
	// OperationTimeout is the absolute deadline of every request and the
	// window in which it must make progress (see newWatchdog).
	OperationTimeout time.Duration
	// MinTransferRate extends a blob request's deadline by its size at
	// this rate, in bytes per second.
	MinTransferRate int64
	// MaxRetries bounds retries of transient failures per operation.
	MaxRetries int
	// RetryBackoff is the base of the jittered exponential backoff.
	RetryBackoff time.Duration
	// RetryAfterCap is the longest 429 Retry-After waited for in-run.
	RetryAfterCap time.Duration

	// BreakerThreshold is how many server errors in a row open a host's
	// breaker (zero or negative: no breaker).
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker holds requests back.
	BreakerCooldown time.Duration
	// BreakerChanged, if set, is told when a host's breaker opens or
	// closes.
	BreakerChanged func(host string, open bool)

	// MaxListedTags bounds the tags of one repository's tag list.
	MaxListedTags int
	// MaxTagListBytes bounds the bytes of one tag list, over all pages.
	MaxTagListBytes int64
	// ReadMemory bounds the bytes of manifests and documents being read at
	// once, across all runs; it is also the largest one read.
	ReadMemory int64
}

// Client speaks the distribution API to every registry of every run of
// one engine. It is safe for concurrent use; what it learns about a host
// (ping, challenge, breaker) and the host's request slots are kept for the
// Client's lifetime.
type Client struct {
	cfg      Config
	insecure map[string]bool
	rt       http.RoundTripper

	// reading holds Config.ReadMemory: the bytes of manifests and
	// documents being read.
	reading *semaphore.Weighted

	mu    sync.Mutex
	hosts map[string]*hostState
}

// New builds a Client. It refuses an InsecureHosts entry that is not a
// host[:port].
func New(cfg Config) (*Client, error) {
	c := &Client{
		cfg:      cfg,
		insecure: map[string]bool{},
		hosts:    map[string]*hostState{},
		// One byte more per read than the document may have tells a
		// document of exactly the limit from a longer one.
		reading: semaphore.NewWeighted(cfg.ReadMemory + 1),
	}
	for _, h := range cfg.InsecureHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/ ") {
			return nil, fmt.Errorf("invalid insecure host %q: want host[:port]", h)
		}
		c.insecure[h] = true
	}
	public, internal := newTransports(cfg)
	var rt http.RoundTripper = &router{c: c, public: public, internal: internal}
	if cfg.WrapTransport != nil {
		rt = cfg.WrapTransport(rt)
	}
	c.rt = rt
	return c, nil
}
