package nettest

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// CanaryBody is what a Canary answers to every request: a fake cloud
// credential, so a test can also check it never reaches a result.
const CanaryBody = `{"AccessKeyId":"ASIA-CANARY","SecretAccessKey":"canary-metadata-secret"}`

// Canary is a loopback HTTP listener that stands for something inside the
// network (instance metadata, an internal service) and counts the
// connections it accepts.
type Canary struct {
	// Host is its "127.0.0.1:port", Port the port alone.
	Host, Port string
	accepted   atomic.Int32
}

// NewCanary starts a canary that stops with t.
func NewCanary(t testing.TB) *Canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Canary{Host: ln.Addr().String()}
	_, c.Port, _ = net.SplitHostPort(c.Host)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, CanaryBody)
	})}
	go srv.Serve(countingListener{ln, &c.accepted})
	t.Cleanup(func() { srv.Close() })
	return c
}

// Accepted is the number of connections the canary accepted.
func (c *Canary) Accepted() int { return int(c.accepted.Load()) }

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
