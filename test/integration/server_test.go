package integration

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/util/wait"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage/etcd3/testserver"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/portager/portager/pkg/cmd/server"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
)

// testServer is our API server running in the test process.
type testServer struct {
	Config *rest.Config
	Client clientset.Interface
	// Warnings collects the warning headers the server sent.
	Warnings *warningRecorder

	cancel context.CancelFunc
	done   chan error

	port     int
	certFile string
	auth     *authStub
}

type serverConfig struct {
	// etcdServers, when set, is the etcd the server uses; otherwise it embeds
	// one in dataDir.
	etcdServers []string
	dataDir     string
	// customize changes the options before they are completed.
	customize func(*server.Options)
	// auth, when set, replaces standalone mode with real delegated
	// authentication and authorization against this stub kube-apiserver.
	auth *authStub
}

// startEtcd runs a real etcd in the test process and returns its endpoints.
func startEtcd(t *testing.T) []string {
	t.Helper()
	return startEtcdClient(t).Endpoints()
}

// startEtcdClient runs a real etcd in the test process and returns a client
// of it, for tests that write what the API server would refuse.
func startEtcdClient(t *testing.T) *clientv3.Client {
	t.Helper()
	return testserver.RunEtcd(t, nil).Client
}

// startServer runs portager-apiserver in standalone mode (its own admin token,
// no kube-apiserver) and waits until it is ready.
func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())

	dir := t.TempDir()
	o := server.NewOptions(os.Stdout, os.Stderr)
	if cfg.auth == nil {
		o.Standalone = true
		o.StandaloneKubeconfig = filepath.Join(dir, "kubeconfig")
	} else {
		cfg.auth.configure(t, o)
	}
	certDir := filepath.Join(dir, "certs")
	o.RecommendedOptions.SecureServing.ServerCert.CertDirectory = certDir
	listener, port, err := genericoptions.CreateListener("tcp", "127.0.0.1:0", net.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	o.RecommendedOptions.SecureServing.Listener = listener
	o.RecommendedOptions.SecureServing.BindPort = port
	o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList = cfg.etcdServers
	if cfg.dataDir != "" {
		o.EtcdDataDir = cfg.dataDir
	}
	// A unique prefix per server keeps tests sharing an etcd apart.
	o.RecommendedOptions.Etcd.StorageConfig.Prefix = "/portager-test/" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if cfg.customize != nil {
		cfg.customize(o)
	}

	if err := o.Complete(ctx); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ts := &testServer{cancel: cancel, done: make(chan error, 1), Warnings: &warningRecorder{}}
	go func() { ts.done <- o.Run(ctx) }()
	t.Cleanup(ts.Stop)

	// The kubeconfig (standalone) or serving certificate appears once
	// Config() ran; then wait for readiness.
	var restConfig *rest.Config
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if restConfig == nil {
			var err error
			if cfg.auth == nil {
				restConfig, err = clientcmd.BuildConfigFromFlags("", o.StandaloneKubeconfig)
			} else {
				restConfig, err = cfg.auth.clientConfig(port, filepath.Join(certDir, "apiserver.crt"), "admin")
			}
			if err != nil {
				restConfig = nil
				return false, nil
			}
		}
		select {
		case err := <-ts.done:
			return false, errors.Join(errors.New("server exited"), err)
		default:
		}
		rc, err := rest.UnversionedRESTClientFor(withNegotiation(restConfig))
		if err != nil {
			return false, err
		}
		res := rc.Get().AbsPath("/readyz").Do(ctx)
		var code int
		res.StatusCode(&code)
		return code == 200, nil
	}); err != nil {
		t.Fatalf("server not ready: %v", err)
	}
	restConfig.WarningHandler = ts.Warnings
	ts.Config = restConfig
	ts.Client = clientset.NewForConfigOrDie(restConfig)
	ts.port, ts.certFile, ts.auth = port, filepath.Join(certDir, "apiserver.crt"), cfg.auth
	return ts
}

// As returns a client that authenticates as one of the stub's users.
func (ts *testServer) As(t *testing.T, user string) clientset.Interface {
	t.Helper()
	c, err := ts.auth.clientConfig(ts.port, ts.certFile, user)
	if err != nil {
		t.Fatal(err)
	}
	c.WarningHandler = ts.Warnings
	return clientset.NewForConfigOrDie(c)
}

// ConfigAs returns the rest.Config of one of the stub's users.
func (ts *testServer) ConfigAs(t *testing.T, user string) *rest.Config {
	t.Helper()
	c, err := ts.auth.clientConfig(ts.port, ts.certFile, user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Stop shuts the server down and waits until it has released its storage.
func (ts *testServer) Stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	select {
	case <-ts.done:
	case <-time.After(60 * time.Second):
	}
	ts.cancel = nil
}

func withNegotiation(c *rest.Config) *rest.Config {
	c = rest.CopyConfig(c)
	c.NegotiatedSerializer = clientsetScheme()
	c.GroupVersion = nil
	return c
}

// warningRecorder keeps the Warning headers of responses.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeader(code int, agent string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

// Take returns the warnings seen since the last call.
func (w *warningRecorder) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}
