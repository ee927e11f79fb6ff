package distribution

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portager/portager/pkg/internalhost"
)

// Every connection the client opens (to a registry, its token realm, a
// redirect target, an upload Location, a Link page) is decided by one dial
// policy. Public addresses may always be dialled. An address that is not
// public (loopback, link-local such as 169.254.169.254, private networks)
// may be dialled only for a host:port the run may reach inside the network:
//   - one of the run's own registries, when the spec names it by an
//     internal name or address (the API server and the controller have
//     already checked it against the RegistryPolicies);
//   - an operator's InsecureHosts;
//   - a host:port the run's allow function accepts (the engine's
//     Request.AllowInternal).
//
// Any other host goes through the public transport, whose dialer resolves
// the name itself, drops every address that is not public and connects only
// to the addresses it checked, so a name cannot answer with a public
// address for the check and an internal one for the connection. The two
// transports keep separate connection pools: a connection to an internal
// address opened for one run is never handed to a request of a run that may
// not reach it.

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection to addr ("ip:port"), which the dial policy has
// already approved.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ReasonBlockedDestination is the reason of a tag whose request was not
// sent because the dial policy refused where it would have gone.
const ReasonBlockedDestination = "BlockedDestination"

// blockedError is a connection the dial policy refused. Its message names
// no address: where a registry tried to send the client is the registry's
// text, and an address could tell a tenant about the cluster's network.
type blockedError struct{ why string }

func (e *blockedError) Error() string {
	return "destination refused by the dial policy: " + e.why
}

var errNotPublic = &blockedError{why: "the host resolves to an address that is not public; only a registry the spec names by an internal name or address, an --insecure-registry host or a host a RegistryPolicy names may reach one"}

// reachKey carries a run's reach in the context of its requests.
type reachKey struct{}

// reach is which host:ports one run may connect to at internal addresses.
type reach struct {
	// registries are the run's source and destination host:ports; own
	// are those of them named by an internal name or address.
	registries, own map[string]bool
	allow           func(hostport string) bool
}

// WithReach records in ctx which host:ports the run whose requests ctx
// carries may reach at internal addresses: those of its registries (its
// source and destination, host[/path] as in the spec) that are named by an
// internal name or address, and those allow accepts (allow may be nil).
func WithReach(ctx context.Context, registries []string, allow func(hostport string) bool) context.Context {
	r := reach{registries: map[string]bool{}, own: map[string]bool{}, allow: allow}
	for _, registry := range registries {
		hostport := RegistryHostport(registry)
		r.registries[hostport] = true
		host := hostport
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
		if internalhost.Is(host) {
			r.own[hostport] = true
		}
	}
	return context.WithValue(ctx, reachKey{}, r)
}

// RegistryHostport is the host[:port] of a registry value as the engine
// addresses it, lower-cased ("docker.io" becomes "index.docker.io").
func RegistryHostport(registry string) string {
	ref := "x"
	if r := strings.Trim(strings.TrimSpace(registry), "/"); r != "" {
		ref = r + "/x"
	}
	repo, err := name.NewRepository(ref)
	if err != nil {
		host, _, _ := strings.Cut(registry, "/")
		return strings.ToLower(host)
	}
	return strings.ToLower(repo.RegistryStr())
}

// IsRunRegistry reports whether hostport is the source or destination
// registry of the run a request's context belongs to, rather than a host
// a registry named (a redirect, an upload Location, a token realm). Metrics
// label requests by the former only, so a registry cannot grow their
// series.
func IsRunRegistry(ctx context.Context, hostport string) bool {
	r, ok := ctx.Value(reachKey{}).(reach)
	return ok && r.registries[strings.ToLower(hostport)]
}

// mayReachInternal reports whether a request in ctx to hostport may connect
// to an internal address.
func (c *Client) mayReachInternal(ctx context.Context, hostport string) bool {
	hostport = strings.ToLower(hostport)
	if c.insecure[hostport] {
		return true
	}
	r, ok := ctx.Value(reachKey{}).(reach)
	if !ok {
		return false
	}
	return r.own[hostport] || (r.allow != nil && r.allow(hostport))
}

// policyDialer resolves and dials under the dial policy.
type policyDialer struct {
	resolver Resolver
	dial     DialFunc
	// internal admits addresses that are not public (the transport for
	// host:ports a run may reach inside the network).
	internal bool
}

func (d *policyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = d.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
	}
	var lastErr error = errNotPublic
	for _, a := range addrs {
		a = a.Unmap()
		if !d.internal && !internalhost.PublicAddr(a) {
			continue
		}
		conn, err := d.dial(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// router sends each request through the transport its host may use.
type router struct {
	c                *Client
	public, internal http.RoundTripper
}

func (rt *router) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.c.mayReachInternal(req.Context(), req.URL.Host) {
		return rt.internal.RoundTrip(req)
	}
	return rt.public.RoundTrip(req)
}

// MaxRedirects bounds the redirects one request follows; registries use
// one, to their blob storage.
const MaxRedirects = 3

// checkRedirect follows at most MaxRedirects, never from https to http,
// and sends credentials only to the host that was asked.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &blockedError{why: fmt.Sprintf("more than %d redirects", MaxRedirects)}
	}
	prev := via[len(via)-1]
	if prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return &blockedError{why: "a redirect from https to plain http"}
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
		req.Header.Del("Authorization")
	}
	return nil
}

// isBlocked reports whether err is a refusal of the dial policy.
func isBlocked(err error) bool {
	var be *blockedError
	return errors.As(err, &be)
}
