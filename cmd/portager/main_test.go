package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/portager/portager/internal/gcpace/gcpacetest"
)

var collectionsBeforeMain = gcpacetest.Collections()

// TestNoCollectionBeforeMain checks that internal/gcpace paces the collector
// before this binary's dependencies initialise: at the default pace their
// allocations start a collection that every run pays for.
func TestNoCollectionBeforeMain(t *testing.T) {
	gcpacetest.NoneBeforeMain(t, collectionsBeforeMain)
}

// TestClusterFree keeps the reason this binary exists: it must not link
// Kubernetes' client or built-in API types, whose package initialisation
// every run would pay. The API machinery the manifest needs is allowed.
func TestClusterFree(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{"k8s.io/client-go/", "k8s.io/api/", "k8s.io/apiserver/", "k8s.io/component-base/"}
	var found []string
	for _, pkg := range strings.Fields(string(out)) {
		for _, b := range banned {
			if strings.HasPrefix(pkg, b) {
				found = append(found, pkg)
			}
		}
	}
	if len(found) > 0 {
		t.Errorf("portager links %d packages it must not (find the importer with `go list -deps -f '{{.ImportPath}} {{.Imports}}' ./cmd/portager`):\n%s",
			len(found), strings.Join(found, "\n"))
	}
}

// TestOnceIsMounted checks that `portager once` is the once command, with
// examples naming this binary.
func TestOnceIsMounted(t *testing.T) {
	var out, errOut bytes.Buffer
	cmd := newRootCommand(&out, &errOut)
	cmd.SetArgs([]string{"once", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("once --help: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"validates it exactly as the Portager API server does", "portager once -f base-images.yaml", "--docker-config"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}
