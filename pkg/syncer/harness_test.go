package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portager/portager/pkg/sanitize"
)

// repoBlobs is a registry blob store that, unlike the default one, keeps
// blobs per repository, so HEAD in a repository that never received a blob
// is a 404 and cross-repository mounts are observable.
type repoBlobs struct {
	mu      sync.Mutex
	content map[string][]byte
	repos   map[string]map[string]bool
}

func newRepoBlobs() *repoBlobs {
	return &repoBlobs{content: map[string][]byte{}, repos: map[string]map[string]bool{}}
}

func (b *repoBlobs) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.repos[repo][h.String()] {
		return 0, registry.ErrNotFound
	}
	return int64(len(b.content[h.String()])), nil
}

func (b *repoBlobs) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.repos[repo][h.String()] {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b.content[h.String()])), nil
}

func (b *repoBlobs) Put(_ context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc) // rc verifies the digest and size
	if err != nil {
		return err
	}
	// The stock registry derives "<repo>/blobs" for PUT .../blobs/uploads/<id>.
	b.link(strings.TrimSuffix(repo, "/blobs"), h.String(), data)
	return nil
}

func (b *repoBlobs) link(repo, digest string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if data != nil {
		b.content[digest] = data
	}
	if b.repos[repo] == nil {
		b.repos[repo] = map[string]bool{}
	}
	b.repos[repo][digest] = true
}

func (b *repoBlobs) has(repo, digest string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.repos[repo][digest]
}

// record is one request seen by a test registry.
type record struct {
	Method, Path, Query, Kind string
	Status                    int
	Bytes                     int64 // request body bytes
	Authorization, UserAgent  string
}

// fault intercepts matching requests: it answers them itself instead of the
// registry, for the first times matches (times < 0: forever).
type fault struct {
	match  func(r *http.Request) bool
	times  int
	handle func(w http.ResponseWriter, r *http.Request)
}

// testRegistry is go-containerregistry's registry on loopback behind a
// request-counting, fault-injecting middleware. It also implements what the
// stock registry lacks: cross-repository mounts and Link-paginated tag
// lists.
type testRegistry struct {
	t     testing.TB
	srv   *httptest.Server
	host  string
	blobs *repoBlobs
	inner http.Handler // the stock registry, for faults that pass through

	mu        sync.Mutex
	records   []record
	faults    []*fault
	pageSize  int
	authorize func(r *http.Request) bool // nil: no auth
	challenge string                     // WWW-Authenticate on 401 (default Basic)
	hook      func(*http.Request) func() // called around every request
}

type regOpt func(*testRegistry, *[]registry.Option)

func withReferrersAPI() regOpt {
	return func(_ *testRegistry, o *[]registry.Option) { *o = append(*o, registry.WithReferrersSupport(true)) }
}

func withPageSize(n int) regOpt {
	return func(r *testRegistry, _ *[]registry.Option) { r.pageSize = n }
}

func newTestRegistry(t testing.TB, opts ...regOpt) *testRegistry {
	t.Helper()
	tr := &testRegistry{t: t, blobs: newRepoBlobs()}
	ropts := []registry.Option{registry.WithBlobHandler(tr.blobs), registry.Logger(log.New(io.Discard, "", 0))}
	for _, o := range opts {
		o(tr, &ropts)
	}
	inner := registry.New(ropts...)
	tr.inner = inner
	tr.srv = httptest.NewServer(tr.handler(inner))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

func kindOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping"
	case strings.Contains(p, "/blobs/uploads"):
		return "upload"
	case strings.Contains(p, "/blobs/"):
		return "blob"
	case strings.Contains(p, "/manifests/"):
		return "manifest"
	case strings.HasSuffix(p, "/tags/list"):
		return "tags"
	case strings.Contains(p, "/referrers/"):
		return "referrers"
	}
	return "other"
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (tr *testRegistry) handler(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Probe") != "" {
			inner.ServeHTTP(w, r)
			return
		}
		body := &countingBody{ReadCloser: r.Body}
		r.Body = body
		sw := &statusWriter{ResponseWriter: w}
		// Recorded on arrival (so counts never lag the client) and
		// completed when the handler returns.
		tr.mu.Lock()
		idx := len(tr.records)
		tr.records = append(tr.records, record{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Kind: kindOf(r), Authorization: r.Header.Get("Authorization"), UserAgent: r.UserAgent()})
		tr.mu.Unlock()
		defer func() {
			tr.mu.Lock()
			if idx < len(tr.records) {
				tr.records[idx].Bytes = body.n
				tr.records[idx].Status = sw.status
			}
			tr.mu.Unlock()
		}()

		tr.mu.Lock()
		hook := tr.hook
		tr.mu.Unlock()
		if hook != nil {
			defer hook(r)()
		}
		tr.mu.Lock()
		var f *fault
		for _, cand := range tr.faults {
			if cand.times != 0 && cand.match(r) {
				if cand.times > 0 {
					cand.times--
				}
				f = cand
				break
			}
		}
		authorize := tr.authorize
		tr.mu.Unlock()
		if f != nil {
			tr.mu.Lock()
			tr.records[idx].Kind += "+fault"
			tr.mu.Unlock()
			// The raw writer so faults can hijack the connection.
			f.handle(&hijackableStatus{statusWriter: sw}, r)
			return
		}
		if authorize != nil && !authorize(r) {
			ch := tr.challenge
			if ch == "" {
				ch = `Basic realm="test"`
			}
			sw.Header().Set("WWW-Authenticate", ch)
			sw.Header().Set("Content-Type", "application/json")
			sw.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(sw, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
			if tr.mount(sw, r) {
				return
			}
		}
		if r.Method == http.MethodGet && kindOf(r) == "tags" && tr.pageSize > 0 {
			tr.paginateTags(sw, r, inner)
			return
		}
		inner.ServeHTTP(sw, r)
	})
}

// hijackableStatus lets faults reset connections.
type hijackableStatus struct{ *statusWriter }

