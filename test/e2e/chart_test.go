//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestChartAppliesToARealAPIServer: every object the chart renders, in the
// configurations its golden files cover that need nothing beyond the core
// API (default, external etcd), is accepted by a real kube-apiserver's
// validation and admission in a server-side dry run.
func TestChartAppliesToARealAPIServer(t *testing.T) {
	s := startStack(t, 0, false)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"etcd-external", []string{"--set", "etcd.external.enabled=true", "--set", "etcd.external.endpoints={https://etcd-0.example:2379}",
			"--set", "etcd.external.clientSecret=etcd-client"}},
		{"egress restricted", []string{"--set", "controller.egress.restrict=true", "--set", "controller.egress.cidrs={10.96.0.1/32}"}},
	} {
		rendered, err := s.RenderChart(context.Background(), tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.kubectlIn("admin", []byte(rendered), "apply", "--dry-run=server", "-f", "-")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := len(regexp.MustCompile(`(?m)^kind: `).FindAllString(rendered, -1))
		if n := strings.Count(out, "(server dry run)"); n != want {
			t.Errorf("%s: %d objects applied in the dry run, want all %d:\n%s", tc.name, n, want, out)
		}
	}
}
