package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestClusterFree keeps what this binary is for: running the engine where
// there is no cluster. It must not link Kubernetes' client, the API server
// library or the built-in API types, so no code path in it can load a
// kubeconfig or in-cluster credentials. The API machinery the manifest needs,
// and component-base's command runner, are allowed.
func TestClusterFree(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{"k8s.io/client-go/", "k8s.io/api/", "k8s.io/apiserver/"}
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
