package registrypolicy

import (
	"context"
	"strings"
	"testing"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
)

// FuzzCheck feeds arbitrary policy entries and registry values into the
// decision. The controller decides on stored objects, which validation may
// not have seen, so nothing may panic whatever the strings; every error names
// a spec field. A policy entry validation accepts is also decided on.
func FuzzCheck(f *testing.F) {
	f.Add("127.0.0.1:5000", "tenants/{namespace}/", "127.0.0.1:5000/org", "ghcr.io", "team-a")
	f.Add("10.20.0.0/16", "", "harbor.internal", "[::1]:5000", "x")
	f.Add("*.example.com:8443", "a/", "r.example.com:8443", "fd00::/8", "")
	f.Add("[fd00:ec2::254]", "{namespace}", "[fd00:ec2::254]", "::ffff:127.0.0.1", "ns")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, entry, prefix, source, destination, image string) {
		p := portager.RegistryPolicy{Spec: portager.RegistryPolicySpec{
			Sources:      []portager.RegistryEntry{{Registry: entry}},
			Destinations: []portager.RegistryEntry{{Registry: entry, RepositoryPrefix: prefix}},
		}}
		p.Name = "fuzz"
		_ = validation.ValidateRegistryPolicy(&p)
		s := &portager.ImageSyncSpec{
			Source:      portager.SourceRegistry{Registry: source},
			Destination: portager.DestinationRegistry{Registry: destination, RepositoryPrefix: prefix},
			Images:      []portager.ImageSpec{{Name: image}},
		}
		for _, e := range (Checker{}).Check(context.Background(), Target{Namespace: "team-a", Spec: s}, []portager.RegistryPolicy{p}) {
			if !strings.HasPrefix(e.Field, "spec.") {
				t.Fatalf("error without a spec field: %v", e)
			}
		}
	})
}
