package registrytest

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

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RepoBlobs is a registry blob store that, unlike the default one, keeps
// blobs per repository, so HEAD in a repository that never received a blob
// is a 404 and cross-repository mounts are observable.
type RepoBlobs struct {
	mu      sync.Mutex
	content map[string][]byte
	repos   map[string]map[string]bool
}

func newRepoBlobs() *RepoBlobs {
	return &RepoBlobs{content: map[string][]byte{}, repos: map[string]map[string]bool{}}
}

// Stat implements registry.BlobStatHandler per repository.
func (b *RepoBlobs) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.repos[repo][h.String()] {
		return 0, registry.ErrNotFound
	}
	return int64(len(b.content[h.String()])), nil
}

// Get implements registry.BlobHandler per repository.
func (b *RepoBlobs) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.repos[repo][h.String()] {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b.content[h.String()])), nil
}

// Put implements registry.BlobPutHandler, linking the blob to repo.
func (b *RepoBlobs) Put(_ context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc) // rc verifies the digest and size
	if err != nil {
		return err
	}
	// The stock registry derives "<repo>/blobs" for PUT .../blobs/uploads/<id>.
	b.link(strings.TrimSuffix(repo, "/blobs"), h.String(), data)
	return nil
}

func (b *RepoBlobs) link(repo, digest string, data []byte) {
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

// Has reports whether repo holds the blob digest.
func (b *RepoBlobs) Has(repo, digest string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.repos[repo][digest]
}

// Record is one request seen by a test registry.
type Record struct {
	Method, Path, Query, Kind string
	Status                    int
	Bytes                     int64 // request body bytes
	Authorization, UserAgent  string
}

// Fault intercepts matching requests: it answers them itself instead of the
// registry, for the first times matches (times < 0: forever).
type Fault struct {
	Match  func(r *http.Request) bool
	Times  int
	Handle func(w http.ResponseWriter, r *http.Request)
}

// Registry is go-containerregistry's registry on loopback behind a
// request-counting, fault-injecting middleware. It also implements what the
// stock registry lacks: cross-repository mounts and Link-paginated tag
// lists.
type Registry struct {
	t      testing.TB
	Server *httptest.Server
	Host   string // host:port of Server
	Blobs  *RepoBlobs
	Inner  http.Handler // the stock registry, for faults that pass through
	tls    bool         // serve HTTPS with httptest's certificate

	mu        sync.Mutex
	records   []Record
	faults    []*Fault
	pageSize  int
	Authorize func(r *http.Request) bool // nil: no auth
	Challenge string                     // WWW-Authenticate on 401 (default Basic)
	hook      func(*http.Request) func() // called around every request
}

// Option configures a Registry made by New.
type Option func(*Registry, *[]registry.Option)

// WithReferrersAPI serves the OCI 1.1 referrers API.
func WithReferrersAPI() Option {
	return func(_ *Registry, o *[]registry.Option) { *o = append(*o, registry.WithReferrersSupport(true)) }
}

// WithPageSize serves tag lists in pages of n, linked by Link headers.
func WithPageSize(n int) Option {
	return func(r *Registry, _ *[]registry.Option) { r.pageSize = n }
}

// New starts a Registry on 127.0.0.1, closed when t ends.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	tr := &Registry{t: t, Blobs: newRepoBlobs()}
	ropts := []registry.Option{registry.WithBlobHandler(tr.Blobs), registry.Logger(log.New(io.Discard, "", 0))}
	for _, o := range opts {
		o(tr, &ropts)
	}
	inner := registry.New(ropts...)
	tr.Inner = inner
	tr.Server = httptest.NewUnstartedServer(tr.handler(inner))
	if tr.tls {
		tr.Server.StartTLS()
	} else {
		tr.Server.Start()
	}
	t.Cleanup(tr.Server.Close)
	u, err := url.Parse(tr.Server.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr.Host = u.Host
	return tr
}

// WithTLS serves HTTPS with httptest's certificate (for example.com and
// 127.0.0.1; Server.Certificate is its CA).
func WithTLS() Option {
	return func(r *Registry, _ *[]registry.Option) { r.tls = true }
}

// transport is what fixtures reach this registry with.
func (tr *Registry) transport() http.RoundTripper {
	if tr.tls {
		return tr.Server.Client().Transport
	}
	return fixtureTransport
}

// KindOf classifies a request by its path: ping, upload, blob, manifest,
// tags, referrers or other.
func KindOf(r *http.Request) string {
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

func (tr *Registry) handler(inner http.Handler) http.Handler {
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
		tr.records = append(tr.records, Record{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Kind: KindOf(r), Authorization: r.Header.Get("Authorization"), UserAgent: r.UserAgent()})
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
		var f *Fault
		for _, cand := range tr.faults {
			if cand.Times != 0 && cand.Match(r) {
				if cand.Times > 0 {
					cand.Times--
				}
				f = cand
				break
			}
		}
		authorize := tr.Authorize
		tr.mu.Unlock()
		if f != nil {
			tr.mu.Lock()
			tr.records[idx].Kind += "+fault"
			tr.mu.Unlock()
			// The raw writer so faults can hijack the connection.
			f.Handle(&HijackableWriter{statusWriter: sw}, r)
			return
		}
		if authorize != nil && !authorize(r) {
			ch := tr.Challenge
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
		if r.Method == http.MethodGet && KindOf(r) == "tags" && tr.pageSize > 0 {
			tr.paginateTags(sw, r, inner)
			return
		}
		inner.ServeHTTP(sw, r)
	})
}

// HijackableWriter lets faults reset connections.
type HijackableWriter struct{ *statusWriter }

// CloseConnection drops the client's connection without an answer.
func (h *HijackableWriter) CloseConnection() {
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

// RepoOf returns the repository of a /v2/<repo>/<kind>/... path.
func RepoOf(p string) string {
	p = strings.TrimPrefix(p, "/v2/")
	for _, k := range []string{"/blobs/", "/manifests/", "/tags/", "/referrers/"} {
		if i := strings.Index(p, k); i >= 0 {
			return p[:i]
		}
	}
	return p
}

func (tr *Registry) mount(w http.ResponseWriter, r *http.Request) bool {
	digest, from := r.URL.Query().Get("mount"), r.URL.Query().Get("from")
	repo := RepoOf(r.URL.Path)
	if from == "" || !tr.Blobs.Has(from, digest) {
		return false
	}
	tr.Blobs.link(repo, digest, nil)
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.WriteHeader(http.StatusCreated)
	return true
}

// paginateTags serves the tag list in pages of pageSize with a relative
// Link header, as distribution does.
func (tr *Registry) paginateTags(w http.ResponseWriter, r *http.Request, inner http.Handler) {
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

// AddFault installs f; the first matching fault answers a request.
func (tr *Registry) AddFault(f *Fault) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults = append(tr.faults, f)
}

// ClearFaults removes every fault.
func (tr *Registry) ClearFaults() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults = nil
}

// Reset forgets the requests recorded so far.
func (tr *Registry) Reset() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.records = nil
}

