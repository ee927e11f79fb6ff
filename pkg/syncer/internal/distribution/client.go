package distribution

import (
	"cmp"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Config configures a Client: how the engine speaks to registries. The
// engine's options embed it (syncer.RegistryOptions), so this is where
// these settings are documented and defaulted. Zero values get
// DefaultConfig's.
type Config struct {
	// InsecureHosts lists host[:port] that are spoken to over plain HTTP.
	// This is an explicit opt-in only: the client never falls back to HTTP
	// on its own, and every other host gets verified TLS.
	InsecureHosts []string
	// RootCAs verifies registries' certificates (nil = the system roots).
	// LoadRootCAs builds one from the system roots and extra PEM files.
	RootCAs *x509.CertPool
	// WrapTransport, if set, wraps the transport the client built (with
	// its TLS and dial policies intact), e.g. to count requests per
	// registry for metrics.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Resolver looks up registry host names (nil: net.DefaultResolver).
	// Tests map names to loopback with it.
	Resolver Resolver
	// Dial connects to an address the dial policy approved (nil: a
	// net.Dialer). Tests use it to record connection attempts and to route
	// public-looking test addresses to loopback, so that no test packet
	// leaves the machine.
	Dial DialFunc
	// UserAgent is sent with every request to registries and token
	// services (default: DefaultUserAgent()).
	UserAgent string

	// PerRegistryConcurrency bounds in-flight requests per registry host
	// (default 8) so one busy registry cannot be flooded.
	PerRegistryConcurrency int

	// OperationTimeout is the absolute deadline of every request, its
	// response and its body (default 60s). A blob's request gets longer in
	// proportion to its size (MinTransferRate). It is also the window in
	// which a request must make progress: a request that waits a whole
	// window for its response ends, and so does a body that moves less
	// than an eighth of MinTransferRate over a window. A hung or trickling
	// registry fails fast and frees the slots the transfer holds, while a
	// large blob that keeps flowing is not cut off.
	OperationTimeout time.Duration
	// MinTransferRate is the slowest average rate, in bytes per second,
	// at which a blob may still arrive in time: its request's deadline is
	// OperationTimeout plus its size at this rate (default 1 MiB/s).
	MinTransferRate int64
	// MaxRetries bounds retries of transient failures per operation
	// (default 4; negative means none).
	MaxRetries int
	// RetryBackoff is the base of the jittered exponential backoff
	// (default 200ms).
	RetryBackoff time.Duration
	// RetryAfterCap is the longest 429 Retry-After waited for within a
	// run (default 60s). Longer waits fail the request as RateLimited with
	// the wait attached, so the controller can requeue.
	RetryAfterCap time.Duration

	// BreakerThreshold is how many requests in a row a registry host may
	// answer with a server error (5xx, or a failed connection) before the
	// client stops sending it requests for BreakerCooldown; requests then
	// fail at once as Transient instead of retrying (default 20; negative
	// disables the breaker).
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker holds requests back
	// before one request probes the host again (default 30s).
	BreakerCooldown time.Duration
	// BreakerChanged, if set, is told when a host's breaker opens (true)
	// or closes, e.g. for a metric.
	BreakerChanged func(host string, open bool)

	// MaxListedTags bounds the tags of one repository's tag list; a longer
	// list fails the image as TagListTooLarge (default 100,000).
	MaxListedTags int
	// MaxTagListBytes bounds the bytes of one repository's tag list, over
	// all its pages (default 8 MiB).
	MaxTagListBytes int64

	// ReadMemory bounds the bytes of manifests and gate documents
	// (signatures, SBOMs, vulnerability reports) being read at once,
	// across all runs (default 64 MiB); a read waits for its share. It is
	// also the largest manifest or document read.
	ReadMemory int64
}

// DefaultConfig returns the values New gives the fields left at zero.
func DefaultConfig() Config {
	return Config{
		UserAgent:              DefaultUserAgent(),
		PerRegistryConcurrency: 8,
		OperationTimeout:       60 * time.Second,
		MinTransferRate:        1 << 20,
		MaxRetries:             4,
		RetryBackoff:           200 * time.Millisecond,
		RetryAfterCap:          60 * time.Second,
		BreakerThreshold:       20,
		BreakerCooldown:        30 * time.Second,
		MaxListedTags:          100_000,
		MaxTagListBytes:        8 << 20,
		ReadMemory:             64 << 20,
	}
}

// complete returns cfg with DefaultConfig's values where cfg has zero
// values, and a negative MaxRetries as none.
func (cfg Config) complete() Config {
	d := DefaultConfig()
	cfg.UserAgent = cmp.Or(cfg.UserAgent, d.UserAgent)
	cfg.PerRegistryConcurrency = cmp.Or(cfg.PerRegistryConcurrency, d.PerRegistryConcurrency)
	cfg.OperationTimeout = cmp.Or(cfg.OperationTimeout, d.OperationTimeout)
	cfg.MinTransferRate = cmp.Or(cfg.MinTransferRate, d.MinTransferRate)
	cfg.MaxRetries = cmp.Or(cfg.MaxRetries, d.MaxRetries)
	cfg.RetryBackoff = cmp.Or(cfg.RetryBackoff, d.RetryBackoff)
	cfg.RetryAfterCap = cmp.Or(cfg.RetryAfterCap, d.RetryAfterCap)
	cfg.BreakerThreshold = cmp.Or(cfg.BreakerThreshold, d.BreakerThreshold)
	cfg.BreakerCooldown = cmp.Or(cfg.BreakerCooldown, d.BreakerCooldown)
	cfg.MaxListedTags = cmp.Or(cfg.MaxListedTags, d.MaxListedTags)
	cfg.MaxTagListBytes = cmp.Or(cfg.MaxTagListBytes, d.MaxTagListBytes)
	cfg.ReadMemory = cmp.Or(cfg.ReadMemory, d.ReadMemory)
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	return cfg
}

// validate refuses negative limits and durations and an InsecureHosts
// entry that is not a host[:port]; it returns the insecure hosts as a set.
func (cfg Config) validate() (map[string]bool, error) {
	if cfg.PerRegistryConcurrency < 0 {
		return nil, fmt.Errorf("registry concurrency must not be negative")
	}
	if cfg.OperationTimeout < 0 || cfg.RetryBackoff < 0 || cfg.RetryAfterCap < 0 || cfg.MinTransferRate < 0 || cfg.MaxListedTags < 0 || cfg.MaxTagListBytes < 0 || cfg.ReadMemory < 0 || cfg.BreakerCooldown < 0 {
		return nil, fmt.Errorf("durations and limits must not be negative")
	}
	insecure := map[string]bool{}
	for _, h := range cfg.InsecureHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/ ") {
			return nil, fmt.Errorf("invalid insecure host %q: want host[:port]", h)
		}
		insecure[h] = true
	}
	return insecure, nil
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

// New builds a Client from cfg, with DefaultConfig's values where cfg has
// none. It refuses negative limits and an InsecureHosts entry that is not a
// host[:port].
func New(cfg Config) (*Client, error) {
	cfg = cfg.complete()
	insecure, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:      cfg,
		insecure: insecure,
		hosts:    map[string]*hostState{},
		// One byte more per read than the document may have tells a
		// document of exactly the limit from a longer one.
		reading: semaphore.NewWeighted(cfg.ReadMemory + 1),
	}
	public, internal := newTransports(cfg)
	var rt http.RoundTripper = &router{c: c, public: public, internal: internal}
	if cfg.WrapTransport != nil {
		rt = cfg.WrapTransport(rt)
	}
	c.rt = rt
	return c, nil
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }
