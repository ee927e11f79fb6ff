package distribution

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// newTransports builds the client's two transports, one that may dial only
// public addresses and one for the host:ports a run may reach inside the
// network (see reach.go). TLS is always verified, against cfg.RootCAs or
// the system roots: there is deliberately no option to skip verification.
func newTransports(cfg Config) (public, internal http.RoundTripper) {
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	build := func(internal bool) http.RoundTripper {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Registries are reached directly: a proxy from the environment
		// would dial on the client's behalf, outside the dial policy.
		tr.Proxy = nil
		tr.MaxIdleConnsPerHost = 16
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
		tr.DialContext = (&policyDialer{resolver: resolver, dial: dial, internal: internal}).DialContext
		return tr
	}
	return build(false), build(true)
}

// LoadRootCAs returns the system's root CAs plus the PEM certificates in
// files, for Config.RootCAs.
func LoadRootCAs(files []string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f)
		}
	}
	return pool, nil
}
