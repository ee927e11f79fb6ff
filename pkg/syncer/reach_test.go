package syncer

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portager/portager/internal/nettest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// testNetOptions points the engine's resolver and dialer at n.
func testNetOptions(n *nettest.Net) func(*Options) {
	return func(o *Options) {
		o.Resolver = n
		o.Dial = n.Dial
	}
}

// TestDialPolicy: whatever URL a registry names (a blob redirect, an upload
// Location, a Link page, a token realm), the engine connects to an internal
// address only for the run's own registries, operator-listed hosts and
// hosts the request allows. A refusal fails the tag as BlockedDestination
// without a connection, and its message names no address.
func TestDialPolicy(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(600, 1)

	type env struct {
		src, dst *registrytest.Registry
		canary   *nettest.Canary
		net      *nettest.Net
	}
	redirectBlobs := func(target func(env) string) func(env) {
		return func(v env) {
			v.src.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "blob"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
				d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
				http.Redirect(w, r, target(v)+"/"+d, http.StatusTemporaryRedirect)
			}})
		}
	}
	tests := []struct {
		name  string
		setup func(env)
		// semver lists tags instead of naming one.
		semver        bool
		allowInternal bool
		wantReason    string
		// reached is whether the canary may see connections.
		reached bool
		// maxBlobGETs, when set, bounds the source's blob GETs.
		maxBlobGETs int
	}{
		{
			name:       "blob redirect to a loopback service",
			setup:      redirectBlobs(func(v env) string { return "http://" + v.canary.Host }),
			wantReason: ReasonBlockedDestination,
		},
		{
			name: "blob redirect to a name resolving to instance metadata",
			setup: redirectBlobs(func(v env) string {
				v.net.Name("metadata.example.com", "169.254.169.254")
				return "http://metadata.example.com:" + v.canary.Port
			}),
			wantReason: ReasonBlockedDestination,
		},
		{
			name: "blob redirect to a name resolving to private addresses",
			setup: redirectBlobs(func(v env) string {
				v.net.Name("private.example.com", "10.0.0.5")
				v.net.Name("private.example.com", "fd00::5")
				return "http://private.example.com:" + v.canary.Port
			}),
			wantReason: ReasonBlockedDestination,
		},
		{
			name: "blob redirect to a public CDN",
			setup: func(v env) {
				// The CDN serves the source's blobs at a public-looking
				// address that the test network routes to loopback.
				cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Write(v.src.Blobs.Content(strings.TrimPrefix(r.URL.Path, "/")))
				}))
				t.Cleanup(cdn.Close)
				_, port, _ := net.SplitHostPort(strings.TrimPrefix(cdn.URL, "http://"))
				v.net.Name("cdn.example.com", "93.184.216.34")
				v.net.Route("93.184.216.34", port, strings.TrimPrefix(cdn.URL, "http://"))
				redirectBlobs(func(env) string { return "http://cdn.example.com:" + port })(v)
			},
			wantReason: ReasonCopied,
		},
		{
			name:          "blob redirect to an internal host the request allows",
			setup:         redirectBlobs(func(v env) string { return "http://" + v.canary.Host }),
			allowInternal: true,
			// The canary answers with the wrong bytes: the digest check
			// catches them, after the one connection the test allowed.
			wantReason: ReasonDigestMismatch,
			reached:    true,
		},
		{
			name: "redirects that never end",
			setup: func(v env) {
				v.src.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "blob"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, r.URL.Path+"?hop="+fmt.Sprint(len(r.URL.RawQuery)), http.StatusTemporaryRedirect)
				}})
			},
			wantReason: ReasonBlockedDestination,
			// Two blobs (config and layer), each GET followed by at most
			// distribution.MaxRedirects redirects, and not retried.
			maxBlobGETs: 2 * (1 + distribution.MaxRedirects),
		},
		{
			name: "upload Location on a loopback service",
			setup: func(v env) {
				v.dst.AddFault(&registrytest.Fault{Match: match(http.MethodPost, "upload"), Times: -1,
					Handle: status(http.StatusAccepted, "Location", "http://"+v.canary.Host+"/upload")})
			},
			wantReason: ReasonBlockedDestination,
		},
		{
			name: "upload Location with another scheme",
			setup: func(v env) {
				v.dst.AddFault(&registrytest.Fault{Match: match(http.MethodPost, "upload"), Times: -1,
					Handle: status(http.StatusAccepted, "Location", "file:///etc/passwd")})
			},
			wantReason: ReasonBlockedDestination,
		},
		{
			name: "Link next page on a loopback service",
			setup: func(v env) {
				v.src.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "tags"), Times: -1, Handle: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Link", `<http://`+v.canary.Host+`/v2/src/app/tags/list?n=1>; rel="next"`)
					io.WriteString(w, `{"name":"src/app","tags":["1"]}`)
				}})
			},
			semver:     true,
			wantReason: ReasonBlockedDestination,
		},
		{
			name: "token realm on a loopback service",
			setup: func(v env) {
				v.src.Challenge = `Bearer realm="https://` + v.canary.Host + `/token",service="registry"`
				v.src.Authorize = func(*http.Request) bool { return false }
			},
			wantReason: ReasonBlockedDestination,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := env{src: registrytest.New(t), dst: registrytest.New(t), canary: nettest.NewCanary(t), net: nettest.New()}
			v.src.Push("src/app:1", img)
			tc.setup(v)
			e := newTestEngine(t, testNetOptions(v.net), v.src, v.dst)
			req := Request{
				Source:      Endpoint{Registry: v.src.Ref("src"), Keychain: dockerConfig(t, v.src.Host, "reader", "src-pw")},
				Destination: Endpoint{Registry: v.dst.Host},
				Images:      []Image{{Name: "app", Tags: []string{"1"}}},
			}
			if tc.semver {
				req.Images[0] = Image{Name: "app", Semver: ">=1"}
			}
			if tc.allowInternal {
				req.AllowInternal = func(hostport string) bool { return hostport == v.canary.Host }
			}
			res := mustSync(t, e, req)
			r := res[0]
			if r.Reason != tc.wantReason {
				t.Fatalf("result = %+v, want reason %s", r, tc.wantReason)
			}
			if tc.wantReason == ReasonBlockedDestination {
				if r.Transient {
					t.Errorf("a refused destination is marked transient")
				}
				for _, addr := range []string{v.canary.Host, v.canary.Port, "169.254.169.254", "10.0.0.5", "metadata.example.com"} {
					if strings.Contains(r.Message, addr) {
						t.Errorf("message names %q: %s", addr, r.Message)
					}
				}
			}
			if gets := v.src.Count(http.MethodGet, "blob+fault"); tc.maxBlobGETs > 0 && (gets == 0 || gets > tc.maxBlobGETs) {
				t.Errorf("%d blob GETs, want 1 to %d", gets, tc.maxBlobGETs)
			}
			if got := v.canary.Accepted(); (got > 0) != tc.reached {
				t.Errorf("canary accepted %d connections, want reached=%v", got, tc.reached)
			}
			for _, internal := range []string{"169.254.169.254", "10.0.0.5", "[fd00::5]"} {
				if n := v.net.Dialed(internal); n != 0 {
					t.Errorf("%d dial attempts to %s", n, internal)
				}
			}
			if tc.wantReason == ReasonCopied && v.dst.DigestOf("app:1") != mustDigest(t, img) {
				t.Errorf("not copied")
			}
			for _, res := range res {
				if strings.Contains(res.Message, "canary-metadata-secret") {
					t.Errorf("canary body reached a result: %s", res.Message)
				}
			}
		})
	}
}

