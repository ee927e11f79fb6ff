package registrypolicy

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/portager/portager/internal/nettest"
	"github.com/portager/portager/pkg/apis/portager"
)

func policy(name string, sel map[string]string, sources, destinations []portager.RegistryEntry) portager.RegistryPolicy {
	return portager.RegistryPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: portager.RegistryPolicySpec{NamespaceSelector: metav1.LabelSelector{MatchLabels: sel},
			Sources: sources, Destinations: destinations},
	}
}

func entries(rs ...string) []portager.RegistryEntry {
	out := make([]portager.RegistryEntry, len(rs))
	for i, r := range rs {
		reg, prefix, _ := strings.Cut(r, " ")
		out[i] = portager.RegistryEntry{Registry: reg, RepositoryPrefix: prefix}
	}
	return out
}

func spec(src, dst, prefix string, images ...string) *portager.ImageSyncSpec {
	s := &portager.ImageSyncSpec{
		Source:      portager.SourceRegistry{Registry: src},
		Destination: portager.DestinationRegistry{Registry: dst, RepositoryPrefix: prefix},
	}
	for _, i := range images {
		s.Images = append(s.Images, portager.ImageSpec{Name: i})
	}
	return s
}

func TestCheck(t *testing.T) {
	teamA := labels.Set{"team": "a", "kubernetes.io/metadata.name": "team-a"}
	cases := []struct {
		name     string
		spec     *portager.ImageSyncSpec
		policies []portager.RegistryPolicy
		// want is the field of every error, each followed by a substring.
		want []string
	}{
		{"no policy: public hosts", spec("docker.io/library", "ghcr.io/org", "", "alpine"), nil, nil},
		{"no policy: internal source", spec("127.0.0.1:5000", "ghcr.io", "", "a"), nil,
			[]string{"spec.source.registry", `"127.0.0.1:5000" is an internal host`}},
		{"no policy: metadata destination", spec("ghcr.io", "169.254.169.254", "", "a"), nil,
			[]string{"spec.destination.registry", "internal host"}},
		{"no policy: cluster name", spec("kubernetes.default.svc:443", "etcd:2379", "", "a"), nil,
			[]string{"spec.source.registry", "internal", "spec.destination.registry", "internal"}},
		{"policy for another namespace does not apply", spec("127.0.0.1:5000", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("team-b", map[string]string{"team": "b"}, entries("127.0.0.1:5000"), nil)},
			[]string{"spec.source.registry", "internal"}},
		{"exact host and port allows exactly that", spec("127.0.0.1:5000", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("local", nil, entries("127.0.0.1:5000"), nil)}, nil},
		{"another port is not allowed", spec("127.0.0.1:2379", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("local", nil, entries("127.0.0.1:5000"), nil)},
			[]string{"spec.source.registry", `internal host "127.0.0.1:2379" is not allowed for namespace "team-a": RegistryPolicy "local" would have to allow it`}},
		{"a selecting policy refuses a public host it does not list", spec("quay.io/org", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("team-a", map[string]string{"team": "a"}, entries("docker.io", "*.example.com"), nil)},
			[]string{"spec.source.registry", `host "quay.io" is not allowed`}},
		{"docker hub aliases", spec("index.docker.io/library", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("hub", nil, entries("docker.io"), nil)}, nil},
		{"wildcard allows subdomains", spec("r.eu.example.com/x", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("w", nil, entries("*.example.com"), nil)}, nil},
		{"wildcard does not allow the domain itself", spec("example.com", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("w", nil, entries("*.example.com"), nil)},
			[]string{"spec.source.registry", "not allowed"}},
		{"wildcard never allows an internal host", spec("x.svc", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("w", nil, entries("*.svc"), nil)},
			[]string{"spec.source.registry", "internal host"}},
		{"CIDR allows an address in it", spec("10.20.3.4:8443/harbor", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("corp", nil, entries("10.20.0.0/16"), nil)}, nil},
		{"CIDR allows an internal name resolving into it", spec("harbor.internal", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("corp", nil, entries("10.20.0.0/16"), nil)}, nil},
		{"CIDR refuses an internal name resolving outside it", spec("db.internal", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("corp", nil, entries("10.20.0.0/16"), nil)},
			[]string{"spec.source.registry", "internal host"}},
		{"a side without entries keeps the default rule", spec("ghcr.io", "quay.io", "", "a"),
			[]portager.RegistryPolicy{policy("src-only", nil, entries("ghcr.io"), nil)}, nil},
		{"union of selecting policies", spec("quay.io", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{
				policy("p1", map[string]string{"team": "a"}, entries("docker.io"), nil),
				policy("p2", nil, entries("quay.io"), nil),
			}, nil},
		{"repository prefix with the namespace", spec("docker.io", "123.dkr.ecr.us-east-1.amazonaws.com", "tenants/team-a", "alpine", "go"),
			[]portager.RegistryPolicy{policy("ecr", nil, nil, entries("123.dkr.ecr.us-east-1.amazonaws.com tenants/{namespace}/"))}, nil},
		{"repository outside the prefix", spec("docker.io", "123.dkr.ecr.us-east-1.amazonaws.com", "tenants/team-b", "alpine"),
			[]portager.RegistryPolicy{policy("ecr", nil, nil, entries("123.dkr.ecr.us-east-1.amazonaws.com tenants/{namespace}/"))},
			[]string{"spec.destination.repositoryPrefix", `repository "tenants/team-b/alpine" of spec.images[0] is outside what namespace "team-a" may write`}},
		{"the registry path counts toward the prefix", spec("docker.io", "harbor.example.com/tenants", "team-a", "alpine"),
			[]portager.RegistryPolicy{policy("h", nil, nil, entries("harbor.example.com tenants/{namespace}/"))}, nil},
		{"a selector that does not parse selects nothing", spec("quay.io", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: portager.RegistryPolicySpec{
				NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}},
				Sources:           entries("127.0.0.1:5000"),
			}}}, nil},
		{"destination host not listed", spec("docker.io", "ghcr.io", "", "a"),
			[]portager.RegistryPolicy{policy("ecr", nil, nil, entries("123.dkr.ecr.us-east-1.amazonaws.com tenants/{namespace}/"))},
			[]string{"spec.destination.registry", `RegistryPolicy "ecr" would have to allow it`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := nettest.New()
			r.Name("harbor.internal.", "10.20.1.5")
			r.Name("db.internal.", "10.30.1.5")
			errs := Checker{Resolver: r}.Check(context.Background(), Target{Namespace: "team-a", NamespaceLabels: teamA, Spec: tc.spec}, tc.policies)
			if len(errs)*2 != len(tc.want) {
				t.Fatalf("errors = %v, want %q", errs, tc.want)
			}
			for i, e := range errs {
				if e.Field != tc.want[2*i] || !strings.Contains(e.Error(), tc.want[2*i+1]) {
					t.Errorf("error %d = %v, want at %s containing %q", i, e, tc.want[2*i], tc.want[2*i+1])
				}
			}
		})
	}
}

