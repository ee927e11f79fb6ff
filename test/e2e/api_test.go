//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImageSyncThroughKubeAPIServer drives the ImageSync API the way users do:
// kubectl against a real kube-apiserver that proxies to portager-apiserver.
func TestImageSyncThroughKubeAPIServer(t *testing.T) {
	s := startStack(t, 0, false)

	t.Run("every example applies", func(t *testing.T) {
		examples, err := filepath.Glob(filepath.Join(s.root, "artifacts/examples/*.yaml"))
		if err != nil || len(examples) < 3 {
			t.Fatalf("examples: %v %v", examples, err)
		}
		for _, f := range examples {
			if out, err := s.kubectl("admin", "apply", "-f", f); err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
			} else if !strings.Contains(out, "imagesync.portager.portager.io/") {
				t.Errorf("%s: unexpected output %q", filepath.Base(f), out)
			}
		}
		// The quick start is the manifest of the CRD operator Portager replaces, byte for byte, and
		// re-applying it is a no-op.
		out := s.mustKubectl(t, "admin", "apply", "-f", filepath.Join(s.root, "artifacts/examples/base-images.yaml"))
		if !strings.Contains(out, "unchanged") {
			t.Errorf("second apply: %q, want unchanged", out)
		}
	})

	t.Run("kubectl get shows the columns", func(t *testing.T) {
		out := s.mustKubectl(t, "admin", "get", "imagesync")
		header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
		want := []string{"NAME", "SCHEDULE", "ROUTE", "SYNCED", "FAILED", "LAST", "SYNC", "NEXT", "SYNC", "READY", "AGE"}
		if strings.Join(header, " ") != strings.Join(want, " ") {
			t.Errorf("header = %q, want %q", header, want)
		}
		if !strings.Contains(out, "base-images") || !strings.Contains(out, "docker.io/library → 123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror") {
			t.Errorf("rows:\n%s", out)
		}
		wide := s.mustKubectl(t, "admin", "get", "isync", "-o", "wide")
		for _, col := range []string{"IMAGES", "SUSPEND", "REASON", "MESSAGE"} {
			if !strings.Contains(strings.SplitN(wide, "\n", 2)[0], col) {
				t.Errorf("-o wide lacks %s:\n%s", col, wide)
			}
		}
		// The category groups our resources.
		if out := s.mustKubectl(t, "admin", "get", "portager"); !strings.Contains(out, "base-images") {
			t.Errorf("kubectl get portager:\n%s", out)
		}
		sel := s.mustKubectl(t, "admin", "get", "imagesync", "--field-selector", "spec.suspend=true", "-o", "name")
		if strings.TrimSpace(sel) != "imagesync.portager.portager.io/vendor-to-gar" {
			t.Errorf("field selector spec.suspend=true: %q", sel)
		}
	})

	t.Run("kubectl explain", func(t *testing.T) {
		// The aggregator publishes our OpenAPI some time after the
		// APIService turns Available (it downloads the spec in the
		// background), so explain is retried until the schema is there.
		var out string
		s.eventually(t, time.Minute, "explain imagesync.spec.images", func() error {
			var err error
			out, err = s.kubectl("admin", "explain", "imagesync.spec.images")
			return err
		})
		for _, want := range []string{"semver", "maxTags", "tags", "name", "-required-"} {
			if !strings.Contains(out, want) {
				t.Errorf("explain lacks %q:\n%s", want, out)
			}
		}
		// Every selection and write policy field is documented.
		for path, fields := range map[string][]string{
			"imagesync.spec.images":                  {"include", "exclude", "digests", "DigestMismatch", "platforms"},
			"imagesync.spec.immutableTags":           {"promise"},
			"imagesync.spec.platforms":               {"PlatformMismatch", "destinationDigest"},
			"imagesync.spec.destination":             {"overwrite", "DestinationDiverged", "ecr"},
			"imagesync.spec.destination.ecr":         {"imageTagMutability", "scanOnPush", "encryption", "tags"},
			"imagesync.spec.destination.auth.method": {"acr", "Azure Workload Identity"},
			"imagesync.spec.source.auth.method":      {"anonymous", "cloudidentities"},
			"imagesync.status.images.tags":           {"reason", "ImmutableTagPresent", "destinationDigest", "platforms"},
		} {
			out, err := s.kubectl("admin", "explain", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range fields {
				if !strings.Contains(out, want) {
					t.Errorf("explain %s lacks %q:\n%s", path, want, out)
				}
			}
		}
	})

	t.Run("invalid manifest is refused with its field path", func(t *testing.T) {
		bad := `apiVersion: portager.portager.io/v1alpha1
kind: ImageSync
metadata:
  name: broken
  namespace: default
spec:
  schedule: "*/5 * * *"
  source:
    registry: https://ghcr.io/org
  destination:
    registry: harbor.example.com
    auth:
      method: secret
  images:
    - name: app
      semver: "not a constraint"
`
		_, err := s.kubectlIn("admin", []byte(bad), "apply", "-f", "-")
		if err == nil {
			t.Fatal("invalid manifest was accepted")
		}
		for _, path := range []string{"spec.schedule", "spec.source.registry", "spec.destination.auth.secretRef", "spec.images[0].semver"} {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error lacks %s: %v", path, err)
			}
		}
		if _, err := s.kubectl("admin", "get", "imagesync", "broken"); err == nil {
			t.Error("refused manifest was stored")
		}
	})

	t.Run("RBAC: no role is 403, the aggregated edit role works", func(t *testing.T) {
		s.mustKubectl(t, "admin", "create", "namespace", "team-a")
		s.mustKubectl(t, "admin", "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", "team-a")
		// The example pushes with the controller's ECR identity, which is a
		// permission of its own.
		s.mustKubectl(t, "admin", "create", "rolebinding", "alice-cloud", "--clusterrole=portager:cloud-identity-user", "--user=alice", "-n", "team-a")
		manifest, err := os.ReadFile(filepath.Join(s.root, "artifacts/examples/base-images.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		inTeamA := []byte(strings.Replace(string(manifest), "namespace: default", "namespace: team-a", 1))

		_, err = s.kubectlIn("bob", inTeamA, "create", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("bob create: %v, want Forbidden", err)
		}
		if _, err := s.kubectl("bob", "get", "imagesync", "-n", "team-a"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("bob get: %v, want Forbidden", err)
		}

		// The ClusterRole aggregation controller fills edit with our rules.
		s.eventually(t, 60*time.Second, "edit aggregates imagesyncs", func() error {
			_, err := s.kubectl("admin", "auth", "can-i", "create", "imagesyncs.portager.portager.io", "--as=alice", "-n", "team-a")
			return err
		})
		if out, err := s.kubectlIn("alice", inTeamA, "create", "-f", "-"); err != nil {
			t.Fatalf("alice create with edit: %v", err)
		} else if !strings.Contains(out, "created") {
			t.Fatalf("alice create: %q", out)
		}
		if out := s.mustKubectl(t, "alice", "get", "imagesync", "-n", "team-a", "-o", "name"); strings.TrimSpace(out) != "imagesync.portager.portager.io/base-images" {
			t.Fatalf("alice get: %q", out)
		}
		// alice's rights stop at her namespace.
		if _, err := s.kubectl("alice", "get", "imagesync", "-n", "default"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("alice in default: %v, want Forbidden", err)
		}
	})
}
