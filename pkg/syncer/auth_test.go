package syncer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/portager/portager/internal/nettest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/dockerconfig"
)

func dockerConfig(t *testing.T, key, user, pass string) authn.Keychain {
	t.Helper()
	kc, err := dockerconfig.FromSecret([]byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, key, b64(user+":"+pass))))
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// prefixAuth accepts only user/pass pairs per repository prefix: the
// source credential may read src/ only, the destination credential may
// read and push dst/ only; /v2/ accepts either.
func prefixAuth(creds map[string][2]string, readOnly map[string]bool) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		if !ok {
			return false
		}
		if registrytest.KindOf(r) == "ping" {
			for _, c := range creds {
				if c == [2]string{u, p} {
					return true
				}
			}
			return false
		}
		repo := registrytest.RepoOf(r.URL.Path)
		for prefix, c := range creds {
			if strings.HasPrefix(repo, prefix+"/") && c == [2]string{u, p} {
				return !readOnly[prefix] || r.Method == http.MethodGet || r.Method == http.MethodHead
			}
		}
		return false
	}
}

// TestSameHostTwoCredentials: source and destination on the same host,
// each with its own keychain; each credential is used only for its side.
func TestSameHostTwoCredentials(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t)
	img, _ := random.Image(1000, 2)
	reg.Push("src/app:1", img) // before auth is switched on
	creds := map[string][2]string{"src": {"reader", "src-pw"}, "dst": {"pusher", "dst-pw"}}
	reg.Authorize = prefixAuth(creds, map[string]bool{"src": true})
	reg.Reset()

	srcKC := dockerConfig(t, reg.Host, "reader", "src-pw")
	dstKC := dockerConfig(t, "http://"+reg.Host+"/dst", "pusher", "dst-pw")
	e := newTestEngine(t, nil, reg)
	req := Request{
		Source:           Endpoint{Registry: reg.Ref("src"), Keychain: srcKC},
		Destination:      Endpoint{Registry: reg.Host, Keychain: dstKC},
		RepositoryPrefix: "dst",
		Images:           []Image{{Name: "app", Tags: []string{"1"}}},
	}
	r := mustSync(t, e, req)[0]
	if r.Outcome != OutcomeCopied || reg.DigestOf("dst/app:1") != mustDigest(t, img) {
		t.Fatalf("%+v\n%s", r, reg.Dump())
	}
	for _, rec := range reg.Requests() {
		if rec.Kind == "ping" {
			continue
		}
		want := "Basic " + b64("reader:src-pw")
		if strings.HasPrefix(rec.Path, "/v2/dst/") {
			want = "Basic " + b64("pusher:dst-pw")
		}
		if rec.Authorization != want && rec.Status != http.StatusUnauthorized {
			t.Errorf("%s %s sent %q", rec.Method, rec.Path, rec.Authorization)
		}
		if rec.Status == http.StatusUnauthorized || rec.Status == http.StatusForbidden {
			t.Errorf("%s %s was rejected", rec.Method, rec.Path)
		}
	}
	if n := reg.Count("", "ping"); n != 1 {
		t.Errorf("pings = %d, want 1", n)
	}

	// Up to date: still exactly two HEADs, auth state reused.
	reg.Reset()
	if r := mustSync(t, e, req)[0]; r.Outcome != OutcomeSkipped {
		t.Fatalf("%+v", r)
	}
	if n := len(reg.Requests()); n != 2 {
		t.Errorf("up-to-date run made %d requests, want 2:\n%s", n, reg.Dump())
	}

	// Wrong or missing credentials are deterministic AuthFailed results.
	for name, kc := range map[string]struct{ src, dst authn.Keychain }{
		"swapped":   {dstKC, srcKC},
		"anonymous": {nil, nil},
	} {
		req2 := req
		req2.Source.Keychain, req2.Destination.Keychain = kc.src, kc.dst
		req2.Images = []Image{{Name: "app", Tags: []string{"1"}}}
		req2.RepositoryPrefix = "dst2"
		r := mustSync(t, newTestEngine(t, nil, reg), req2)[0]
		if r.Outcome != OutcomeFailed || r.Reason != ReasonAuthFailed || r.Transient {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// tokenServer is a minimal distribution token service.
type tokenServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	issued map[string]string // token -> "user scopes"
	calls  int
	agents []string // User-Agent of each call
}

func newTokenServer(t *testing.T, user, pass string) *tokenServer {
	ts := &tokenServer{issued: map[string]string{}}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.calls++
		ts.agents = append(ts.agents, r.UserAgent())
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := fmt.Sprintf("tok-%d-SECRETTOKEN", ts.calls)
		ts.issued[tok] = strings.Join(r.URL.Query()["scope"], " ")
		json.NewEncoder(w).Encode(map[string]string{"token": tok})
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

// protect puts reg behind ts: reg answers with ts's challenge and accepts
// only the tokens ts issued, for the repositories and actions they name.
func (ts *tokenServer) protect(reg *registrytest.Registry) {
	reg.Challenge = fmt.Sprintf(`Bearer realm="%s/token",service="test-registry"`, ts.srv.URL)
	reg.Authorize = ts.allows
}

// host is ts's host:port, which engines must be allowed to reach over HTTP.
func (ts *tokenServer) host() string { return strings.TrimPrefix(ts.srv.URL, "http://") }

// tokenFixture is one registry behind a token service, holding src/app:1,
// and the keychain of the robot account both sides use.
type tokenFixture struct {
	reg *registrytest.Registry
	ts  *tokenServer
	img v1.Image
	kc  authn.Keychain
}

func newTokenFixture(t *testing.T) *tokenFixture {
	f := &tokenFixture{reg: registrytest.New(t), ts: newTokenServer(t, "robot", "robot-pw")}
	f.img, _ = random.Image(800, 2)
	f.reg.Push("src/app:1", f.img)
	f.ts.protect(f.reg)
	f.reg.Reset()
	f.kc = dockerConfig(t, f.reg.Host, "robot", "robot-pw")
	return f
}

// engine is an engine for f with mod applied, allowed to reach the token
// service over HTTP.
func (f *tokenFixture) engine(t *testing.T, mod func(*Options)) *Engine {
	return newTestEngine(t, func(o *Options) {
		o.InsecureHosts = append(o.InsecureHosts, f.ts.host())
		if mod != nil {
			mod(o)
		}
	}, f.reg)
}

// copyApp copies src/app:1 to dst/app:1 with e and fails t unless it was
// copied intact.
func (f *tokenFixture) copyApp(t *testing.T, e *Engine) TagResult {
	t.Helper()
	r := mustSync(t, e, Request{
		Source:           Endpoint{Registry: f.reg.Ref("src"), Keychain: f.kc},
		Destination:      Endpoint{Registry: f.reg.Host, Keychain: f.kc},
		RepositoryPrefix: "dst",
		Images:           []Image{{Name: "app", Tags: []string{"1"}}},
	})[0]
	if r.Outcome != OutcomeCopied || f.reg.DigestOf("dst/app:1") != mustDigest(t, f.img) {
		t.Fatalf("%+v\n%s", r, f.reg.Dump())
	}
	return r
}

func (ts *tokenServer) allows(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	ts.mu.Lock()
	scopes, ok := ts.issued[tok]
	ts.mu.Unlock()
	if !ok {
		return false
	}
	if registrytest.KindOf(r) == "ping" {
		return true
	}
	action := "pull"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		action = "push"
	}
	for _, s := range strings.Fields(scopes) {
		parts := strings.Split(s, ":")
		if len(parts) == 3 && parts[1] == registrytest.RepoOf(r.URL.Path) && strings.Contains(parts[2], action) {
			return true
		}
	}
	return false
}

// TestBearerTokenFlow: a registry with a token service; tokens are fetched
// once per side and scope for the run and reused.
func TestBearerTokenFlow(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	reg, ts := f.reg, f.ts
	r := f.copyApp(t, f.engine(t, nil))
	// One token for src pull and one for dst pull,push.
	if ts.calls != 2 {
		t.Errorf("token requests = %d, want 2", ts.calls)
	}
	for _, rec := range reg.Requests() {
		if rec.Status == http.StatusUnauthorized && rec.Kind != "ping" {
			t.Errorf("unauthorized %s %s", rec.Method, rec.Path)
		}
	}
	if strings.Contains(r.Message, "SECRETTOKEN") {
		t.Errorf("token in message")
	}
}

// TestCredentialsNotSentAfterRedirect: blob downloads redirected to another
// host (object storage) carry no Authorization header there.
func TestCredentialsNotSentAfterRedirect(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(900, 2)
	reg.Push("src/app:1", img)
	var mu sync.Mutex
	var storageAuth []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		storageAuth = append(storageAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		d := strings.TrimPrefix(r.URL.Path, "/")
		w.Write(reg.Blobs.Content(d))
	}))
	t.Cleanup(storage.Close)
	// The storage is a public host: the test network routes its
	// public-looking address to the loopback server.
	n := nettest.New()
	_, storagePort, _ := net.SplitHostPort(strings.TrimPrefix(storage.URL, "http://"))
	n.Name("storage.example.com", "93.184.216.34")
	n.Route("93.184.216.34", storagePort, strings.TrimPrefix(storage.URL, "http://"))
	reg.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "blob"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		if _, p, _ := r.BasicAuth(); p != "src-pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		http.Redirect(w, r, "http://storage.example.com:"+storagePort+"/"+d+"?X-Amz-Signature=abc", http.StatusTemporaryRedirect)
	}})
	reg.Authorize = prefixAuth(map[string][2]string{"src": {"reader", "src-pw"}}, nil)
	reg.Reset()
	e := newTestEngine(t, testNetOptions(n), reg, dst)
	r := mustSync(t, e, Request{
		Source:      Endpoint{Registry: reg.Ref("src"), Keychain: dockerConfig(t, reg.Host, "reader", "src-pw")},
		Destination: Endpoint{Registry: dst.Host},
		Images:      []Image{{Name: "app", Tags: []string{"1"}}},
	})[0]
	if r.Outcome != OutcomeCopied || dst.DigestOf("app:1") != mustDigest(t, img) {
		t.Fatalf("%+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(storageAuth) != 3 { // config + 2 layers
		t.Errorf("storage requests = %d, want 3", len(storageAuth))
	}
	for _, a := range storageAuth {
		if a != "" {
			t.Errorf("credential sent to storage host: %q", a)
		}
	}
}

// TestExpiredTokenRefreshed: a token that expires mid-run (here during a
// streamed blob upload, which cannot be replayed by itself) is refreshed
// and the operation redone once.
func TestExpiredTokenRefreshed(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	reg, ts := f.reg, f.ts
	expire := func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.issued = map[string]string{}
		ts.mu.Unlock()
		w.Header().Set("WWW-Authenticate", reg.Challenge)
		w.WriteHeader(http.StatusUnauthorized)
	}
	reg.AddFault(&registrytest.Fault{Match: match(http.MethodPut, "upload"), Times: 1, Handle: expire})
	f.copyApp(t, f.engine(t, func(o *Options) {
		o.MaxRetries = -1 // the refresh must not depend on the transient retry budget
	}))
	// src pull, dst push, then after the expiry: fresh tokens for both
	// sides as each next hits a 401.
	if ts.calls < 3 {
		t.Errorf("token requests = %d, want >= 3", ts.calls)
	}
}

// TestMountRefusedFallsBackToUpload: the destination credential may push to
// each repository but not read the other one, so the registry refuses the
// cross-repository mount; the blob is uploaded instead.
func TestMountRefusedFallsBackToUpload(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	shared := mustLayer(t, 2500, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	imgA := imageOf(t, "application/vnd.docker.distribution.manifest.v2+json", shared)
	imgB := imageOf(t, "application/vnd.docker.distribution.manifest.v2+json", shared, mustLayer(t, 100, "application/vnd.docker.image.rootfs.diff.tar.gzip"))
	src.Push("a:1", imgA)
	src.Push("b:1", imgB)
	dst.Authorize = func(r *http.Request) bool {
		if _, p, ok := r.BasicAuth(); !ok || p != "pw" {
			return false
		}
		return r.URL.Query().Get("from") == "" // no cross-repository reads
	}
	e := newTestEngine(t, func(o *Options) { o.TagConcurrency = 1 }, src, dst)
	res := mustSync(t, e, Request{
		Source:      Endpoint{Registry: src.Host},
		Destination: Endpoint{Registry: dst.Host, Keychain: dockerConfig(t, dst.Host, "u", "pw")},
		Images:      []Image{{Name: "a", Tags: []string{"1"}}, {Name: "b", Tags: []string{"1"}}},
	})
	for _, r := range res {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("%+v", r)
		}
	}
	sd, _ := shared.Digest()
	if !dst.Blobs.Has("b", sd.String()) || dst.DigestOf("b:1") != mustDigest(t, imgB) {
		t.Errorf("b not complete at destination")
	}
	refused := 0
	for _, r := range dst.Requests() {
		if strings.Contains(r.Query, "mount=") && r.Status == http.StatusUnauthorized {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("mount was not attempted/refused:\n%s", dst.Dump())
	}
}

// TestAnonymousTokenChallengeWithoutPing: an anonymous side sends no /v2/
// ping; against a registry that hands anonymous bearer tokens (as Docker
// Hub does) the first request's 401 carries the challenge, the request is
// replayed with a token, and the copy lands. A later run of the same engine
// knows the challenge and costs exactly one HEAD per tag on each side.
func TestAnonymousTokenChallengeWithoutPing(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	issued := map[string]bool{}
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("anonymous token request carried credentials")
		}
		mu.Lock()
		tok := fmt.Sprintf("anon-%d", len(issued))
		issued[tok] = true
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"token": tok})
	}))
	t.Cleanup(tokens.Close)
	authorize := func(r *http.Request) bool {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		defer mu.Unlock()
		return ok && issued[tok]
	}
	src, dst := registrytest.New(t), registrytest.New(t)
	img, _ := random.Image(800, 2)
	src.Push("app:1", img)
	for _, reg := range []*registrytest.Registry{src, dst} {
		reg.Challenge = fmt.Sprintf(`Bearer realm="%s/token",service="test"`, tokens.URL)
		reg.Authorize = authorize
		reg.Reset()
	}
	e := newTestEngine(t, func(o *Options) {
		o.InsecureHosts = append(o.InsecureHosts, strings.TrimPrefix(tokens.URL, "http://"))
	}, src, dst)
	req := Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}}},
	}
	if r := mustSync(t, e, req)[0]; r.Outcome != OutcomeCopied || dst.DigestOf("app:1") != mustDigest(t, img) {
		t.Fatalf("%+v\n%s", r, dst.Dump())
	}
	for _, reg := range []*registrytest.Registry{src, dst} {
		if n := reg.Count("", "ping"); n != 0 {
			t.Errorf("pings = %d, want 0", n)
		}
		reg.Reset()
	}
	if r := mustSync(t, e, req)[0]; r.Outcome != OutcomeSkipped {
		t.Fatalf("second run: %+v", r)
	}
	for _, reg := range []*registrytest.Registry{src, dst} {
		if n := len(reg.Requests()); n != 1 {
			t.Errorf("second run: %d requests, want 1 HEAD:\n%s", n, reg.Dump())
		}
	}
}

// rotatingKeychain hands out the password current at each call, as a cloud
// provider's keychain hands out its renewed registry token.
type rotatingKeychain struct {
	password *atomic.Value
	resolved *atomic.Int32
}

func (k rotatingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	k.resolved.Add(1)
	return authn.FromConfig(authn.AuthConfig{Username: "AWS", Password: k.password.Load().(string)}), nil
}

// TestExpiredCredentialsAreRenewed: destination credentials that expire in
// the middle of a run are read from the keychain again after the 401, and
// the run finishes with the renewed ones.
func TestExpiredCredentialsAreRenewed(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	img, _ := random.Image(1000, 3)
	src.Push("app:1", img)
	dst := registrytest.New(t)
	var valid, current atomic.Value
	valid.Store("token-1")
	current.Store("token-1")
	var accepted atomic.Int32
	dst.Authorize = func(r *http.Request) bool {
		_, p, ok := r.BasicAuth()
		if !ok || p != valid.Load().(string) {
			return false
		}
		if accepted.Add(1) == 3 {
			// The token expires after this request; the keychain now
			// hands out its successor.
			valid.Store("token-2")
			current.Store("token-2")
		}
		return true
	}
	resolved := new(atomic.Int32)
	e := newTestEngine(t, nil, src, dst)
	r := mustSync(t, e, Request{
		Source:      Endpoint{Registry: src.Host},
		Destination: Endpoint{Registry: dst.Host, Keychain: rotatingKeychain{password: &current, resolved: resolved}},
		Images:      []Image{{Name: "app", Tags: []string{"1"}}},
	})[0]
	if r.Outcome != OutcomeCopied || dst.DigestOf("app:1") != mustDigest(t, img) {
		t.Fatalf("%+v\n%s", r, dst.Dump())
	}
	if resolved.Load() < 2 {
		t.Errorf("keychain read %d times, want a second read after the 401", resolved.Load())
	}
	var with2 int
	for _, rec := range dst.Requests() {
		if rec.Authorization == "Basic "+b64("AWS:token-2") && rec.Status < 300 {
			with2++
		}
	}
	if with2 == 0 {
		t.Errorf("no request succeeded with the renewed token\n%s", dst.Dump())
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
