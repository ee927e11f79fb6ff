package registrypolicy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
	"github.com/portager/portager/pkg/internalhost"
	"github.com/portager/portager/pkg/registryhost"
)

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds the lookup of one internal name against a CIDR entry.
const resolveTimeout = 2 * time.Second

// Target is the ImageSync a decision is about.
type Target struct {
	// Namespace and NamespaceLabels select the policies that apply.
	Namespace       string
	NamespaceLabels labels.Set
	Spec            *portager.ImageSyncSpec
}

// Checker decides with a resolver for internal names under CIDR entries.
type Checker struct {
	// Resolver is used only for a host that is internal by name, on a side
	// where a selecting policy lists a CIDR. Nil resolves nothing, so such a
	// host is allowed only by an entry that names it.
	Resolver Resolver
}

// Check returns why the registries of t are not allowed, one error per
// refused field, each naming the policies that would have to change. An
// empty list means the spec may run.
func (c Checker) Check(ctx context.Context, t Target, policies []portager.RegistryPolicy) field.ErrorList {
	selecting := selectingPolicies(t, policies)
	var errs field.ErrorList
	spec := field.NewPath("spec")
	errs = append(errs, c.side(ctx, t, spec.Child("source", "registry"), t.Spec.Source.Registry, selecting, sourcesOf)...)
	dst := c.side(ctx, t, spec.Child("destination", "registry"), t.Spec.Destination.Registry, selecting, destinationsOf)
	if len(dst) == 0 {
		dst = repositories(t, selecting)
	}
	return append(errs, dst...)
}

// selectingPolicies returns the policies whose selector matches t's
// namespace.
func selectingPolicies(t Target, policies []portager.RegistryPolicy) []*portager.RegistryPolicy {
	var selecting []*portager.RegistryPolicy
	for i := range policies {
		p := &policies[i]
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector)
		if err != nil {
			// Validation refuses such a selector, so only a write behind
			// the API's back stores one; it selects no namespace.
			continue
		}
		if sel.Matches(t.NamespaceLabels) {
			selecting = append(selecting, p)
		}
	}
	return selecting
}

// Reachable returns which host:ports a run of t may connect to at internal
// addresses besides its own registries: those a selecting policy names by
// an exact entry, on either side, and literal addresses a CIDR entry
// covers. A registry's token service or blob storage inside the network is
// allowed this way. Names are not resolved: the copy engine checks the
// addresses it connects to, and lets a name reach internal ones only when
// the name itself is allowed.
func Reachable(t Target, policies []portager.RegistryPolicy) func(hostport string) bool {
	var entries []entry
	for _, p := range selectingPolicies(t, policies) {
		for _, e := range append(sourcesOf(p), destinationsOf(p)...) {
			if m := parseEntry(e.Registry); m.wildcard == "" {
				entries = append(entries, m)
			}
		}
	}
	return func(hostport string) bool {
		h := parseHost(hostport)
		for _, e := range entries {
			if e.matches(h, nil) {
				return true
			}
		}
		return false
	}
}

func sourcesOf(p *portager.RegistryPolicy) []portager.RegistryEntry      { return p.Spec.Sources }
func destinationsOf(p *portager.RegistryPolicy) []portager.RegistryEntry { return p.Spec.Destinations }

// side decides one registry value against the entries the selecting
// policies list for its side.
func (c Checker) side(ctx context.Context, t Target, path *field.Path, registry string, selecting []*portager.RegistryPolicy,
	entriesOf func(*portager.RegistryPolicy) []portager.RegistryEntry) field.ErrorList {
	h := parseHost(registry)
	var listing []string
	for _, p := range selecting {
		if len(entriesOf(p)) > 0 {
			listing = append(listing, p.Name)
		}
	}
	if len(listing) == 0 {
		if !h.internal {
			return nil
		}
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf(
			"%q is an internal host (loopback, link-local, private network, cluster or metadata name), which namespace %q may use only where a RegistryPolicy selecting it names %q or a CIDR covering its address; none does",
			h.hostport, t.Namespace, h.hostport))}
	}
	var addrs []netip.Addr
	resolved := false
	for _, p := range selecting {
		for _, e := range entriesOf(p) {
			m := parseEntry(e.Registry)
			if m.prefix.IsValid() && h.internal && !h.ip.IsValid() && !resolved {
				addrs, resolved = c.resolve(ctx, h.host), true
			}
			if m.matches(h, addrs) {
				return nil
			}
		}
	}
	kind := "host"
	if h.internal {
		kind = "internal host"
	}
	return field.ErrorList{field.Forbidden(path, fmt.Sprintf("%s %q is not allowed for namespace %q: RegistryPolicy %s would have to allow it",
		kind, h.hostport, t.Namespace, quoteSorted(listing)))}
}

