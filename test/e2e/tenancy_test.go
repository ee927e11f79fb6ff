//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portager/portager/internal/localstack"
)

// imageSyncYAML is an ImageSync in namespace ns that syncs alpine:3.21; auth
// is the body of spec.destination.auth, indented for it.
func imageSyncYAML(name, ns, schedule, src, dst, auth string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: portager.portager.io/v1alpha1
kind: ImageSync
metadata:
  name: %s
  namespace: %s
spec:
  schedule: %q
  source:
    registry: %q
  destination:
    registry: %q
    auth:
%s
  images:
    - name: alpine
      tags: ["3.21"]
`, name, ns, schedule, src, dst, auth))
}

const (
	authSecret    = "      method: secret\n      secretRef:\n        name: push-creds"
	authAnonymous = "      method: anonymous"
	authECR       = "      method: ecr"
)

// TestTenantBoundaryThroughKubeAPIServer checks the tenant boundary with
// real users, real RBAC from the chart, the real aggregation layer and
// kubectl: who may change a spec that lends access, who may lend the
// controller's cloud identity, which registries a namespace may name, how
// often a schedule may fire, and how many ImageSyncs a quota admits.
func TestTenantBoundaryThroughKubeAPIServer(t *testing.T) {
	s := startStack(t, 0, false)
	s.mustKubectl(t, "admin", "create", "namespace", "team-c")
	s.mustKubectl(t, "admin", "label", "namespace", "team-c", "team=c")
	s.mustKubectl(t, "admin", "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", "team-c")
	// bob may edit ImageSyncs but not read Secrets.
	s.mustKubectl(t, "admin", "create", "role", "imagesync-editor", "--verb=get,list,create,update,patch", "--resource=imagesyncs.portager.portager.io", "-n", "team-c")
	s.mustKubectl(t, "admin", "create", "rolebinding", "bob-imagesyncs", "--role=imagesync-editor", "--user=bob", "-n", "team-c")
	s.mustKubectl(t, "admin", "create", "rolebinding", "viewer-view", "--clusterrole=view", "--user=viewer", "-n", "team-c")
	s.mustKubectl(t, "admin", "create", "secret", "docker-registry", "push-creds", "--docker-server=harbor.example.com",
		"--docker-username=u", "--docker-password=p", "-n", "team-c")
	s.eventually(t, time.Minute, "aggregated roles", func() error {
		_, err := s.kubectl("admin", "auth", "can-i", "create", "imagesyncs.portager.portager.io", "--as=alice", "-n", "team-c")
		return err
	})
	s.mustKubectlIn(t, "alice", imageSyncYAML("shared", "team-c", "@every 6h", "ghcr.io/org", "harbor.example.com", authSecret), "apply", "-f", "-")
	rv := func() string {
		return s.mustKubectl(t, "admin", "get", "imagesync", "shared", "-n", "team-c", "-o", "jsonpath={.metadata.resourceVersion}")
	}

	t.Run("a spec change needs the writer's access, on every verb", func(t *testing.T) {
		before := rv()
		current := s.mustKubectl(t, "admin", "get", "imagesync", "shared", "-n", "team-c", "-o", "yaml")
		replaced := []byte(strings.Replace(current, "registry: harbor.example.com", "registry: attacker.example.com", 1))
		attempts := map[string]func() (string, error){
			"replace (PUT)": func() (string, error) { return s.kubectlIn("bob", replaced, "replace", "-f", "-") },
			"merge patch": func() (string, error) {
				return s.kubectl("bob", "patch", "imagesync", "shared", "-n", "team-c", "--type=merge", "-p", `{"spec":{"destination":{"registry":"attacker.example.com"}}}`)
			},
			"JSON patch": func() (string, error) {
				return s.kubectl("bob", "patch", "imagesync", "shared", "-n", "team-c", "--type=json", "-p", `[{"op":"replace","path":"/spec/schedule","value":"@every 1h"}]`)
			},
			"server-side apply": func() (string, error) {
				return s.kubectlIn("bob", imageSyncYAML("shared", "team-c", "@every 6h", "ghcr.io/org", "attacker.example.com", authSecret),
					"apply", "--server-side", "--force-conflicts", "-f", "-")
			},
		}
		for verb, attempt := range attempts {
			_, err := attempt()
			if err == nil || !strings.Contains(err.Error(), "Forbidden") || !strings.Contains(err.Error(), "spec.destination.auth.secretRef") {
				t.Errorf("bob %s: %v, want Forbidden naming spec.destination.auth.secretRef", verb, err)
			}
		}
		if after := rv(); after != before {
			t.Fatalf("refused writes changed the object: resourceVersion %s -> %s", before, after)
		}
		s.mustKubectl(t, "bob", "label", "imagesync", "shared", "-n", "team-c", "reviewed=yes")
		if who := s.mustKubectl(t, "admin", "get", "imagesync", "shared", "-n", "team-c", "-o", "jsonpath={.status.secretAccessIdentity.username}"); who != "alice" {
			t.Fatalf("writer after bob's label = %q, want alice", who)
		}
	})

	t.Run("viewers see the writer's name only; the controller reads the rest", func(t *testing.T) {
		id := s.mustKubectl(t, "viewer", "get", "imagesync", "shared", "-n", "team-c", "-o", "jsonpath={.status.secretAccessIdentity}")
		if !strings.Contains(id, `"username":"alice"`) || strings.Contains(id, "groups") || strings.Contains(id, "uid") {
			t.Fatalf("identity shown to a viewer: %s", id)
		}
		_, err := s.kubectl("viewer", "get", "--raw", "/apis/portager.portager.io/v1alpha1/namespaces/team-c/imagesyncs/shared/writer")
		if err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("viewer reading imagesyncs/writer: %v, want Forbidden", err)
		}
		out := s.mustKubectl(t, "portager-controller", "get", "--raw", "/apis/portager.portager.io/v1alpha1/namespaces/team-c/imagesyncs/shared/writer")
		var writer struct {
			Identity struct {
				Username string
				UID      string
				Groups   []string
			}
		}
		if err := json.Unmarshal([]byte(out), &writer); err != nil {
			t.Fatal(err)
		}
		// The aggregator forwards the uid (--requestheader-uid-headers).
		if writer.Identity.Username != "alice" || writer.Identity.UID == "" || !slices.Contains(writer.Identity.Groups, "system:authenticated") {
			t.Fatalf("writer read by the controller: %s", out)
		}
	})

	t.Run("the controller's cloud identity is a permission", func(t *testing.T) {
		manifest := imageSyncYAML("ecr-sync", "team-c", "@every 6h", "docker.io/library", "123456789012.dkr.ecr.us-east-1.amazonaws.com", authECR)
		_, err := s.kubectlIn("alice", manifest, "apply", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "Forbidden") || !strings.Contains(err.Error(), `may not use cloud identity "ecr"`) {
			t.Fatalf("alice without the role: %v, want Forbidden", err)
		}
		if _, err := s.kubectl("admin", "get", "imagesync", "ecr-sync", "-n", "team-c"); err == nil {
			t.Fatal("refused ImageSync was stored")
		}
		s.mustKubectl(t, "admin", "create", "rolebinding", "alice-cloud", "--clusterrole=portager:cloud-identity-user", "--user=alice", "-n", "team-c")
		s.eventually(t, 30*time.Second, "alice may use ecr", func() error {
			_, err := s.kubectlIn("alice", manifest, "apply", "-f", "-")
			return err
		})
		_, err = s.kubectl("bob", "patch", "imagesync", "ecr-sync", "-n", "team-c", "--type=merge", "-p", `{"spec":{"images":[{"name":"busybox","tags":["1"]}]}}`)
		if err == nil || !strings.Contains(err.Error(), `user "bob" may not use cloud identity "ecr"`) {
			t.Fatalf("bob changing the ecr spec: %v, want Forbidden", err)
		}
		// The role is aggregated into no default role.
		if _, err := s.kubectl("admin", "auth", "can-i", "use", "cloudidentities.portager.portager.io/ecr", "--as=carol", "-n", "team-c"); err == nil {
			t.Fatal("a user with no binding may use the cloud identity")
		}
	})

	t.Run("internal registries are refused without a RegistryPolicy", func(t *testing.T) {
		for _, host := range []string{"169.254.169.254", "127.0.0.1:2379", "10.0.0.5", "kubernetes.default.svc", "metadata.google.internal", "[fd00:ec2::254]"} {
			_, err := s.kubectlIn("alice", imageSyncYAML("internal", "team-c", "@every 6h", host, "harbor.example.com", authAnonymous), "apply", "-f", "-")
			if err == nil || !strings.Contains(err.Error(), "spec.source.registry") || !strings.Contains(err.Error(), "internal host") {
				t.Errorf("source %s: %v, want refused at spec.source.registry", host, err)
			}
			_, err = s.kubectlIn("alice", imageSyncYAML("internal", "team-c", "@every 6h", "ghcr.io", host, authAnonymous), "apply", "-f", "-")
			if err == nil || !strings.Contains(err.Error(), "spec.destination.registry") {
				t.Errorf("destination %s: %v, want refused at spec.destination.registry", host, err)
			}
		}
	})

	t.Run("a RegistryPolicy allows exactly what it names", func(t *testing.T) {
		policy := `apiVersion: portager.portager.io/v1alpha1
kind: RegistryPolicy
metadata:
  name: team-c
spec:
  namespaceSelector: {matchLabels: {team: c}}
  sources: [{registry: "127.0.0.1:5000"}, {registry: "*.example.com"}]
`
		if _, err := s.kubectlIn("alice", []byte(policy), "apply", "-f", "-"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("a tenant wrote a RegistryPolicy: %v", err)
		}
		s.mustKubectlIn(t, "admin", []byte(policy), "apply", "-f", "-")
		if out := s.mustKubectl(t, "admin", "get", "registrypolicy", "team-c", "--no-headers"); !strings.Contains(out, "team=c") || !strings.Contains(out, "127.0.0.1:5000,*.example.com") {
			t.Fatalf("kubectl get registrypolicy: %q", out)
		}
		s.mustKubectlIn(t, "alice", imageSyncYAML("local", "team-c", "@every 6h", "127.0.0.1:5000/upstream", "harbor.example.com", authAnonymous), "apply", "-f", "-")
		_, err := s.kubectlIn("alice", imageSyncYAML("other-port", "team-c", "@every 6h", "127.0.0.1:5001", "harbor.example.com", authAnonymous), "apply", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "team-c") || !strings.Contains(err.Error(), "would have to allow it") {
			t.Fatalf("127.0.0.1:5001: %v, want refused naming the policy", err)
		}
		// The policy selects team-c: a public host it does not list is refused there.
		_, err = s.kubectlIn("alice", imageSyncYAML("quay", "team-c", "@every 6h", "quay.io/org", "harbor.example.com", authAnonymous), "apply", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "spec.source.registry") {
			t.Fatalf("quay.io in team-c: %v, want refused", err)
		}
	})

	t.Run("schedules that cannot run are refused with the path", func(t *testing.T) {
		for _, schedule := range []string{"TZ=UTC", "CRON_TZ=Europe/Berlin", "0 0 30 2 *", "@every 1s"} {
			_, err := s.kubectlIn("alice", imageSyncYAML("bad-schedule", "team-c", schedule, "ghcr.io/org", "harbor.example.com", authAnonymous), "apply", "-f", "-")
			if err == nil || !strings.Contains(err.Error(), "spec.schedule") || !strings.Contains(err.Error(), "Invalid") {
				t.Errorf("schedule %q: %v, want Invalid at spec.schedule", schedule, err)
			}
		}
	})

	t.Run("ResourceQuota counts ImageSyncs", func(t *testing.T) {
		s.mustKubectl(t, "admin", "create", "namespace", "quota")
		s.mustKubectl(t, "admin", "create", "quota", "imagesyncs", "-n", "quota", "--hard=count/imagesyncs.portager.portager.io=1")
		// kube-controller-manager computes the usage our server checks against.
		s.eventually(t, 2*time.Minute, "quota usage computed", func() error {
			out, err := s.kubectl("admin", "get", "quota", "imagesyncs", "-n", "quota", "-o", "json")
			if err != nil {
				return err
			}
			var q struct {
				Status struct{ Used map[string]string }
			}
			if err := json.Unmarshal([]byte(out), &q); err != nil {
				return err
			}
			if used, ok := q.Status.Used["count/imagesyncs.portager.portager.io"]; !ok || used != "0" {
				return fmt.Errorf("used = %v", q.Status.Used)
			}
			return nil
		})
		s.mustKubectlIn(t, "admin", imageSyncYAML("first", "quota", "@every 6h", "ghcr.io/org", "harbor.example.com", authAnonymous), "create", "-f", "-")
		_, err := s.kubectlIn("admin", imageSyncYAML("second", "quota", "@every 6h", "ghcr.io/org", "harbor.example.com", authAnonymous), "create", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "exceeded quota") {
			t.Fatalf("second create: %v, want exceeded quota", err)
		}
		if _, err := s.kubectl("admin", "get", "imagesync", "second", "-n", "quota"); err == nil {
			t.Fatal("the ImageSync over quota was stored")
		}
	})
}

// TestDeletedServiceAccountLendsNothing checks that a spec written by a
// ServiceAccount stops lending its access once the ServiceAccount is gone,
// although its RoleBindings remain: the controller reads no Secret and
// reports CredentialAccessDenied. Secret reads are counted in the
// kube-apiserver's audit log.
func TestDeletedServiceAccountLendsNothing(t *testing.T) {
	s := startStack(t, 2, true)
	src, dst := s.Registries[0], s.Registries[1]
	if _, err := localstack.Seed(src); err != nil {
		t.Fatal(err)
	}
	s.mustKubectl(t, "admin", "create", "namespace", "team-d")
	s.mustKubectl(t, "admin", "create", "serviceaccount", "deployer", "-n", "team-d")
	s.mustKubectl(t, "admin", "create", "rolebinding", "deployer-edit", "--clusterrole=edit", "--serviceaccount=team-d:deployer", "-n", "team-d")
	s.mustKubectl(t, "admin", "create", "secret", "docker-registry", "push-creds", "--docker-server="+dst,
		"--docker-username=u", "--docker-password=p", "-n", "team-d")
	s.eventually(t, time.Minute, "edit aggregates imagesyncs", func() error {
		_, err := s.kubectl("admin", "auth", "can-i", "create", "imagesyncs.portager.portager.io", "--as=system:serviceaccount:team-d:deployer", "-n", "team-d")
		return err
	})
	token := strings.TrimSpace(s.mustKubectl(t, "admin", "create", "token", "deployer", "-n", "team-d"))
	manifest := imageSyncYAML("deployed", "team-d", "@every 6h", src+"/library", dst, authSecret)
	if _, err := s.kubectlIn("admin", manifest, "--token="+token, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	who := s.mustKubectl(t, "admin", "get", "imagesync", "deployed", "-n", "team-d", "-o", "jsonpath={.status.secretAccessIdentity.username}")
	if who != "system:serviceaccount:team-d:deployer" {
		t.Fatalf("writer = %q, want the ServiceAccount", who)
	}
	s.eventually(t, 2*time.Minute, "first run synced", func() error {
		return readyReason(s, "team-d", "deployed", "Synced")
	})
	secretReads := func() int {
		return countAudit(t, s, "get", "secrets", "team-d", "push-creds", "system:serviceaccount:portager-system:portager-controller")
	}
	if n := secretReads(); n != 1 {
		t.Fatalf("controller Secret reads after the first run = %d, want 1", n)
	}

	s.mustKubectl(t, "admin", "delete", "serviceaccount", "deployer", "-n", "team-d")
	s.mustKubectlIn(t, "admin", []byte(`{}`), "create", "--raw", "/apis/portager.portager.io/v1alpha1/namespaces/team-d/imagesyncs/deployed/sync", "-f", "-")
	s.eventually(t, time.Minute, "run refused", func() error {
		return readyReason(s, "team-d", "deployed", "CredentialAccessDenied")
	})
	msg := s.mustKubectl(t, "admin", "get", "imagesync", "deployed", "-n", "team-d", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
	if !strings.Contains(msg, "ServiceAccount team-d/deployer, which wrote the spec, no longer exists") {
		t.Fatalf("Ready message = %q", msg)
	}
	if n := secretReads(); n != 1 {
		t.Fatalf("controller Secret reads after the ServiceAccount was deleted = %d, want still 1", n)
	}
}

func readyReason(s *stack, ns, name, want string) error {
	got, err := s.kubectl("admin", "get", "imagesync", name, "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("Ready reason %q, want %q", got, want)
	}
	return nil
}

// countAudit counts the completed requests in the kube-apiserver's audit log
// of user doing verb on one object.
func countAudit(t *testing.T, s *stack, verb, resource, ns, name, user string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(s.dir, "kube-audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e struct {
			Stage string
			Verb  string
			User  struct{ Username string }
			// objectRef names the object.
			ObjectRef struct{ Resource, Namespace, Name string }
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Stage == "ResponseComplete" && e.Verb == verb && e.User.Username == user &&
			e.ObjectRef.Resource == resource && e.ObjectRef.Namespace == ns && e.ObjectRef.Name == name {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
