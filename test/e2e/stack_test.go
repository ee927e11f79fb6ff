//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/portager/portager/internal/localstack"
)

// stack wraps a localstack.Stack for tests.
type stack struct {
	*localstack.Stack
	dir, root string
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func binary(t *testing.T, env, def string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		p = def
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found at %s (set %s, or run it through `make test-e2e`, which builds it): %v", filepath.Base(def), p, env, err)
	}
	return p
}

// startStack brings up the real control plane (see internal/localstack) for
// the rest of the test, with registries and the controller when asked.
func startStack(t *testing.T, registries int, withController bool) *stack {
	t.Helper()
	return startWith(t, localstack.Config{Registries: registries, Controller: withController})
}

// startWith is startStack with the stack's configuration; it fills in
// where the repository, the binaries and the stack's directory are.
func startWith(t *testing.T, cfg localstack.Config) *stack {
	t.Helper()
	root := repoRoot()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatalf("kubectl is needed on PATH: %v", err)
	}
	bins := localstack.Binaries{
		KubeAPIServer:         binary(t, "KUBE_APISERVER", filepath.Join(root, "_output/bin/kube-apiserver")),
		KubeControllerManager: binary(t, "KUBE_CONTROLLER_MANAGER", filepath.Join(root, "_output/bin/kube-controller-manager")),
		PortagerAPIServer:     binary(t, "PORTAGER_APISERVER", filepath.Join(root, "_output/bin/portager-apiserver")),
		PortagerController:    binary(t, "PORTAGER_CONTROLLER", filepath.Join(root, "_output/bin/portager-controller")),
		Helm:                  binary(t, "HELM", filepath.Join(root, "_output/bin/helm")),
	}
	if cfg.Registries > 0 {
		p, err := exec.LookPath("docker-registry")
		if err != nil {
			t.Fatalf("docker-registry (Debian package docker-registry) is needed on PATH: %v", err)
		}
		bins.DockerRegistry = p
	}
	dir := t.TempDir()
	cfg.Root, cfg.Dir, cfg.Binaries = root, dir, bins
	s, err := localstack.Start(context.Background(), cfg)
	t.Cleanup(func() {
		if t.Failed() && s != nil {
			for name, log := range s.Logs(6000) {
				t.Logf("--- last lines of %s ---\n%s", name, log)
			}
		}
		if s != nil {
			s.Stop()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{Stack: s, dir: dir, root: root}
}

func (s *stack) kubectl(user string, args ...string) (string, error) {
	return s.Kubectl(context.Background(), user, nil, args...)
}

func (s *stack) kubectlIn(user string, stdin []byte, args ...string) (string, error) {
	return s.Kubectl(context.Background(), user, stdin, args...)
}

func (s *stack) mustKubectl(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, err := s.kubectl(user, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *stack) eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (s *stack) mustKubectlIn(t *testing.T, user string, stdin []byte, args ...string) string {
	t.Helper()
	out, err := s.kubectlIn(user, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
