//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAccessControlThroughKubeAPIServer checks the tenant RBAC shipped in
// the chart and the Secret-reference check with real users, RBAC and kubectl.
func TestAccessControlThroughKubeAPIServer(t *testing.T) {
	s := startStack(t, 0, false)
	plugin := binary(t, "KUBECTL_IMAGESYNC", filepath.Join(s.root, "_output/bin/kubectl-imagesync"))

	s.mustKubectl(t, "admin", "create", "namespace", "team-b")
	s.mustKubectl(t, "admin", "create", "rolebinding", "ci-trigger", "--clusterrole=portager:imagesync-trigger", "--user=ci", "-n", "team-b")
	s.mustKubectl(t, "admin", "create", "rolebinding", "viewer-view", "--clusterrole=view", "--user=viewer", "-n", "team-b")
	s.mustKubectl(t, "admin", "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", "team-b")
	// edit includes reading Secrets, so the user who may edit ImageSyncs but
	// not read Secrets is bob, with a role of his own.
	s.mustKubectl(t, "admin", "create", "role", "imagesync-editor", "--verb=get,list,create,update,patch", "--resource=imagesyncs.portager.portager.io", "-n", "team-b")
	s.mustKubectl(t, "admin", "create", "rolebinding", "bob-imagesyncs", "--role=imagesync-editor", "--user=bob", "-n", "team-b")
	s.mustKubectl(t, "admin", "create", "secret", "docker-registry", "push-creds", "--docker-server=harbor.example.com",
		"--docker-username=u", "--docker-password=p", "-n", "team-b")
	s.eventually(t, time.Minute, "aggregated roles", func() error {
		_, err := s.kubectl("admin", "auth", "can-i", "get", "imagesyncs.portager.portager.io", "--as=viewer", "-n", "team-b")
		return err
	})

	manifest, err := os.ReadFile(filepath.Join(s.root, "artifacts/examples/base-images.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	teamB := []byte(strings.Replace(string(manifest), "namespace: default", "namespace: team-b", 1))
	s.mustKubectl(t, "admin", "apply", "-f", writeTemp(t, s.dir, "team-b.yaml", teamB))

	t.Run("a trigger-only user can sync but not edit", func(t *testing.T) {
		out, err := s.kubectlIn("ci", []byte(`{"apiVersion":"portager.portager.io/v1alpha1","kind":"ImageSyncRequest"}`),
			"create", "--raw", "/apis/portager.portager.io/v1alpha1/namespaces/team-b/imagesyncs/base-images/sync", "-f", "-")
		if err != nil {
			t.Fatalf("kubectl create --raw sync: %v", err)
		}
		var receipt struct {
			Status struct{ Result, RequestID, Requester string }
		}
		if err := json.Unmarshal([]byte(out), &receipt); err != nil || receipt.Status.Result != "Accepted" || receipt.Status.Requester != "ci" {
			t.Fatalf("receipt %q: %v", out, err)
		}
		if _, err := s.kubectl("ci", "patch", "imagesync", "base-images", "-n", "team-b", "--type=merge", "-p", `{"spec":{"suspend":true}}`); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("ci patch: %v, want Forbidden", err)
		}
		// The plugin coalesces into the pending request.
		cmd := exec.Command(plugin, "sync", "base-images", "-n", "team-b", "--kubeconfig", s.Kubeconfig, "--context", "ci")
		pout, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(pout), "joined pending sync request "+receipt.Status.RequestID) {
			t.Fatalf("kubectl-imagesync sync: %v: %s", err, pout)
		}
		// kubectl finds the plugin on PATH as "kubectl imagesync".
		pathed := exec.Command("kubectl", "imagesync", "status", "base-images", "-n", "team-b", "--kubeconfig", s.Kubeconfig, "--context", "ci")
		pathed.Env = append(os.Environ(), "PATH="+filepath.Dir(plugin)+":"+os.Getenv("PATH"))
		if sout, err := pathed.CombinedOutput(); err != nil || !strings.Contains(string(sout), "ImageSync team-b/base-images") {
			t.Fatalf("kubectl imagesync status: %v: %s", err, sout)
		}
		// The audit log shows the sync subresource.
		audit, _ := os.ReadFile(filepath.Join(s.dir, "audit.log"))
		if !strings.Contains(string(audit), `"subresource":"sync"`) {
			t.Fatalf("audit log lacks the sync subresource")
		}
	})

	t.Run("a view-only user can neither sync nor edit", func(t *testing.T) {
		if _, err := s.kubectl("viewer", "get", "imagesync", "base-images", "-n", "team-b"); err != nil {
			t.Fatalf("viewer get: %v", err)
		}
		_, err := s.kubectlIn("viewer", []byte(`{}`), "create", "--raw", "/apis/portager.portager.io/v1alpha1/namespaces/team-b/imagesyncs/base-images/sync", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("viewer sync: %v, want Forbidden", err)
		}
		if _, err := s.kubectl("viewer", "delete", "imagesync", "base-images", "-n", "team-b"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("viewer delete: %v, want Forbidden", err)
		}
	})

	t.Run("a user who cannot read a Secret cannot reference it", func(t *testing.T) {
		ref := `{"spec":{"destination":{"auth":{"method":"secret","secretRef":{"name":"push-creds"}}}}}`
		_, err := s.kubectl("bob", "patch", "imagesync", "base-images", "-n", "team-b", "--type=merge", "-p", ref)
		if err == nil || !strings.Contains(err.Error(), "spec.destination.auth.secretRef") || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("bob referencing push-creds: %v, want Forbidden naming the field", err)
		}
		out := s.mustKubectl(t, "alice", "patch", "imagesync", "base-images", "-n", "team-b", "--type=merge", "-p", ref)
		if !strings.Contains(out, "patched") {
			t.Fatalf("alice (edit includes Secrets) patch: %q", out)
		}
		who := s.mustKubectl(t, "admin", "get", "imagesync", "base-images", "-n", "team-b", "-o", "jsonpath={.status.secretAccessIdentity.username}")
		if who != "alice" {
			t.Fatalf("stamped identity = %q, want alice", who)
		}
	})
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
