package syncer

import (
	"cmp"
	"context"
	"crypto/x509"
	"fmt"

	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// RegistryOptions configures how the engine speaks to registries: TLS,
// dialing, request slots, deadlines, retries, the breaker and read limits.
// Its fields and their defaults are documented on distribution.Config.
type RegistryOptions = distribution.Config

// Options configures an Engine. Zero values get DefaultOptions' values.
type Options struct {
	// RegistryOptions are the registry client's settings.
	RegistryOptions

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
		RegistryOptions:  distribution.DefaultConfig(),
		TagConcurrency:   16,
		CheckConcurrency: 64,
		BlobConcurrency:  4,
	}
}

// New validates opts, applies DefaultOptions to what is unset and builds an
// Engine.
func New(opts Options) (*Engine, error) {
	d := DefaultOptions()
	opts.TagConcurrency = cmp.Or(opts.TagConcurrency, d.TagConcurrency)
	opts.CheckConcurrency = cmp.Or(opts.CheckConcurrency, d.CheckConcurrency)
	opts.BlobConcurrency = cmp.Or(opts.BlobConcurrency, d.BlobConcurrency)
	if opts.TagConcurrency < 0 || opts.CheckConcurrency < 0 || opts.BlobConcurrency < 0 {
		return nil, fmt.Errorf("concurrency options must not be negative")
	}
	client, err := distribution.New(opts.RegistryOptions)
	if err != nil {
		return nil, err
	}
	opts.RegistryOptions = client.Config()
	return &Engine{opts: opts, client: client}, nil
}