// TestCheckResolvesOnlyInternalNamesUnderCIDR counts lookups: public names,
// literal addresses and sides without a CIDR entry resolve nothing.
func TestCheckResolvesOnlyInternalNamesUnderCIDR(t *testing.T) {
	r := nettest.New()
	c := Checker{Resolver: r}
	policies := []portager.RegistryPolicy{policy("corp", nil, entries("10.20.0.0/16", "ghcr.io"), entries("harbor.internal"))}
	for _, s := range []*portager.ImageSyncSpec{
		spec("ghcr.io", "harbor.internal", "", "a"),
		spec("10.20.0.1", "harbor.internal", "", "a"),
		spec("quay.io", "harbor.internal", "", "a"),
	} {
		c.Check(context.Background(), Target{Namespace: "x", Spec: s}, policies)
	}
	if asked := r.Lookups(); len(asked) != 0 {
		t.Fatalf("lookups = %q, want none", asked)
	}
	c.Check(context.Background(), Target{Namespace: "x", Spec: spec("registry.svc", "harbor.internal", "", "a")}, policies)
	if asked := r.Lookups(); len(asked) != 1 || asked[0] != "registry.svc." {
		t.Fatalf("lookups = %q, want one for the fully qualified registry.svc.", asked)
	}
}

func TestReachable(t *testing.T) {
	teamA := labels.Set{"team": "a"}
	entries := func(rs ...string) []portager.RegistryEntry {
		var out []portager.RegistryEntry
		for _, r := range rs {
			out = append(out, portager.RegistryEntry{Registry: r})
		}
		return out
	}
	policies := []portager.RegistryPolicy{
		policy("team-a", map[string]string{"team": "a"}, entries("auth.corp:8443", "*.example.com"), entries("10.1.0.0/16")),
		policy("team-b", map[string]string{"team": "b"}, entries("storage.corp:9000"), nil),
	}
	reach := Reachable(Target{Namespace: "team-a", NamespaceLabels: teamA, Spec: spec("ghcr.io", "ghcr.io", "", "a")}, policies)
	for hostport, want := range map[string]bool{
		"auth.corp:8443":     true,
		"AUTH.corp:8443":     true,
		"auth.corp":          false, // another port
		"10.1.2.3:5000":      true,
		"10.2.0.1:5000":      false,
		"storage.corp:9000":  false, // another namespace's policy
		"reg.example.com":    false, // wildcards name public hosts only
		"169.254.169.254:80": false,
		"harbor.svc:443":     false,
	} {
		if got := reach(hostport); got != want {
			t.Errorf("Reachable(%q) = %v, want %v", hostport, got, want)
		}
	}
}
