//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/portager/portager/internal/localstack"
)

// TestHelmUpgradeKeepsObjects installs the chart with helm into a real
// kube-apiserver, upgrades it to a later chart version (a new app version,
// so every workload's image changes) and rolls back: every object of the
// first install is still there, the same object (its UID), and the
// certificates the chart generated, and with them the APIService's
// caBundle, are unchanged.
func TestHelmUpgradeKeepsObjects(t *testing.T) {
	s := startWith(t, localstack.Config{KubeOnly: true})
	helmBin := binary(t, "HELM", filepath.Join(s.root, "_output/bin/helm"))
	helm := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(helmBin, append(args, "--kubeconfig", s.Kubeconfig, "--namespace", localstack.Namespace)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}

	// The later version: the same chart with a new version and app
	// version.
	next := filepath.Join(t.TempDir(), "portager")
	if out, err := exec.Command("cp", "-r", filepath.Join(s.root, "charts/portager"), next).CombinedOutput(); err != nil {
		t.Fatalf("copy the chart: %v: %s", err, out)
	}
	meta, err := os.ReadFile(filepath.Join(next, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	meta = []byte(strings.NewReplacer("version: 0.1.0", "version: 0.1.1", "appVersion: v0.1.0", "appVersion: v0.1.1").Replace(string(meta)))
	if err := os.WriteFile(filepath.Join(next, "Chart.yaml"), meta, 0o644); err != nil {
		t.Fatal(err)
	}

	helm("install", "portager", filepath.Join(s.root, "charts/portager"), "--create-namespace")
	first := s.objects(t)
	if len(first) < 30 {
		t.Fatalf("only %d objects installed", len(first))
	}
	helm("upgrade", "portager", next, "--reuse-values")
	upgraded := s.objects(t)
	if !strings.Contains(s.mustKubectl(t, "admin", "-n", localstack.Namespace, "get", "deployment", "portager-apiserver",
		"-o", "jsonpath={.spec.template.spec.containers[0].image}"), ":v0.1.1") {
		t.Error("the upgrade did not change the API server's image")
	}
	compare(t, "upgrade", first, upgraded)
	helm("rollback", "portager", "1")
	compare(t, "rollback", first, s.objects(t))
	if history := helm("history", "portager", "-o", "json"); strings.Count(history, `"revision"`) != 3 {
		t.Errorf("history: %s", history)
	}
}

// object is what the test compares of an installed object.
type object struct {
	uid  string
	data string // a Secret's data, an APIService's caBundle
}

// objects lists what the release installed, by kind/namespace/name.
func (s *stack) objects(t *testing.T) map[string]object {
	t.Helper()
	kinds := "secrets,services,serviceaccounts,deployments,statefulsets,cronjobs,persistentvolumeclaims,poddisruptionbudgets,networkpolicies," +
		"roles,rolebindings,clusterroles,clusterrolebindings,apiservices"
	out := s.mustKubectl(t, "admin", "get", kinds, "-A", "-l", "app.kubernetes.io/instance=portager", "-o", "json")
	var list struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name, Namespace, UID string
			} `json:"metadata"`
			Data map[string]string `json:"data"`
			Spec struct {
				CABundle string `json:"caBundle"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	objs := map[string]object{}
	for _, it := range list.Items {
		data := it.Spec.CABundle
		if it.Kind == "Secret" {
			b, _ := json.Marshal(it.Data)
			data = string(b)
		}
		objs[it.Kind+"/"+it.Metadata.Namespace+"/"+it.Metadata.Name] = object{uid: it.Metadata.UID, data: data}
	}
	return objs
}

func compare(t *testing.T, what string, before, after map[string]object) {
	t.Helper()
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, ok := after[k]
		switch {
		case !ok:
			t.Errorf("%s: %s is gone", what, k)
		case a.uid != before[k].uid:
			t.Errorf("%s: %s was replaced (uid %s, was %s)", what, k, a.uid, before[k].uid)
		case a.data != before[k].data:
			t.Errorf("%s: %s changed its certificates", what, k)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%s: %d objects, %d before", what, len(after), len(before))
	}
	fmt.Fprintf(os.Stderr, "%s: %d objects kept\n", what, len(before))
}
