package chart

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/portager/portager/internal/charttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const namespace = "portager-system"

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func helmBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("HELM")
	if p == "" {
		p = filepath.Join(repoRoot(), "_output/bin/helm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm not found at %s (set HELM, or run `make test-chart`, which builds it): %v", p, err)
	}
	return p
}

// helm runs helm on the chart and returns its standard output.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Dir = repoRoot()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// valueSets are the configurations the tests render.
var valueSets = []struct {
	name string
	args []string
}{
	{"default", nil},
	{"etcd-external", []string{"--set", "etcd.external.enabled=true", "--set", "etcd.external.endpoints={https://etcd-0.example:2379,https://etcd-1.example:2379}",
		"--set", "etcd.external.clientSecret=etcd-client"}},
	{"cert-manager", []string{"--set", "certManager.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
		"--set", "controller.egress.restrict=true", "--set", "controller.egress.cidrs={10.96.0.1/32,203.0.113.0/24}"}},
}

func render(t *testing.T, args ...string) string {
	t.Helper()
	out, err := helm(t, append([]string{"template", "portager", "charts/portager", "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// objects splits a render into objects.
func objects(t *testing.T, rendered string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := charttest.Objects(rendered)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) bool {
	t.Helper()
	ok, err := charttest.Find(objs, kind, name, into)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestLint(t *testing.T) {
	for _, vs := range valueSets {
		out, err := helm(t, append([]string{"lint", "--strict", "charts/portager"}, vs.args...)...)
		if err != nil {
			t.Errorf("%s: %v\n%s", vs.name, err, out)
		}
	}
}

// generated matches the certificate material the chart generates anew on
// every render.
var generated = regexp.MustCompile(`(?m)^(\s+(?:ca\.crt|tls\.crt|tls\.key|caBundle): ).+$`)

// TestGolden compares renders with testdata/*.golden (go test -update
// rewrites them). Generated certificates differ on every render and are
// compared as REDACTED; TestGeneratedCertificates checks them.
func TestGolden(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			got := generated.ReplaceAllString(render(t, vs.args...), "${1}REDACTED")
			file := filepath.Join("testdata", vs.name+".golden")
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test ./test/chart -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("render differs from %s (go test ./test/chart -update rewrites it after review):\n%s", file, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff names the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 2000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// podSpecs returns the pod template of every workload.
func podSpecs(t *testing.T, objs []*unstructured.Unstructured) map[string]corev1.PodTemplateSpec {
	t.Helper()
	pods := map[string]corev1.PodTemplateSpec{}
	for _, o := range objs {
		key := o.GetKind() + "/" + o.GetName()
		switch o.GetKind() {
		case "Deployment":
			var d appsv1.Deployment
			find(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), &d)
			pods[key] = d.Spec.Template
		case "StatefulSet":
			var s appsv1.StatefulSet
			find(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), &s)
			pods[key] = s.Spec.Template
		case "CronJob":
			var c batchv1.CronJob
			find(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), &c)
			pods[key] = c.Spec.JobTemplate.Spec.Template
		case "Job", "Pod", "DaemonSet", "ReplicaSet":
			t.Errorf("%s: a workload kind this test does not check", key)
		}
	}
	return pods
}

// TestPodSecurityRestricted: every pod of every configuration meets the
// restricted Pod Security standard, by Kubernetes' own evaluator, and
// each container has a read-only root filesystem, a memory limit and a
// GOMEMLIMIT below it.
func TestPodSecurityRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	for _, vs := range valueSets {
		pods := podSpecs(t, objects(t, render(t, vs.args...)))
		if len(pods) == 0 {
			t.Fatalf("%s: no workloads rendered", vs.name)
		}
		for key, pod := range pods {
			result := policy.AggregateCheckResults(evaluator.EvaluatePod(restricted, &pod.ObjectMeta, &pod.Spec))
			if !result.Allowed {
				t.Errorf("%s: %s violates restricted: %s", vs.name, key, result.ForbiddenDetail())
			}
			for _, c := range pod.Spec.Containers {
				if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
					t.Errorf("%s: %s container %s: root filesystem not read-only", vs.name, key, c.Name)
				}
				if c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s: %s container %s: no memory limit", vs.name, key, c.Name)
				}
				if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" && e.Value != "" }) {
					t.Errorf("%s: %s container %s: no GOMEMLIMIT", vs.name, key, c.Name)
				}
			}
		}
	}
}

