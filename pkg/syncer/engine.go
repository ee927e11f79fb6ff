package syncer

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// Options configures an Engine. Zero values get sane defaults.
type Options struct {
	// InsecureHosts lists host[:port] that are spoken to over plain HTTP.
	// This is an explicit opt-in only: the engine never falls back to HTTP
	// on its own, and every other host gets verified TLS.
	InsecureHosts []string
	// RootCAs verifies registries' certificates (nil = the system roots).
	// LoadRootCAs builds one from the system roots and extra PEM files.
	RootCAs *x509.CertPool
	// WrapTransport, if set, wraps the transport the engine built (with its
	// TLS and dial policies intact), e.g. to count requests per registry for
	// metrics.
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

	// TagConcurrency bounds tags being copied at once (default 16).
	TagConcurrency int
	// CheckConcurrency bounds tags being checked at once: resolved to a
	// digest on both sides and gated (default 64), and image tag lists
	// read. A check is a request or two that then wait for the registries'
	// request slots, so many more are under way than copies: that keeps
	// both registries' slots full while a tag waits on the slower one.
	CheckConcurrency int
	// BlobConcurrency bounds blobs copied at once per manifest (default 4).
	BlobConcurrency int
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
	// RetryAfterCap is the longest 429 Retry-After the engine waits for
	// within a run (default 60s). Longer waits fail the tag as RateLimited
	// with RetryAfter set so the controller can requeue.
	RetryAfterCap time.Duration

	// BreakerThreshold is how many requests in a row a registry host may
	// answer with a server error (5xx, or a failed connection) before the
	// engine stops sending it requests for BreakerCooldown; tags then fail
	// at once as Transient instead of retrying (default 20; negative
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
	// also the largest manifest or document the engine reads.
	ReadMemory int64

	// AllowNondistributable copies foreign/non-distributable layers. They
	// are left unfetched by default (licensing and because their URLs point
	// elsewhere).
	AllowNondistributable bool
}

// Engine copies images between registries. It is safe for concurrent use;
// ping results are cached per registry host for the lifetime of the Engine
// and bearer tokens per host, keychain and scope for one Sync call.
type Engine struct {
	opts Options
	// client speaks the distribution API to every registry of every run.
	client *distribution.Client
}

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver = distribution.Resolver

// DialFunc opens a connection to addr ("ip:port"), which the dial policy has
// already approved.
type DialFunc = distribution.DialFunc

// DefaultUserAgent is the User-Agent the engine sends when Options.UserAgent
// is empty: "portager/VERSION", where VERSION is the version of this module
// the binary was built with ("devel" for an unstamped build).
func DefaultUserAgent() string { return distribution.DefaultUserAgent() }

// LoadRootCAs returns the system's root CAs plus the PEM certificates in
// files, for Options.RootCAs.
func LoadRootCAs(files []string) (*x509.CertPool, error) { return distribution.LoadRootCAs(files) }

// RegistryHostport is the host[:port] of a registry value as the engine
// addresses it, lower-cased ("docker.io" becomes "index.docker.io").
func RegistryHostport(registry string) string { return distribution.RegistryHostport(registry) }

// IsRunRegistry reports whether hostport is the source or destination
// registry of the run a request's context belongs to, rather than a host
// a registry named (a redirect, an upload Location, a token realm). Metrics
// label requests by the former only, so a registry cannot grow their
// series.
func IsRunRegistry(ctx context.Context, hostport string) bool {
	return distribution.IsRunRegistry(ctx, hostport)
}

// DefaultOptions are the values New gives the options left at zero. The
// binaries' flags take their defaults from here.
func DefaultOptions() Options {
	return Options{
		UserAgent:              DefaultUserAgent(),
		TagConcurrency:         16,
		CheckConcurrency:       64,
		BlobConcurrency:        4,
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

// orDefault sets *v to d when *v is the zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// New validates opts, applies DefaultOptions to what is unset and builds an
// Engine.
func New(opts Options) (*Engine, error) {
	d := DefaultOptions()
	orDefault(&opts.UserAgent, d.UserAgent)
	orDefault(&opts.TagConcurrency, d.TagConcurrency)
	orDefault(&opts.CheckConcurrency, d.CheckConcurrency)
	orDefault(&opts.BlobConcurrency, d.BlobConcurrency)
	orDefault(&opts.PerRegistryConcurrency, d.PerRegistryConcurrency)
	orDefault(&opts.OperationTimeout, d.OperationTimeout)
	orDefault(&opts.MinTransferRate, d.MinTransferRate)
	orDefault(&opts.MaxRetries, d.MaxRetries)
	orDefault(&opts.RetryBackoff, d.RetryBackoff)
	orDefault(&opts.RetryAfterCap, d.RetryAfterCap)
	orDefault(&opts.BreakerThreshold, d.BreakerThreshold)
	orDefault(&opts.BreakerCooldown, d.BreakerCooldown)
	orDefault(&opts.MaxListedTags, d.MaxListedTags)
	orDefault(&opts.MaxTagListBytes, d.MaxTagListBytes)
	orDefault(&opts.ReadMemory, d.ReadMemory)
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.TagConcurrency < 0 || opts.CheckConcurrency < 0 || opts.BlobConcurrency < 0 || opts.PerRegistryConcurrency < 0 {
		return nil, fmt.Errorf("concurrency options must not be negative")
	}
	if opts.OperationTimeout < 0 || opts.RetryBackoff < 0 || opts.RetryAfterCap < 0 || opts.MinTransferRate < 0 || opts.MaxListedTags < 0 || opts.MaxTagListBytes < 0 || opts.ReadMemory < 0 || opts.BreakerCooldown < 0 {
		return nil, fmt.Errorf("durations and limits must not be negative")
	}
	client, err := distribution.New(distribution.Config{
		InsecureHosts:          opts.InsecureHosts,
		RootCAs:                opts.RootCAs,
		WrapTransport:          opts.WrapTransport,
		Resolver:               opts.Resolver,
		Dial:                   opts.Dial,
		UserAgent:              opts.UserAgent,
		PerRegistryConcurrency: opts.PerRegistryConcurrency,
		OperationTimeout:       opts.OperationTimeout,
		MinTransferRate:        opts.MinTransferRate,
		MaxRetries:             opts.MaxRetries,
		RetryBackoff:           opts.RetryBackoff,
		RetryAfterCap:          opts.RetryAfterCap,
		BreakerThreshold:       opts.BreakerThreshold,
		BreakerCooldown:        opts.BreakerCooldown,
		BreakerChanged:         opts.BreakerChanged,
		MaxListedTags:          opts.MaxListedTags,
		MaxTagListBytes:        opts.MaxTagListBytes,
		ReadMemory:             opts.ReadMemory,
	})
	if err != nil {
		return nil, err
	}
	return &Engine{opts: opts, client: client}, nil
}
