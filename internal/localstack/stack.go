package localstack

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/embeddedetcd"
)

// Binaries are the programs the stack runs.
type Binaries struct {
	KubeAPIServer, KubeControllerManager  string
	PortagerAPIServer, PortagerController string
	DockerRegistry                        string
	// Helm renders the chart's RBAC, which the stack applies.
	Helm string
}

// Config describes a stack.
type Config struct {
	// Root is the repository root (charts/ and artifacts/ are read from
	// there).
	Root string
	// Dir holds certificates, kubeconfigs, data and logs.
	Dir      string
	Binaries Binaries
	// Registries is how many docker-registry processes to run.
	Registries int
	// Controller runs portager-controller, allowed plain HTTP to the registries.
	Controller bool
	// KubeOnly stops after the kube-apiserver and kube-controller-manager:
	// nothing of Portager is installed (tests that install the chart with
	// helm start so).
	KubeOnly bool
	// Out receives progress lines (nil: discarded).
	Out io.Writer
}

// Users are the token-file users. admin is in system:masters; the others get
// only what RBAC grants them.
var Users = []string{"admin", "alice", "bob", "viewer", "ci"}

// Stack is a running local control plane.
type Stack struct {
	cfg Config
	// Kubeconfig has a context per user (named after it), admin current.
	Kubeconfig string
	// Registries are the host:port of each docker-registry.
	Registries []string
	// MetricsURL is the controller's HTTPS metrics and health endpoint
	// (with Config.Controller).
	MetricsURL string

	servingCA string
	// kubeconfigs is the kubeconfig with every user's context, none
	// current.
	kubeconfigs string

	etcd  *embeddedetcd.Server
	procs []*process
}

type process struct {
	name, log string
	cmd       *exec.Cmd
	done      chan struct{}
}