// TestEtcdRequiresClientCertificates: the chart's etcd speaks only TLS,
// accepts only clients and peers with a certificate of its CA, and only
// the API server's, the backup job's and its own pods may connect; the API
// server presents a client certificate.
func TestEtcdRequiresClientCertificates(t *testing.T) {
	objs := objects(t, render(t))
	var sts appsv1.StatefulSet
	if !find(t, objs, "StatefulSet", "portager-etcd", &sts) {
		t.Fatal("no etcd StatefulSet")
	}
	if *sts.Spec.Replicas != 3 {
		t.Errorf("etcd members = %d, want 3", *sts.Spec.Replicas)
	}
	cmd := strings.Join(sts.Spec.Template.Spec.Containers[0].Command, " ")
	for _, want := range []string{"--client-cert-auth=true", "--peer-client-cert-auth=true", "--trusted-ca-file=", "--peer-trusted-ca-file=",
		"--listen-client-urls=https://", "--listen-peer-urls=https://"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("etcd command lacks %s: %s", want, cmd)
		}
	}
	if strings.Contains(cmd, "http://0.0.0.0:2379") || strings.Contains(cmd, "http://0.0.0.0:2380") || strings.Contains(cmd, "=http://portager-etcd") {
		t.Errorf("etcd serves clients or peers over plain HTTP: %s", cmd)
	}

	var np networkingv1.NetworkPolicy
	if !find(t, objs, "NetworkPolicy", "portager-etcd", &np) {
		t.Fatal("no NetworkPolicy for etcd")
	}
	if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != "portager-etcd" || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Errorf("NetworkPolicy does not select etcd's ingress: %+v", np.Spec)
	}
	for _, rule := range np.Spec.Ingress {
		for _, peer := range rule.From {
			name := ""
			if peer.PodSelector != nil {
				name = peer.PodSelector.MatchLabels["app.kubernetes.io/name"]
			}
			if peer.IPBlock != nil || peer.NamespaceSelector != nil || !slices.Contains([]string{"portager-apiserver", "portager-etcd", "portager-etcd-backup"}, name) {
				t.Errorf("etcd admits %+v", peer)
			}
		}
		if len(rule.From) == 0 {
			t.Errorf("an etcd ingress rule admits every source: %+v", rule)
		}
	}

	var api appsv1.Deployment
	find(t, objs, "Deployment", "portager-apiserver", &api)
	args := strings.Join(api.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--etcd-certfile=", "--etcd-keyfile=", "--etcd-cafile=", "--etcd-servers=https://portager-etcd-0.portager-etcd.portager-system.svc:2379,https://portager-etcd-1."} {
		if !strings.Contains(args, want) {
			t.Errorf("API server args lack %s: %s", want, args)
		}
	}
}