// repositories checks every destination repository against the prefixes of
// the destination entries that allow its registry.
func repositories(t Target, selecting []*portager.RegistryPolicy) field.ErrorList {
	h := parseHost(t.Spec.Destination.Registry)
	var prefixes []string
	var names []string
	for _, p := range selecting {
		for _, e := range p.Spec.Destinations {
			if !parseEntry(e.Registry).matches(h, nil) {
				continue
			}
			if e.RepositoryPrefix == "" {
				return nil
			}
			prefixes = append(prefixes, strings.ReplaceAll(e.RepositoryPrefix, portager.NamespacePlaceholder, t.Namespace))
			names = append(names, p.Name)
		}
	}
	if len(prefixes) == 0 {
		// No entry names this registry by host: a CIDR or an unrestricted
		// side allowed it, without a prefix.
		return nil
	}
	var errs field.ErrorList
	for i, img := range t.Spec.Images {
		repo := repositoryPath(t.Spec, img.Name)
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(repo, p) }) {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "destination", "repositoryPrefix"), fmt.Sprintf(
				"repository %q of spec.images[%d] is outside what namespace %q may write at %s: repositories starting with %s (RegistryPolicy %s)",
				repo, i, t.Namespace, h.hostport, quoteSorted(prefixes), quoteSorted(names))))
		}
	}
	return errs
}

// repositoryPath is the repository an image is written to at the
// destination, without the host: the registry's path, the repository prefix
// and the image name.
func repositoryPath(spec *portager.ImageSyncSpec, image string) string {
	_, path, _ := strings.Cut(validation.DestinationRepository(spec, image), "/")
	return path
}

func (c Checker) resolve(ctx context.Context, host string) []netip.Addr {
	if c.Resolver == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	// The trailing dot keeps a resolver's search path from completing the
	// name into something else.
	addrs, err := c.Resolver.LookupNetIP(ctx, "ip", strings.TrimSuffix(host, ".")+".")
	if err != nil {
		return nil
	}
	return addrs
}

// host is a registry value's host part, classified.
type host struct {
	// hostport is the host and port as written, lower-cased, with Docker
	// Hub's names collapsed into one.
	hostport string
	host     string
	port     string
	// ip is set when the host is a literal address.
	ip       netip.Addr
	internal bool
}

// splitHost returns a registry value's host[:port] (normalised), host and
// port.
func splitHost(registry string) (hostport, host, port string) {
	hostport, _ = registryhost.Normalize(registry)
	host = hostport
	if hh, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = hh, p
	}
	return hostport, strings.Trim(host, "[]"), port
}

func parseHost(registry string) host {
	var h host
	h.hostport, h.host, h.port = splitHost(registry)
	if ip, err := netip.ParseAddr(h.host); err == nil {
		h.ip = ip.Unmap()
	}
	h.internal = internalhost.Is(h.host)
	return h
}

// entry is a parsed RegistryEntry.registry.
type entry struct {
	// prefix is set for a CIDR entry.
	prefix netip.Prefix
	// wildcard is the domain of a "*.domain" entry, with its leading dot.
	wildcard string
	// exact is the host of a host entry.
	exact string
	port  string
}

func parseEntry(registry string) entry {
	if p, err := netip.ParsePrefix(registry); err == nil {
		return entry{prefix: p.Masked()}
	}
	_, host, port := splitHost(registry)
	if d, ok := strings.CutPrefix(host, "*."); ok {
		return entry{wildcard: "." + d, port: port}
	}
	return entry{exact: host, port: port}
}

// matches reports whether the entry allows h. Internal hosts match only an
// exact entry or a CIDR covering their address (literal, or every address the
// name resolved to).
func (e entry) matches(h host, resolved []netip.Addr) bool {
	switch {
	case e.prefix.IsValid():
		if h.ip.IsValid() {
			return e.prefix.Contains(h.ip)
		}
		if !h.internal || len(resolved) == 0 {
			return false
		}
		for _, a := range resolved {
			if !e.prefix.Contains(a.Unmap()) {
				return false
			}
		}
		return true
	case e.wildcard != "":
		return !h.internal && e.port == h.port && strings.HasSuffix(h.host, e.wildcard)
	default:
		return e.exact == h.host && e.port == h.port
	}
}

// quoteSorted lists s sorted, without repeats, each quoted.
func quoteSorted(s []string) string {
	s = slices.Compact(slices.Sorted(slices.Values(s)))
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
