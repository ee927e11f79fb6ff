//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/storage/etcd3/testserver"
)

// stack is a real control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager (only its ClusterRole aggregation controller, so
// the aggregated view/edit/admin roles fill in) and portager-apiserver
// registered through an APIService.
type stack struct {
	dir        string
	kubeconfig string
	root       string
}

// Users from the token file. admin is in system:masters; the others get only
// what RBAC (from artifacts/) grants them.
var users = map[string]string{
	"admin":  "admin-token",
	"alice":  "alice-token",
	"bob":    "bob-token",
	"viewer": "viewer-token",
	"ci":     "ci-token",
}

func repoRoot(t *testing.T) string {
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

func startStack(t *testing.T) *stack {
	t.Helper()
	root := repoRoot(t)
	kubeAPIServer := binary(t, "KUBE_APISERVER", filepath.Join(root, "_output/bin/kube-apiserver"))
	kubeControllerManager := binary(t, "KUBE_CONTROLLER_MANAGER", filepath.Join(root, "_output/bin/kube-controller-manager"))
	portagerAPIServer := binary(t, "PORTAGER_APISERVER", filepath.Join(root, "_output/bin/portager-apiserver"))
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatalf("kubectl is needed on PATH: %v", err)
	}

	dir := t.TempDir()
	s := &stack{dir: dir, root: root, kubeconfig: filepath.Join(dir, "kubeconfig")}

	etcd := testserver.RunEtcd(t, nil)
	etcdURL := etcd.Endpoints()[0]

	clientCA := newCA(t, dir, "client-ca")
	servingCA := newCA(t, dir, "serving-ca")
	frontProxyCA := newCA(t, dir, "front-proxy-ca")
	kubeCert, kubeKey := servingCA.issue(t, dir, "kube-apiserver", "kube-apiserver", nil, "127.0.0.1", "localhost", "kubernetes.default.svc")
	proxyCert, proxyKey := frontProxyCA.issue(t, dir, "front-proxy-client", "front-proxy-client", nil)
	saPub, saKey := writeServiceAccountKey(t, dir)

	var tokens strings.Builder
	i := 0
	for name, token := range users {
		i++
		groups := ""
		if name == "admin" {
			groups = "system:masters"
		}
		fmt.Fprintf(&tokens, "%s,%s,%d,\"%s\"\n", token, name, i, groups)
	}
	// portager-apiserver authenticates as its ServiceAccount's user name, so
	// the ServiceAccount bindings in artifacts/deploy apply to it.
	fmt.Fprintf(&tokens, "portager-apiserver-token,system:serviceaccount:portager-system:portager-apiserver,100,\"\"\n")
	tokenFile := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokenFile, tokens.String())

	kubePort := freePort(t)
	server := "https://127.0.0.1:" + strconv.Itoa(kubePort)
	s.start(t, "kube-apiserver", kubeAPIServer,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(kubePort),
		"--etcd-servers="+etcdURL, "--etcd-prefix=/kubernetes",
		"--tls-cert-file="+kubeCert, "--tls-private-key-file="+kubeKey,
		"--client-ca-file="+clientCA.CertFile, "--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--requestheader-client-ca-file="+frontProxyCA.CertFile, "--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+proxyCert, "--proxy-client-key-file="+proxyKey,
	)

	var kc strings.Builder
	fmt.Fprintf(&kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: %s\n    certificate-authority: %s\n", server, servingCA.CertFile)
	kc.WriteString("users:\n")
	for name, token := range users {
		fmt.Fprintf(&kc, "- name: %s\n  user:\n    token: %s\n", name, token)
	}
	fmt.Fprintf(&kc, "- name: portager-apiserver\n  user:\n    token: portager-apiserver-token\n")
	kc.WriteString("contexts:\n")
	for name := range users {
		fmt.Fprintf(&kc, "- name: %s\n  context:\n    cluster: local\n    user: %s\n    namespace: default\n", name, name)
	}
	fmt.Fprintf(&kc, "- name: portager-apiserver\n  context:\n    cluster: local\n    user: portager-apiserver\n")
	writeFile(t, s.kubeconfig, kc.String()+"current-context: admin\n")
	// portager-apiserver talks to kube-apiserver as its ServiceAccount user.
	portagerKubeconfig := filepath.Join(dir, "portager-apiserver.kubeconfig")
	writeFile(t, portagerKubeconfig, kc.String()+"current-context: portager-apiserver\n")

	s.eventually(t, 90*time.Second, "kube-apiserver ready", func() error {
		_, err := s.kubectl("admin", "get", "--raw", "/readyz")
		return err
	})

	s.start(t, "kube-controller-manager", kubeControllerManager,
		"--kubeconfig="+s.kubeconfig, "--controllers=clusterrole-aggregation", "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(freePort(t)),
		"--authentication-kubeconfig="+s.kubeconfig, "--authorization-kubeconfig="+s.kubeconfig,
		"--use-service-account-credentials=false",
	)

	// What a cluster admin applies from artifacts/deploy: the namespace,
	// service accounts and every RBAC object. The in-cluster Deployment,
	// StatefulSet and APIService are replaced by local processes and the
	// local-aggregation APIService.
	for _, f := range []string{"00-namespace.yaml", "10-serviceaccount.yaml", "20-apiserver-rbac.yaml", "30-user-roles.yaml", "40-controller-rbac.yaml"} {
		s.mustKubectl(t, "admin", "apply", "-f", filepath.Join(root, "artifacts/deploy", f))
	}

	portagerPort := freePort(t)
	certDir := filepath.Join(dir, "portager-certs")
	s.start(t, "portager-apiserver", portagerAPIServer,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(portagerPort),
		"--cert-dir="+certDir, "--alternate-dns=portager-apiserver.portager-system.svc",
		"--etcd-data-dir="+filepath.Join(dir, "portager-etcd"),
		"--kubeconfig="+portagerKubeconfig, "--authentication-kubeconfig="+portagerKubeconfig, "--authorization-kubeconfig="+portagerKubeconfig,
		"--audit-log-path="+filepath.Join(dir, "audit.log"), "--audit-policy-file="+s.auditPolicy(t),
	)
	s.eventually(t, 60*time.Second, "portager serving certificate", func() error {
		_, err := os.Stat(filepath.Join(certDir, "apiserver.crt"))
		return err
	})
	ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(filepath.Join(root, "artifacts/local/apiservice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.NewReplacer("PORTAGER_PORT", strconv.Itoa(portagerPort),
		"PORTAGER_CA_BUNDLE", base64.StdEncoding.EncodeToString(ca)).Replace(string(local))
	localFile := filepath.Join(dir, "local-apiservice.yaml")
	writeFile(t, localFile, manifest)
	s.mustKubectl(t, "admin", "apply", "-f", localFile)

	s.eventually(t, 90*time.Second, "ImageSync API available through aggregation", func() error {
		_, err := s.kubectl("admin", "get", "imagesyncs", "-A")
		return err
	})
	return s
}

// auditPolicy logs every request to our group at Metadata level.
func (s *stack) auditPolicy(t *testing.T) string {
	p := filepath.Join(s.dir, "audit-policy.yaml")
	writeFile(t, p, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  omitStages: [RequestReceived]\n")
	return p
}

// start runs a process for the rest of the test, logging to dir/name.log, and
// prints the end of that log if the test fails.
func (s *stack) start(t *testing.T, name, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(s.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.kubeconfig)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			if len(data) > 6000 {
				data = data[len(data)-6000:]
			}
			t.Logf("--- last lines of %s ---\n%s", name, data)
		}
	})
}

// kubectl runs kubectl as one of the users and returns stdout, or an error
// carrying stderr.
func (s *stack) kubectl(user string, args ...string) (string, error) {
	return s.kubectlIn(user, nil, args...)
}

func (s *stack) kubectlIn(user string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", s.kubeconfig, "--context", user}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
