//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portager/portager/internal/localstack"
)

// TestQuickStartSyncs applies the quick start of the CRD operator Portager replaces, pointed at two
// Debian docker-registry processes, and follows it as a user would: kubectl
// get, crane digests, kubectl imagesync sync --wait and kubectl describe.
func TestQuickStartSyncs(t *testing.T) {
	s := startStack(t, 2, true)
	plugin := binary(t, "KUBECTL_IMAGESYNC", filepath.Join(s.root, "_output/bin/kubectl-imagesync"))
	crane := binary(t, "CRANE", filepath.Join(s.root, "_output/bin/crane"))
	src, dst := s.Registries[0], s.Registries[1]
	digests, err := localstack.Seed(src)
	if err != nil {
		t.Fatal(err)
	}

	local, err := localstack.QuickStart(s.root, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	s.mustKubectlIn(t, "admin", local, "apply", "-f", "-")

	t.Run("kubectl get shows synced counts", func(t *testing.T) {
		s.eventually(t, 2*time.Minute, "4/4 synced and Ready", func() error {
			out, err := s.kubectl("admin", "get", "imagesync", "base-images", "--no-headers")
			if err != nil {
				return err
			}
			if !strings.Contains(out, " 4/4 ") || !strings.Contains(out, " True ") {
				return fmt.Errorf("row: %q", out)
			}
			return nil
		})
	})

	t.Run("destination digests equal the source", func(t *testing.T) {
		for ref, want := range digests {
			repo, tag, _ := strings.Cut(ref, ":")
			dstRef := dst + "/mirror/" + strings.TrimPrefix(repo, "library/") + ":" + tag
			out, err := exec.Command(crane, "digest", "--insecure", dstRef).CombinedOutput()
			if err != nil {
				t.Fatalf("crane digest %s: %v: %s", dstRef, err, out)
			}
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("%s: destination %s, source %s", dstRef, got, want)
			}
		}
	})

	t.Run("kubectl imagesync sync --wait", func(t *testing.T) {
		cmd := exec.Command("kubectl", "imagesync", "sync", "base-images", "--wait", "--timeout=2m", "--kubeconfig", s.Kubeconfig, "--context", "alice")
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(plugin)+":"+os.Getenv("PATH"))
		// alice needs edit in default for this.
		s.mustKubectl(t, "admin", "create", "rolebinding", "alice-edit-default", "--clusterrole=edit", "--user=alice", "-n", "default")
		s.eventually(t, time.Minute, "edit aggregates imagesyncs/sync", func() error {
			_, err := s.kubectl("admin", "auth", "can-i", "create", "imagesyncs.portager.portager.io", "--subresource=sync", "--as=alice", "-n", "default")
			return err
		})
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl imagesync sync --wait: %v\n%s", err, out)
		}
		for _, want := range []string{"sync request", "accepted", "4/4 synced, 0 failed", "IMAGE", "alpine", "nginx", digests["library/alpine:3.21"]} {
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("kubectl describe shows the Events", func(t *testing.T) {
		s.eventually(t, 30*time.Second, "Events", func() error {
			out, err := s.kubectl("admin", "describe", "imagesync", "base-images")
			if err != nil {
				return err
			}
			for _, want := range []string{"SyncComplete", "ImageSynced", "Sync complete: 4 synced"} {
				if !strings.Contains(out, want) {
					return fmt.Errorf("describe lacks %q:\n%s", want, out)
				}
			}
			return nil
		})
	})

	t.Run("metrics need an authorized token", func(t *testing.T) { metricsNeedAuthorizedToken(t, s) })
}

// metricsNeedAuthorizedToken: the controller's /metrics refuses a caller
// without a token and a ServiceAccount without the metrics reader role, and
// serves one that has it; health answers anyone.
func metricsNeedAuthorizedToken(t *testing.T, s *stack) {
	client, err := s.MetricsClient()
	if err != nil {
		t.Fatal(err)
	}
	s.mustKubectl(t, "admin", "create", "namespace", "monitoring")
	for _, sa := range []string{"scraper", "stranger"} {
		s.mustKubectl(t, "admin", "-n", "monitoring", "create", "serviceaccount", sa)
	}
	s.mustKubectl(t, "admin", "create", "clusterrolebinding", "scraper-metrics", "--clusterrole=portager-metrics-reader",
		"--serviceaccount=monitoring:scraper")
	token := func(sa string) string {
		return strings.TrimSpace(s.mustKubectl(t, "admin", "-n", "monitoring", "create", "token", sa))
	}
	get := func(path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.MetricsURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/metrics", "", http.StatusUnauthorized},
		{"a token the cluster did not issue", "/metrics", "not-a-token", http.StatusUnauthorized},
		{"a ServiceAccount without the role", "/metrics", token("stranger"), http.StatusForbidden},
		{"a ServiceAccount with portager-metrics-reader", "/metrics", token("scraper"), http.StatusOK},
		{"health without a token", "/readyz", "", http.StatusOK},
	} {
		code, body := get(tc.path, tc.token)
		if code != tc.want {
			t.Errorf("%s: %s answered %d, want %d: %.200s", tc.name, tc.path, code, tc.want, body)
		}
		if tc.path == "/metrics" && (code == http.StatusOK) != strings.Contains(body, "portager_") {
			t.Errorf("%s: status %d, body with portager metrics = %v", tc.name, code, strings.Contains(body, "portager_"))
		}
	}
}
