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
}

type serverConfig struct {
	// etcdServers, when set, is the etcd the server uses; otherwise it embeds
	// one in dataDir.
	etcdServers []string
	dataDir     string
	// customize changes the options before they are completed.
	customize func(*server.Options)
}

// startEtcd runs a real etcd in the test process and returns its endpoints.
func startEtcd(t *testing.T) []string {
	t.Helper()
	client := testserver.RunEtcd(t, nil)
	return client.Endpoints()
}

// startServer runs portager-apiserver in standalone mode (its own admin token,
// no kube-apiserver) and waits until it is ready.
func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())

	dir := t.TempDir()
	o := server.NewOptions(os.Stdout, os.Stderr)
	o.Standalone = true
	o.StandaloneKubeconfig = filepath.Join(dir, "kubeconfig")
	o.RecommendedOptions.SecureServing.ServerCert.CertDirectory = filepath.Join(dir, "certs")
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

	// The kubeconfig appears once Config() ran; then wait for readiness.
	var restConfig *rest.Config
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if restConfig == nil {
			c, err := clientcmd.BuildConfigFromFlags("", o.StandaloneKubeconfig)
			if err != nil {
				return false, nil
			}
			restConfig = c
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
	return ts
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