// TestPublicNameResolvingInternally: a registry named by a public name is
// dialled only at public addresses, so a name that resolves into the
// cluster (DNS rebinding) reaches nothing, while the same registry named by
// its address (which the API server's RegistryPolicy check has vetted) is
// reached.
func TestPublicNameResolvingInternally(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(300, 1)
	src.Push("app:1", img)
	n := nettest.New()
	_, port, _ := net.SplitHostPort(src.Host)
	n.Name("registry.example.com", "127.0.0.1")
	e := newTestEngine(t, func(o *Options) {
		testNetOptions(n)(o)
		o.InsecureHosts = []string{dst.Host, "registry.example.com:" + port}
	}, dst)
	// The operator's InsecureHosts vouch for registry.example.com, so it
	// may be reached inside the network.
	r := mustSync(t, e, Request{
		Source: Endpoint{Registry: "registry.example.com:" + port}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	})[0]
	if r.Reason != ReasonCopied {
		t.Fatalf("operator-listed host: %+v", r)
	}
	src.Reset()
	e = newTestEngine(t, testNetOptions(n), dst)
	r = mustSync(t, e, Request{
		Source: Endpoint{Registry: "registry.example.com:" + port}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	})[0]
	if r.Reason != ReasonBlockedDestination {
		t.Fatalf("public name resolving to loopback: %+v", r)
	}
	if got := len(src.Requests()); got != 0 {
		t.Errorf("registry behind the public name got %d requests", got)
	}
}

