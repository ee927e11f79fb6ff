package internalhost

import (
	"net/netip"
	"strings"

	"code.dny.dev/ssrf"
	"golang.org/x/net/publicsuffix"
)

// public admits the addresses IANA lists as globally reachable: it refuses
// loopback, link-local (169.254.169.254, fd00:ec2::254), private and shared
// address space, unspecified, multicast, documentation and reserved ranges,
// in IPv4 and IPv6, including IPv4-mapped IPv6 addresses.
var public = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// PublicAddr reports whether ip is a globally reachable address.
func PublicAddr(ip netip.Addr) bool {
	return public.SafeAddr(ip) == nil
}

// internalSuffixes are DNS names that only mean something inside a cluster, a
// cloud network or the machine itself.
var internalSuffixes = []string{".localhost", ".svc", ".cluster.local", ".internal", ".local"}

// Is reports whether host (no port) names something inside the
// cluster or its network rather than on the internet: an address that is not
// public, localhost, a cluster or cloud-internal name (*.svc,
// *.cluster.local, *.internal such as metadata.google.internal), or a name
// outside the public top-level domains, which a pod's resolver completes
// with its search path ("kubernetes.default", "registry") or which is a
// shorthand IPv4 address ("127.1").
func Is(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		return !PublicAddr(ip)
	}
	if host == "localhost" || !strings.Contains(host, ".") {
		return true
	}
	for _, s := range internalSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	tld := host[strings.LastIndex(host, ".")+1:]
	_, icann := publicsuffix.PublicSuffix(tld)
	return !icann
}