// Start brings the stack up. On error, whatever started is stopped.
func Start(ctx context.Context, cfg Config) (s *Stack, err error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	s = &Stack{cfg: cfg, Kubeconfig: filepath.Join(cfg.Dir, "kubeconfig")}
	defer func() {
		// Certificate helpers panic only on failed randomness or disk writes.
		if r := recover(); r != nil {
			err = fmt.Errorf("local stack: %v", r)
		}
		if err != nil {
			s.Stop()
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return s, err
	}
	dir := cfg.Dir

	fmt.Fprintln(cfg.Out, "Starting etcd...")
	s.etcd, err = embeddedetcd.Start(ctx, filepath.Join(dir, "kube-etcd"))
	if err != nil {
		return s, err
	}

	clientCA := newCA(dir, "client-ca")
	servingCA := newCA(dir, "serving-ca")
	frontProxyCA := newCA(dir, "front-proxy-ca")
	kubeCert, kubeKey := servingCA.issue(dir, "kube-apiserver", "kube-apiserver", nil, "127.0.0.1", "localhost", "kubernetes.default.svc")
	proxyCert, proxyKey := frontProxyCA.issue(dir, "front-proxy-client", "front-proxy-client", nil)
	saPub, saKey := writeServiceAccountKey(dir)

	// Our components authenticate as their ServiceAccounts' user names, so
	// the chart's bindings apply to them unchanged.
	identities := map[string]string{
		"portager-apiserver":  "system:serviceaccount:portager-system:portager-apiserver",
		"portager-controller": "system:serviceaccount:portager-system:portager-controller",
	}
	var tokens strings.Builder
	for i, u := range Users {
		groups := ""
		if u == "admin" {
			groups = "system:masters"
		}
		fmt.Fprintf(&tokens, "%s-token,%s,%d,\"%s\"\n", u, u, i+1, groups)
	}
	for ctxName, user := range identities {
		fmt.Fprintf(&tokens, "%s-token,%s,%s,\"\"\n", ctxName, user, ctxName)
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(tokens.String()), 0o600); err != nil {
		return s, err
	}

	kubePort, err := freePort()
	if err != nil {
		return s, err
	}
	fmt.Fprintln(cfg.Out, "Starting kube-apiserver...")
	if err := s.start(ctx, "kube-apiserver", cfg.Binaries.KubeAPIServer,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(kubePort),
		"--etcd-servers="+s.etcd.ClientURL, "--etcd-prefix=/kubernetes",
		"--tls-cert-file="+kubeCert, "--tls-private-key-file="+kubeKey,
		"--client-ca-file="+clientCA.CertFile, "--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--requestheader-client-ca-file="+frontProxyCA.CertFile, "--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-uid-headers=X-Remote-Uid",
		// Tests count the controller's Secret reads here.
		"--audit-log-path="+filepath.Join(dir, "kube-audit.log"), "--audit-policy-file="+s.auditPolicy(),
		"--proxy-client-cert-file="+proxyCert, "--proxy-client-key-file="+proxyKey,
	); err != nil {
		return s, err
	}

	var kc strings.Builder
	fmt.Fprintf(&kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:%d\n    certificate-authority: %s\n", kubePort, servingCA.CertFile)
	contexts := append(append([]string{}, Users...), "portager-apiserver", "portager-controller")
	kc.WriteString("users:\n")
	for _, u := range contexts {
		fmt.Fprintf(&kc, "- name: %s\n  user:\n    token: %s-token\n", u, u)
	}
	kc.WriteString("contexts:\n")
	for _, u := range contexts {
		fmt.Fprintf(&kc, "- name: %s\n  context:\n    cluster: local\n    user: %s\n    namespace: default\n", u, u)
	}
	s.kubeconfigs = kc.String()
	kubeconfigFor := s.KubeconfigFor
	if _, err := kubeconfigFor("admin"); err != nil {
		return s, err
	}
	if err := s.eventually(ctx, 90*time.Second, "kube-apiserver ready", func() error {
		_, err := s.Kubectl(ctx, "admin", nil, "get", "--raw", "/readyz")
		return err
	}); err != nil {
		return s, err
	}

	kcmPort, err := freePort()
	if err != nil {
		return s, err
	}
	if err := s.start(ctx, "kube-controller-manager", cfg.Binaries.KubeControllerManager,
		// resourcequota computes the usage that our server's ResourceQuota
		// admission checks count/imagesyncs.portager.portager.io against.
		"--kubeconfig="+s.Kubeconfig, "--controllers=clusterrole-aggregation,resourcequota", "--leader-elect=false",
		"--resource-quota-sync-period=5s",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort),
		"--authentication-kubeconfig="+s.Kubeconfig, "--authorization-kubeconfig="+s.Kubeconfig,
		"--use-service-account-credentials=false",
	); err != nil {
		return s, err
	}
	if cfg.KubeOnly {
		return s, nil
	}

	// What the chart installs, except the workloads, certificates and
	// APIService, which local processes and the local-aggregation
	// APIService replace.
	rbac, err := s.RenderChart(ctx, "--show-only", "templates/serviceaccounts.yaml", "--show-only", "templates/rbac-apiserver.yaml",
		"--show-only", "templates/rbac-users.yaml", "--show-only", "templates/rbac-controller.yaml")
	if err != nil {
		return s, err
	}
	if _, err := s.Kubectl(ctx, "admin", nil, "create", "namespace", Namespace); err != nil {
		return s, err
	}
	if _, err := s.Kubectl(ctx, "admin", []byte(rbac), "apply", "-f", "-"); err != nil {
		return s, err
	}

	fmt.Fprintln(cfg.Out, "Starting portager-apiserver...")
	apiKubeconfig, err := kubeconfigFor("portager-apiserver")
	if err != nil {
		return s, err
	}
	portagerPort, err := freePort()
	if err != nil {
		return s, err
	}
	certDir := filepath.Join(dir, "portager-certs")
	if err := s.start(ctx, "portager-apiserver", cfg.Binaries.PortagerAPIServer,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(portagerPort),
		"--cert-dir="+certDir, "--alternate-dns=portager-apiserver.portager-system.svc",
		"--etcd-data-dir="+filepath.Join(dir, "portager-etcd"),
		"--kubeconfig="+apiKubeconfig, "--authentication-kubeconfig="+apiKubeconfig, "--authorization-kubeconfig="+apiKubeconfig,
		"--audit-log-path="+filepath.Join(dir, "audit.log"), "--audit-policy-file="+s.auditPolicy(),
		"--min-sync-interval=0",
	); err != nil {
		return s, err
	}
	var ca []byte
	if err := s.eventually(ctx, 60*time.Second, "portager serving certificate", func() error {
		ca, err = os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
		return err
	}); err != nil {
		return s, err
	}
	local, err := os.ReadFile(filepath.Join(cfg.Root, "artifacts/local/apiservice.yaml"))
	if err != nil {
		return s, err
	}
	manifest := strings.NewReplacer("PORTAGER_PORT", strconv.Itoa(portagerPort),
		"PORTAGER_CA_BUNDLE", base64.StdEncoding.EncodeToString(ca)).Replace(string(local))
	if _, err := s.Kubectl(ctx, "admin", []byte(manifest), "apply", "-f", "-"); err != nil {
		return s, err
	}
	if err := s.eventually(ctx, 90*time.Second, "ImageSync API through aggregation", func() error {
		_, err := s.Kubectl(ctx, "admin", nil, "get", "imagesyncs", "-A")
		return err
	}); err != nil {
		return s, err
	}

	for i := range cfg.Registries {
		host, err := s.startRegistry(ctx, fmt.Sprintf("registry-%d", i))
		if err != nil {
			return s, err
		}
		s.Registries = append(s.Registries, host)
	}
	if len(s.Registries) > 0 {
		// The registries listen on loopback, which ImageSyncs may use only
		// where a RegistryPolicy allows it, as an administrator allows a
		// private Harbor.
		policy, err := LocalRegistriesPolicy(s.Registries)
		if err != nil {
			return s, err
		}
		if _, err := s.Kubectl(ctx, "admin", policy, "apply", "-f", "-"); err != nil {
			return s, err
		}
	}

	if cfg.Controller {
		fmt.Fprintln(cfg.Out, "Starting portager-controller...")
		ctrlKubeconfig, err := kubeconfigFor("portager-controller")
		if err != nil {
			return s, err
		}
		metricsPort, err := freePort()
		if err != nil {
			return s, err
		}
		// The metrics endpoint serves a certificate of the stack's serving
		// CA, which MetricsClient trusts.
		metricsCert, metricsKey := servingCA.issue(dir, "portager-controller-metrics", "portager-controller", nil, "127.0.0.1")
		s.MetricsURL = "https://127.0.0.1:" + strconv.Itoa(metricsPort)
		s.servingCA = servingCA.CertFile
		// Spec changes run at once, as on-demand requests do with the API
		// server's --min-sync-interval=0 above.
		args := []string{"--kubeconfig=" + ctrlKubeconfig, "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(metricsPort),
			"--tls-cert-file=" + metricsCert, "--tls-private-key-file=" + metricsKey, "--min-sync-interval=0"}
		for _, r := range s.Registries {
			args = append(args, "--insecure-registry="+r)
		}
		if err := s.start(ctx, "portager-controller", cfg.Binaries.PortagerController, args...); err != nil {
			return s, err
		}
		client, err := s.MetricsClient()
		if err != nil {
			return s, err
		}
		if err := s.eventually(ctx, 30*time.Second, "portager-controller ready", func() error {
			resp, err := client.Get(s.MetricsURL + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// KubeconfigFor writes a kubeconfig whose current context is user (a
// name of Users, or portager-apiserver or portager-controller, which
// authenticate as those ServiceAccounts) and returns its path.
func (s *Stack) KubeconfigFor(user string) (string, error) {
	p := s.Kubeconfig
	if user != "admin" {
		p = filepath.Join(s.cfg.Dir, user+".kubeconfig")
	}
	return p, os.WriteFile(p, []byte(s.kubeconfigs+"current-context: "+user+"\n"), 0o600)
}

// StartProcess runs bin with args and env (added to this process's) until
// Stop, logging to Dir/name.log; Logs reports it.
func (s *Stack) StartProcess(name, bin string, env []string, args ...string) error {
	return s.startEnv(name, bin, env, args...)
}

// FreePort returns a loopback port nothing listens on now.
func FreePort() (int, error) { return freePort() }

// Namespace is where the stack installs Portager, as the chart's README does.
const Namespace = "portager-system"

// RenderChart renders charts/portager with helm template into Namespace,
// with args added (values, --show-only).
func (s *Stack) RenderChart(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.cfg.Binaries.Helm, append([]string{"template", "portager", filepath.Join(s.cfg.Root, "charts/portager"), "--namespace", Namespace}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm template: %w: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// MetricsClient is an HTTP client that trusts the controller's metrics
// endpoint and sends no credentials of its own.
func (s *Stack) MetricsClient() (*http.Client, error) {
	pem, err := os.ReadFile(s.servingCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in the serving CA file")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// LocalRegistriesPolicyName is the RegistryPolicy that lets every namespace
// use the stack's registries.
const LocalRegistriesPolicyName = "local-registries"

// LocalRegistriesPolicy is a RegistryPolicy, selecting every namespace, that
// allows the given hosts as sources and destinations, as JSON for kubectl.
func LocalRegistriesPolicy(hosts []string) ([]byte, error) {
	p := v1alpha1.RegistryPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "RegistryPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: LocalRegistriesPolicyName},
	}
	for _, h := range hosts {
		p.Spec.Sources = append(p.Spec.Sources, v1alpha1.RegistryEntry{Registry: h})
		p.Spec.Destinations = append(p.Spec.Destinations, v1alpha1.RegistryEntry{Registry: h})
	}
	return json.Marshal(p)
}

// startRegistry runs a Debian docker-registry with filesystem storage.
func (s *Stack) startRegistry(ctx context.Context, name string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	cfgFile := filepath.Join(s.cfg.Dir, name+".yml")
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(s.cfg.Dir, name+"-data"), host)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	if err := s.start(ctx, name, s.cfg.Binaries.DockerRegistry, "serve", cfgFile); err != nil {
		return "", err
	}
	return host, s.eventually(ctx, 30*time.Second, name+" ready", func() error {
		resp, err := http.Get("http://" + host + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

func (s *Stack) auditPolicy() string {
	p := filepath.Join(s.cfg.Dir, "audit-policy.yaml")
	_ = os.WriteFile(p, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  omitStages: [RequestReceived]\n"), 0o600)
	return p
}

// start runs a process until Stop, logging to Dir/name.log.
func (s *Stack) start(_ context.Context, name, bin string, args ...string) error {
	return s.startEnv(name, bin, nil, args...)
}

func (s *Stack) startEnv(name, bin string, env []string, args ...string) error {
	if bin == "" {
		return fmt.Errorf("no binary configured for %s", name)
	}
	logPath := filepath.Join(s.cfg.Dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	return nil
}

// Stop terminates every process (SIGTERM, then SIGKILL after 10s) in reverse
// start order, then etcd.
func (s *Stack) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	s.procs = nil
	if s.etcd != nil {
		s.etcd.Close()
		s.etcd = nil
	}
}

// Logs returns the last bytes of each process log, for failure reports.
func (s *Stack) Logs(maxBytes int) map[string]string {
	out := map[string]string{}
	for _, p := range s.procs {
		data, _ := os.ReadFile(p.log)
		if len(data) > maxBytes {
			data = data[len(data)-maxBytes:]
		}
		out[p.name] = string(data)
	}
	return out
}

// Kubectl runs kubectl as user and returns stdout, or an error carrying stderr.
func (s *Stack) Kubectl(ctx context.Context, user string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", s.Kubeconfig, "--context", user}, args...)...)
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

func (s *Stack) eventually(ctx context.Context, timeout time.Duration, what string, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		for _, p := range s.procs {
			select {
			case <-p.done:
				return fmt.Errorf("%s: %s exited; see %s", what, p.name, p.log)
			default:
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(fmt.Errorf("%s: not within %s", what, timeout), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
