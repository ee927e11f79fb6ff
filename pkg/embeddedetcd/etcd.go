package embeddedetcd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// Server is a running embedded etcd.
type Server struct {
	etcd *embed.Etcd
	// ClientURL is the loopback URL to give --etcd-servers.
	ClientURL string
}

// Start runs etcd with its data in dir, creating dir if needed. A second Start
// on the same directory after Close finds every key the first one stored.
func Start(ctx context.Context, dir string) (*Server, error) {
	logger := klog.FromContext(ctx).WithName("embedded-etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating etcd data directory: %w", err)
	}
	// etcd refuses a data directory readable by others.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("securing etcd data directory: %w", err)
	}

	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}

	cfg := embed.NewConfig()
	cfg.Name = "portager"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// The metrics and pprof endpoints of etcd are not ours to expose.
	cfg.ListenMetricsUrls = nil
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if logger.V(4).Enabled() {
		zl, _ := zap.NewDevelopment(zap.IncreaseLevel(zapcore.InfoLevel))
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zl)
	}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s was not ready within 60s", dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	logger.Info("Embedded etcd is ready", "dataDir", dir, "clientURL", clientURL.String())
	return &Server{etcd: e, ClientURL: clientURL.String()}, nil
}

// Close stops etcd and waits until its data is flushed.
func (s *Server) Close() {
	s.etcd.Close()
}

// freePorts asks the kernel for n free loopback ports. Another process could
// take one before etcd binds it; that fails Start loudly rather than silently.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