// Requests returns the requests recorded so far, in order of arrival.
func (tr *Registry) Requests() []Record {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Record(nil), tr.records...)
}

// Count counts requests whose method matches (or "" for any) and whose kind
// equals kind (or "" for any).
func (tr *Registry) Count(method, kind string) int {
	n := 0
	for _, r := range tr.Requests() {
		if (method == "" || r.Method == method) && (kind == "" || r.Kind == kind) {
			n++
		}
	}
	return n
}

// UploadedBytes sums request bodies of blob uploads (PATCH/PUT).
func (tr *Registry) UploadedBytes() int64 {
	var n int64
	for _, r := range tr.Requests() {
		if r.Kind == "upload" && (r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			n += r.Bytes
		}
	}
	return n
}

// Dump lists the recorded requests, one per line, for failure messages.
func (tr *Registry) Dump() string {
	var b strings.Builder
	for _, r := range tr.Requests() {
		fmt.Fprintf(&b, "%s %s?%s -> %d (%s)\n", r.Method, r.Path, r.Query, r.Status, r.Kind)
	}
	return b.String()
}

// Ref is s (repository[:tag]) on this registry.
func (tr *Registry) Ref(s string) string { return tr.Host + "/" + s }

// Push writes a fixture to ref (repository:tag or repository@digest) on
// this registry.
func (tr *Registry) Push(ref string, x remote.Taggable) {
	tr.t.Helper()
	Write(tr.t, tr.Ref(ref), x, remote.WithTransport(tr.transport()))
}

// Write writes a fixture (an image, an index, or any manifest) to ref, a
// full reference on a plain-HTTP registry, with go-containerregistry's
// client and opts (credentials, say), and returns its digest. It is test
// setup, not the engine under test.
func Write(t testing.TB, ref string, x remote.Taggable, opts ...remote.Option) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]remote.Option{remote.WithTransport(fixtureTransport)}, opts...)
	switch v := x.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v, opts...)
	case v1.Image:
		err = remote.Write(r, v, opts...)
	default:
		err = remote.Put(r, x, opts...)
	}
	if err != nil {
		t.Fatalf("pushing fixture %s: %v", ref, err)
	}
	raw, err := x.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fixtureTransport is the fixtures' own transport: httptest.Server.Close
// closes http.DefaultTransport's idle connections, which can break a
// fixture push of a parallel test that is about to reuse one.
var fixtureTransport = http.DefaultTransport.(*http.Transport).Clone()

// DigestOf returns the digest of ref in the registry, "" if absent. It reads
// through the registry handler directly so it is not counted.
func (tr *Registry) DigestOf(ref string) string {
	tr.t.Helper()
	repo, tag, _ := strings.Cut(ref, ":")
	if strings.Contains(ref, "@") {
		repo, tag, _ = strings.Cut(ref, "@")
	}
	req, _ := http.NewRequest(http.MethodHead, tr.Server.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", strings.Join(manifestAccept, ","))
	req.Header.Set("X-Test-Probe", "1") // not counted
	resp, err := tr.transport().RoundTrip(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// Flush sends what a fault wrote so far.
func (h *HijackableWriter) Flush() {
	if f, ok := h.statusWriter.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// CountPath counts requests with method whose path ends in suffix
// (faulted ones included).
func (tr *Registry) CountPath(method, suffix string) int {
	n := 0
	for _, r := range tr.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

// SetHook calls h when a request arrives and the function it returns when
// the request has been answered.
func (tr *Registry) SetHook(h func(*http.Request) func()) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.hook = h
}

// Content returns the bytes of the blob digest, nil if the registry holds
// none.
func (b *RepoBlobs) Content(digest string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.content[digest]
}

// manifestAccept is every manifest media type DigestOf accepts.
var manifestAccept = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}