// TestGeneratedCertificates: the certificates the chart generates chain
// to the CAs it hands out: the APIService's caBundle verifies the API
// server's serving certificate for its Service name, etcd's CA verifies
// the members' certificates for their peer names and the API server's
// client certificate for client authentication, and the CA keys stay in
// their own Secrets.
func TestGeneratedCertificates(t *testing.T) {
	objs := objects(t, render(t))
	secrets := map[string]corev1.Secret{}
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			var s corev1.Secret
			find(t, []*unstructured.Unstructured{o}, "Secret", o.GetName(), &s)
			secrets[s.Name] = s
		}
	}
	var apiService struct {
		Spec struct {
			CABundle              string `json:"caBundle"`
			InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify"`
		} `json:"spec"`
	}
	if !find(t, objs, "APIService", "v1alpha1.portager.portager.io", &apiService) {
		t.Fatal("no APIService")
	}
	if apiService.Spec.InsecureSkipTLSVerify {
		t.Error("the APIService skips TLS verification")
	}
	caBundle, err := base64.StdEncoding.DecodeString(apiService.Spec.CABundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		secret string
		roots  []byte
		name   string
		usage  x509.ExtKeyUsage
	}{
		{"portager-apiserver-tls", caBundle, "portager-apiserver.portager-system.svc", x509.ExtKeyUsageServerAuth},
		{"portager-controller-tls", caBundle, "portager-controller-metrics.portager-system.svc", x509.ExtKeyUsageServerAuth},
		{"portager-etcd-tls", secrets["portager-etcd-ca"].Data["tls.crt"], "portager-etcd-2.portager-etcd.portager-system.svc", x509.ExtKeyUsageServerAuth},
		{"portager-etcd-tls", secrets["portager-etcd-ca"].Data["tls.crt"], "", x509.ExtKeyUsageClientAuth},
		{"portager-etcd-client", secrets["portager-etcd-ca"].Data["tls.crt"], "", x509.ExtKeyUsageClientAuth},
	} {
		s, ok := secrets[tc.secret]
		if !ok {
			t.Errorf("no Secret %s", tc.secret)
			continue
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(tc.roots) {
			t.Errorf("%s: no CA to verify with", tc.secret)
			continue
		}
		block, _ := pem.Decode(s.Data["tls.crt"])
		if block == nil {
			t.Errorf("%s: tls.crt is not PEM", tc.secret)
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.name, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
			t.Errorf("%s for %q: %v", tc.secret, tc.name, err)
		}
		if !bytes.Equal(s.Data["ca.crt"], tc.roots) {
			t.Errorf("%s: ca.crt is not the CA it was checked with", tc.secret)
		}
	}
	// The apiserver's CA must not verify etcd's members: the two trust
	// domains are apart.
	etcdBlock, _ := pem.Decode(secrets["portager-etcd-tls"].Data["tls.crt"])
	etcdCert, _ := x509.ParseCertificate(etcdBlock.Bytes)
	apiRoots := x509.NewCertPool()
	apiRoots.AppendCertsFromPEM(caBundle)
	if _, err := etcdCert.Verify(x509.VerifyOptions{Roots: apiRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the API server's CA verifies etcd's certificates")
	}
	for _, pod := range podSpecs(t, objs) {
		for _, v := range pod.Spec.Volumes {
			if v.Secret != nil && strings.HasSuffix(v.Secret.SecretName, "-ca") {
				t.Errorf("a pod mounts the CA Secret %s with its key", v.Secret.SecretName)
			}
		}
	}
}

// TestValuesSchema: values the chart cannot run with are refused by
// values.schema.json, naming the value.
func TestValuesSchema(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"etcd.replicas=2"}, "/etcd/replicas"},
		{[]string{"controller.resources.limits.memory=1G"}, "/controller/resources/limits/memory"},
		{[]string{"etcd.external.enabled=true", "etcd.external.clientSecret=x"}, "/etcd/external/endpoints"},
		{[]string{"etcd.external.enabled=true", "etcd.external.endpoints={http://etcd:2379}", "etcd.external.clientSecret=x"}, "/etcd/external/endpoints/0"},
		{[]string{"apiserver.replicas=0"}, "/apiserver/replicas"},
		{[]string{"controller.egress.cidrs={not-a-cidr}"}, "/controller/egress/cidrs/0"},
		{[]string{"apiserver.unknown=1"}, "/apiserver"},
	} {
		var args []string
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		_, err := helm(t, append([]string{"template", "portager", "charts/portager", "--namespace", namespace}, args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a schema error at %s", tc.set, err, tc.want)
		}
	}
}

// TestControllerWorkloadIdentity renders the values a cluster with Azure
// Workload Identity needs for auth method "acr": the ServiceAccount names
// the managed identity, and the controller's pods carry the label the
// webhook selects, next to the labels the Deployment selects them by.
func TestControllerWorkloadIdentity(t *testing.T) {
	objs := objects(t, render(t,
		"--set-string", `controller.serviceAccountAnnotations.azure\.workload\.identity/client-id=11111111-2222-3333-4444-555555555555`,
		"--set-string", `controller.podLabels.azure\.workload\.identity/use=true`))
	var sa corev1.ServiceAccount
	if !find(t, objs, "ServiceAccount", "portager-controller", &sa) {
		t.Fatal("no controller ServiceAccount")
	}
	if got := sa.Annotations["azure.workload.identity/client-id"]; got != "11111111-2222-3333-4444-555555555555" {
		t.Errorf("ServiceAccount annotation = %q", got)
	}
	var d appsv1.Deployment
	if !find(t, objs, "Deployment", "portager-controller", &d) {
		t.Fatal("no controller Deployment")
	}
	labels := d.Spec.Template.Labels
	if labels["azure.workload.identity/use"] != "true" {
		t.Errorf("pod labels = %v, want azure.workload.identity/use=true", labels)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("pod labels = %v lost the selector's %s=%s", labels, k, v)
		}
	}
}