func (h *hijackableStatus) hijackClose() {
	hj, ok := h.statusWriter.ResponseWriter.(http.Hijacker)
	if !ok {
		panic("not hijackable")
	}
	h.statusWriter.status = -1
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// repoOf returns the repository of a /v2/<repo>/<kind>/... path.
func repoOf(p string) string {
	p = strings.TrimPrefix(p, "/v2/")
	for _, k := range []string{"/blobs/", "/manifests/", "/tags/", "/referrers/"} {
		if i := strings.Index(p, k); i >= 0 {
			return p[:i]
		}
	}
	return p
}

func (tr *testRegistry) mount(w http.ResponseWriter, r *http.Request) bool {
	digest, from := r.URL.Query().Get("mount"), r.URL.Query().Get("from")
	repo := repoOf(r.URL.Path)
	if from == "" || !tr.blobs.has(from, digest) {
		return false
	}
	tr.blobs.link(repo, digest, nil)
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.WriteHeader(http.StatusCreated)
	return true
}

// paginateTags serves the tag list in pages of pageSize with a relative
// Link header, as distribution does.
func (tr *testRegistry) paginateTags(w http.ResponseWriter, r *http.Request, inner http.Handler) {
	q := r.URL.Query()
	all := httptest.NewRecorder()
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = ""
	inner.ServeHTTP(all, r2)
	if all.Code != http.StatusOK {
		for k, v := range all.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(all.Code)
		w.Write(all.Body.Bytes())
		return
	}
	var list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	json.Unmarshal(all.Body.Bytes(), &list)
	sort.Strings(list.Tags)
	n := tr.pageSize
	if s := q.Get("n"); s != "" {
		fmt.Sscan(s, &n)
	}
	start := 0
	if last := q.Get("last"); last != "" {
		start = sort.SearchStrings(list.Tags, last)
		if start < len(list.Tags) && list.Tags[start] == last {
			start++
		}
	}
	end := min(start+n, len(list.Tags))
	page := list.Tags[start:end]
	if end < len(list.Tags) {
		next := url.Values{"n": {fmt.Sprint(n)}, "last": {page[len(page)-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?%s>; rel="next"`, list.Name, next.Encode()))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{list.Name, page})
}

func (tr *testRegistry) addFault(f *fault) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults = append(tr.faults, f)
}

func (tr *testRegistry) clearFaults() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults = nil
}

func (tr *testRegistry) reset() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.records = nil
}

func (tr *testRegistry) all() []record {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]record(nil), tr.records...)
}

// count counts requests whose method matches (or "" for any) and whose kind
// equals kind (or "" for any).
func (tr *testRegistry) count(method, kind string) int {
	n := 0
	for _, r := range tr.all() {
		if (method == "" || r.Method == method) && (kind == "" || r.Kind == kind) {
			n++
		}
	}
	return n
}

// uploadedBytes sums request bodies of blob uploads (PATCH/PUT).
func (tr *testRegistry) uploadedBytes() int64 {
	var n int64
	for _, r := range tr.all() {
		if r.Kind == "upload" && (r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			n += r.Bytes
		}
	}
	return n
}

func (tr *testRegistry) dump() string {
	var b strings.Builder
	for _, r := range tr.all() {
		fmt.Fprintf(&b, "%s %s?%s -> %d (%s)\n", r.Method, r.Path, r.Query, r.Status, r.Kind)
	}
	return b.String()
}

func (tr *testRegistry) ref(s string) string { return tr.host + "/" + s }

// push writes a fixture with go-containerregistry's client (test setup only).
func (tr *testRegistry) push(ref string, t remote.Taggable) {
	tr.t.Helper()
	r, err := name.ParseReference(tr.ref(ref), name.Insecure)
	if err != nil {
		tr.t.Fatal(err)
	}
	switch v := t.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v, tr.remoteOpts()...)
	case v1.Image:
		err = remote.Write(r, v, tr.remoteOpts()...)
	default:
		err = remote.Put(r, t, tr.remoteOpts()...)
	}
	if err != nil {
		tr.t.Fatalf("pushing fixture %s: %v", ref, err)
	}
}

// fixtureTransport is the fixtures' own transport: httptest.Server.Close
// closes http.DefaultTransport's idle connections, which can break a
// fixture push of a parallel test that is about to reuse one.
var fixtureTransport = http.DefaultTransport.(*http.Transport).Clone()

func (tr *testRegistry) remoteOpts() []remote.Option {
	return []remote.Option{remote.WithTransport(fixtureTransport)}
}

// digestOf returns the digest of ref in the registry, "" if absent. It reads
// through the registry handler directly so it is not counted.
func (tr *testRegistry) digestOf(ref string) string {
	tr.t.Helper()
	repo, tag, _ := strings.Cut(ref, ":")
	if strings.Contains(ref, "@") {
		repo, tag, _ = strings.Cut(ref, "@")
	}
	req, _ := http.NewRequest(http.MethodHead, tr.srv.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", strings.Join(manifestAccept, ","))
	req.Header.Set("X-Test-Probe", "1") // not counted
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

func mustDigest(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// newTestEngine returns an engine speaking plain HTTP to the given test
// registries, with fast retries.
func newTestEngine(t testing.TB, mod func(*Options), regs ...*testRegistry) *Engine {
	t.Helper()
	o := Options{RetryBackoff: time.Millisecond, OperationTimeout: 5 * time.Second}
	for _, r := range regs {
		o.InsecureHosts = append(o.InsecureHosts, r.host)
	}
	if mod != nil {
		mod(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustSync runs req, fails on Sync errors and checks result invariants.
func mustSync(t testing.TB, e *Engine, req Request) []TagResult {
	t.Helper()
	res, err := e.Sync(context.Background(), req)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	// Invariants of every result.
	for _, r := range res {
		if r.Outcome == "" || r.Reason == "" || len(r.Message) > sanitize.MaxLen {
			t.Errorf("malformed result %+v", r)
		}
		if (r.Reason == ReasonRateLimited) != !r.RetryAfter.IsZero() {
			t.Errorf("RetryAfter set iff RateLimited: %+v", r)
		}
		// A dry run may say what the destination holds instead.
		if r.Outcome != OutcomeFailed && (r.Message != "" && r.Outcome != OutcomeWouldCopy || r.Transient) {
			t.Errorf("successful result with failure details: %+v", r)
		}
	}
	return res
}

func resultFor(t *testing.T, res []TagResult, image, tag string) TagResult {
	t.Helper()
	for _, r := range res {
		if r.Image == image && r.Tag == tag {
			return r
		}
	}
	t.Fatalf("no result for %s:%s in %+v", image, tag, res)
	return TagResult{}
}

func parseRef(s string) (name.Reference, error) { return name.ParseReference(s, name.Insecure) }

func (h *hijackableStatus) Flush() {
	if f, ok := h.statusWriter.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// countPath counts requests with method whose path ends in suffix
// (faulted ones included).
func (tr *testRegistry) countPath(method, suffix string) int {
	n := 0
	for _, r := range tr.all() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

func (tr *testRegistry) setHook(h func(*http.Request) func()) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.hook = h
}