// TestNoDowngrade: a registry spoken to over TLS cannot move a request to
// plain HTTP, by redirect or by upload Location, and no Authorization
// header ever arrives over plain HTTP.
func TestNoDowngrade(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(400, 1)
	var mu sync.Mutex
	var plainAuth []string
	var plainRequests int
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		plainRequests++
		if a := r.Header.Get("Authorization"); a != "" {
			plainAuth = append(plainAuth, a)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(plain.Close)
	plainHost := strings.TrimPrefix(plain.URL, "http://")

	for _, tc := range []struct {
		name string
		// tlsSource puts the TLS registry on the source side (else on
		// the destination side); the other side is a plain registry.
		tlsSource bool
		fault     func(w http.ResponseWriter, r *http.Request) bool
	}{
		{"redirect to http", true, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || registrytest.KindOf(r) != "blob" {
				return false
			}
			http.Redirect(w, r, "http://"+r.Host+"/elsewhere", http.StatusTemporaryRedirect)
			return true
		}},
		{"redirect to another plain host", true, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || registrytest.KindOf(r) != "blob" {
				return false
			}
			http.Redirect(w, r, plain.URL+"/blob", http.StatusTemporaryRedirect)
			return true
		}},
		{"upload Location on http", false, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost || registrytest.KindOf(r) != "upload" {
				return false
			}
			w.Header().Set("Location", "http://"+r.Host+"/upload")
			w.WriteHeader(http.StatusAccepted)
			return true
		}},
		{"upload Location on another plain host", false, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost || registrytest.KindOf(r) != "upload" {
				return false
			}
			w.Header().Set("Location", plain.URL+"/upload")
			w.WriteHeader(http.StatusAccepted)
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			var armed atomic.Bool
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pw" {
					w.Header().Set("WWW-Authenticate", `Basic realm="r"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if !armed.Load() || !tc.fault(w, r) {
					inner.ServeHTTP(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			tlsHost := strings.TrimPrefix(srv.URL, "https://")
			other := registrytest.New(t)
			kc := dockerConfig(t, tlsHost, "user", "pw")
			req := Request{
				Source:      Endpoint{Registry: other.Ref("src")},
				Destination: Endpoint{Registry: tlsHost, Keychain: kc},
				Images:      []Image{{Name: "app", Tags: []string{"1"}}},
			}
			if tc.tlsSource {
				ref, _ := parseRef(tlsHost + "/src/app:1")
				if err := remote.Write(ref, img, remote.WithTransport(srv.Client().Transport), remote.WithAuth(&authn.Basic{Username: "user", Password: "pw"})); err != nil {
					t.Fatal(err)
				}
				req.Source = Endpoint{Registry: tlsHost + "/src", Keychain: kc}
				req.Destination = Endpoint{Registry: other.Host}
			} else {
				other.Push("src/app:1", img)
			}
			armed.Store(true)
			n := nettest.New()
			e := newTestEngine(t, func(o *Options) {
				testNetOptions(n)(o)
				o.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			}, other)
			r := mustSync(t, e, req)[0]
			if r.Reason != ReasonBlockedDestination {
				t.Fatalf("result = %+v, want %s", r, ReasonBlockedDestination)
			}
			if n := n.Dialed(plainHost); n != 0 {
				t.Errorf("%d dial attempts to the plain host", n)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if plainRequests != 0 || len(plainAuth) != 0 {
		t.Errorf("plain HTTP got %d requests, %d with credentials", plainRequests, len(plainAuth))
	}
}
