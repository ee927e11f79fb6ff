package validation

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager"
)

func newRegistryPolicy(mutate func(*portager.RegistryPolicy)) *portager.RegistryPolicy {
	p := &portager.RegistryPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec: portager.RegistryPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			Sources:           []portager.RegistryEntry{{Registry: "docker.io"}, {Registry: "*.example.com"}},
			Destinations:      []portager.RegistryEntry{{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", RepositoryPrefix: "tenants/{namespace}/"}},
		},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func TestValidateRegistryPolicy(t *testing.T) {
	src := func(r string) func(*portager.RegistryPolicy) {
		return func(p *portager.RegistryPolicy) { p.Spec.Sources = []portager.RegistryEntry{{Registry: r}} }
	}
	cases := []struct {
		name   string
		mutate func(*portager.RegistryPolicy)
		want   []string
	}{
		{"valid", nil, nil},
		{"every namespace", func(p *portager.RegistryPolicy) { p.Spec.NamespaceSelector = metav1.LabelSelector{} }, nil},
		{"host and port", src("127.0.0.1:5000"), nil},
		{"IPv6 host", src("[fd00::1]:5000"), nil},
		{"CIDR", src("10.20.0.0/16"), nil},
		{"IPv6 CIDR", src("fd00::/8"), nil},
		{"wildcard with port", src("*.example.com:8443"), nil},

		{"entry required", src(""), []string{"spec.sources[0].registry:Required"}},
		{"entry with a path", src("ghcr.io/org"), []string{"spec.sources[0].registry:Invalid"}},
		{"CIDR with host bits", src("10.20.0.1/16"), []string{"spec.sources[0].registry:Invalid"}},
		{"scheme", src("https://ghcr.io"), []string{"spec.sources[0].registry:Invalid"}},
		{"bare wildcard", src("*"), []string{"spec.sources[0].registry:Invalid"}},
		{"wildcard over a TLD", src("*.com"), []string{"spec.sources[0].registry:Invalid"}},
		{"inner wildcard", src("a.*.com"), []string{"spec.sources[0].registry:Invalid"}},
		{"prefix on a source", func(p *portager.RegistryPolicy) { p.Spec.Sources[0].RepositoryPrefix = "x/" },
			[]string{"spec.sources[0].repositoryPrefix:Forbidden"}},
		{"bad prefix", func(p *portager.RegistryPolicy) { p.Spec.Destinations[0].RepositoryPrefix = "Tenants/{namespace}/" },
			[]string{"spec.destinations[0].repositoryPrefix:Invalid"}},
		{"bad placeholder", func(p *portager.RegistryPolicy) { p.Spec.Destinations[0].RepositoryPrefix = "tenants/{ns}/" },
			[]string{"spec.destinations[0].repositoryPrefix:Invalid"}},
		{"bad selector", func(p *portager.RegistryPolicy) {
			p.Spec.NamespaceSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}}
		}, []string{"spec.namespaceSelector.matchExpressions[0].operator:Invalid"}},
		{"too many entries", func(p *portager.RegistryPolicy) {
			p.Spec.Sources = nil
			for i := range MaxRegistryEntries + 1 {
				p.Spec.Sources = append(p.Spec.Sources, portager.RegistryEntry{Registry: fmt.Sprintf("r%d.example.com", i)})
			}
		}, []string{"spec.sources:TooMany"}},
		{"namespaced", func(p *portager.RegistryPolicy) { p.Namespace = "default" }, []string{"metadata.namespace:Forbidden"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateRegistryPolicy(newRegistryPolicy(tc.mutate))
			if got := summarize(errs); !equal(got, tc.want) {
				t.Errorf("errors = %v, want %v\nfull: %v", got, tc.want, errs.ToAggregate())
			}
		})
	}
}
