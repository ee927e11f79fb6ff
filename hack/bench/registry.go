package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// registry is one docker-registry process with filesystem storage behind a
// counting reverse proxy. reset() replaces the backend with an empty one on
// the same port, so the proxy address (what the tools see) never changes.
type registry struct {
	bin, dir   string
	port       int
	cmd        *exec.Cmd
	generation int

	proxyAddr string
	proxySrv  *http.Server
	counts    counters
}

// counters are what the proxy saw since the last snapshot.
type counters struct {
	requests, pings, heads, gets, puts, posts, tagLists atomic.Int64
	bytesIn, bytesOut                                   atomic.Int64 // request bodies, response bodies
	manifestBytesIn                                     atomic.Int64 // request bodies of manifest PUTs
}

type snapshot struct {
	Requests, Pings, Heads, Gets, Puts, Posts, TagLists int64
	BytesIn, BytesOut, ManifestBytesIn                  int64
}

func (c *counters) take() snapshot {
	return snapshot{
		Requests: c.requests.Swap(0), Pings: c.pings.Swap(0), Heads: c.heads.Swap(0), Gets: c.gets.Swap(0),
		Puts: c.puts.Swap(0), Posts: c.posts.Swap(0), TagLists: c.tagLists.Swap(0),
		BytesIn: c.bytesIn.Swap(0), BytesOut: c.bytesOut.Swap(0), ManifestBytesIn: c.manifestBytesIn.Swap(0),
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

func startRegistry(bin, dir string) (*registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &registry{bin: bin, dir: dir, port: port}
	if err := r.startBackend(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.stopBackend()
		return nil, err
	}
	r.proxyAddr = l.Addr().String()
	target := &url.URL{Scheme: "http", Host: r.backendAddr()}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	rp.ErrorLog = nil
	rp.FlushInterval = -1
	r.proxySrv = &http.Server{Handler: r.count(rp), ReadHeaderTimeout: 10 * time.Second}
	go r.proxySrv.Serve(l)
	return r, nil
}

func (r *registry) backendAddr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *registry) startBackend() error {
	r.generation++
	data := filepath.Join(r.dir, fmt.Sprintf("data-%d", r.generation))
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	cfg := filepath.Join(r.dir, "config.yml")
	// Logging off: request logs cost CPU that every tool would pay.
	conf := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`, data, r.backendAddr())
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(r.bin, "serve", cfg)
	logf, err := os.Create(filepath.Join(r.dir, "registry.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd = cmd
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + r.backendAddr() + "/v2/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stopBackend()
	return fmt.Errorf("docker-registry on %s did not start; see %s", r.backendAddr(), logf.Name())
}

func (r *registry) stopBackend() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
	r.cmd = nil
}

// reset replaces the backend with an empty registry on the same port.
func (r *registry) reset() error {
	r.stopBackend()
	os.RemoveAll(filepath.Join(r.dir, fmt.Sprintf("data-%d", r.generation)))
	if err := r.startBackend(); err != nil {
		return err
	}
	r.counts.take()
	return nil
}

func (r *registry) stop() {
	if r.proxySrv != nil {
		r.proxySrv.Close()
	}
	r.stopBackend()
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *registry) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c := &r.counts
		c.requests.Add(1)
		p := req.URL.Path
		switch {
		case p == "/v2/" || p == "/v2":
			c.pings.Add(1)
		case strings.HasSuffix(p, "/tags/list"):
			c.tagLists.Add(1)
		}
		switch req.Method {
		case http.MethodHead:
			c.heads.Add(1)
		case http.MethodGet:
			c.gets.Add(1)
		case http.MethodPut, http.MethodPatch:
			c.puts.Add(1)
		case http.MethodPost:
			c.posts.Add(1)
		}
		if req.Body != nil && req.Body != http.NoBody {
			req.Body = countingReader{ReadCloser: req.Body, n: &c.bytesIn}
			if strings.Contains(p, "/manifests/") {
				req.Body = countingReader{ReadCloser: req.Body, n: &c.manifestBytesIn}
			}
		}
		next.ServeHTTP(countingWriter{ResponseWriter: w, n: &c.bytesOut}, req)
	})
}

// shared HTTP client for the harness's own requests (data set, raw limits).
var (
	clientOnce sync.Once
	client     *http.Client
)

func httpClient() *http.Client {
	clientOnce.Do(func() {
		client = &http.Client{Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second, DisableCompression: true,
		}}
	})
	return client
}
