package nettest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// Net is a test's whole network. Its LookupNetIP resolves only the names
// given to Name, and its Dial connects only to loopback addresses and to
// public-looking addresses given a Route. Every dial attempt is recorded.
type Net struct {
	mu       sync.Mutex
	names    map[string][]netip.Addr
	routes   map[string]string // "ip:port" -> "127.0.0.1:port"
	attempts []string
	lookups  []string
}

// New returns an empty network.
func New() *Net {
	return &Net{names: map[string][]netip.Addr{}, routes: map[string]string{}}
}

// Name makes host resolve to addr (in addition to earlier addresses).
func (n *Net) Name(host, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	host = strings.ToLower(host)
	n.names[host] = append(n.names[host], netip.MustParseAddr(addr))
}

// Route makes a connection to ip:port reach the loopback listener target
// ("127.0.0.1:port") instead.
func (n *Net) Route(ip, port, target string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.routes[net.JoinHostPort(ip, port)] = target
}

// LookupNetIP records the lookup and answers from the names given to Name;
// it never asks DNS.
func (n *Net) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lookups = append(n.lookups, host)
	if a, ok := n.names[strings.ToLower(host)]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// Dial records the attempt, then connects to a routed address's target or
// to a loopback address; any other address fails without a packet sent.
func (n *Net) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	n.attempts = append(n.attempts, addr)
	target, routed := n.routes[addr]
	n.mu.Unlock()
	if !routed {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("test network: no route to %s", addr)
		}
		target = addr
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target)
}

// Dialed counts dial attempts to addresses that start with prefix.
func (n *Net) Dialed(prefix string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, a := range n.attempts {
		if strings.HasPrefix(a, prefix) {
			c++
		}
	}
	return c
}

// Lookups returns the names looked up so far, in order.
func (n *Net) Lookups() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.lookups...)
}
