package syncer

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

func TestRepositoryNaming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		parts []string
		want  string // name.Repository.String()
	}{
		{[]string{"docker.io/library", "nginx"}, "index.docker.io/library/nginx"},
		{[]string{"cgr.dev/my-org", "app"}, "cgr.dev/my-org/app"},
		{[]string{"harbor.example.com", "/mirror/", "python"}, "harbor.example.com/mirror/python"},
		{[]string{"harbor.example.com", "", "python"}, "harbor.example.com/python"},
		{[]string{"ecr.example.com:5000/", "team/base", "go"}, "ecr.example.com:5000/team/base/go"},
	}
	for _, tc := range tests {
		repo, err := name.NewRepository(joinRepo(tc.parts...))
		if err != nil {
			t.Fatalf("%v: %v", tc.parts, err)
		}
		if repo.String() != tc.want {
			t.Errorf("%v -> %s, want %s", tc.parts, repo.String(), tc.want)
		}
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ok := Request{Source: Endpoint{Registry: "r.example"}, Destination: Endpoint{Registry: "d.example"}, Images: []Image{{Name: "app", Tags: []string{"1"}}}}
	tests := map[string]func(*Request){
		"no source":          func(r *Request) { r.Source.Registry = "" },
		"no destination":     func(r *Request) { r.Destination.Registry = " " },
		"no images":          func(r *Request) { r.Images = nil },
		"no image name":      func(r *Request) { r.Images[0].Name = "" },
		"no tags nor semver": func(r *Request) { r.Images[0].Tags = nil },
		"negative maxTags":   func(r *Request) { r.Images[0].MaxTags = -1; r.Images[0].Semver = "*" },
		"upper-case name":    func(r *Request) { r.Images[0].Name = "App" },
		"bad tag":            func(r *Request) { r.Images[0].Tags = []string{"a b"} },
	}
	for name, mutate := range tests {
		req := ok
		req.Images = []Image{{Name: "app", Tags: []string{"1"}}}
		mutate(&req)
		if res, err := e.Sync(context.Background(), req); err == nil || res != nil {
			t.Errorf("%s: want an invalid-request error, got %v %v", name, res, err)
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Options{
		"negative concurrency": {TagConcurrency: -1},
		"negative checks":      {CheckConcurrency: -1},
		"negative timeout":     {RegistryOptions: RegistryOptions{OperationTimeout: -1}},
		"negative slots":       {RegistryOptions: RegistryOptions{PerRegistryConcurrency: -1}},
		"insecure with path":   {RegistryOptions: RegistryOptions{InsecureHosts: []string{"r.example/path"}}},
		"insecure with scheme": {RegistryOptions: RegistryOptions{InsecureHosts: []string{"http://r.example"}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e.opts, DefaultOptions()) {
		t.Errorf("defaults not applied:\n got %+v\nwant %+v", e.opts, DefaultOptions())
	}
	e, err = New(Options{RegistryOptions: RegistryOptions{MaxRetries: -1}})
	if err != nil || e.opts.MaxRetries != 0 {
		t.Errorf("MaxRetries -1: want none (0), got %d, %v", e.opts.MaxRetries, err)
	}
}

// TestProgressAndNoDigestHeader: Progress is called once per result; a
// registry that omits Docker-Content-Digest on HEAD costs a GET instead and
// still yields the right digest.
func TestProgressAndNoDigestHeader(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(300, 1)
	src.Push("app:1", img)
	src.Push("app:2", img)
	src.AddFault(&registrytest.Fault{Match: match(http.MethodHead, "manifest"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		src.Inner.ServeHTTP(stripDigest{w}, r)
	}})
	e := newTestEngine(t, nil, src, dst)
	var mu sync.Mutex
	var seen []string
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images:   []Image{{Name: "app", Tags: []string{"1", "2", "3"}, Semver: "bad constraint"}},
		Progress: func(r TagResult) { mu.Lock(); seen = append(seen, r.Tag+"/"+r.Reason); mu.Unlock() },
	})
	if len(seen) != len(res) || len(res) != 4 {
		t.Fatalf("progress %v for results %+v", seen, res)
	}
	for _, r := range res[1:3] {
		if r.Outcome != OutcomeCopied || r.Digest != mustDigest(t, img) {
			t.Errorf("%+v", r)
		}
	}
	if res[3].Reason != ReasonTagNotFound {
		t.Errorf("tag 3: %+v", res[3])
	}
	if !strings.Contains(strings.Join(seen, " "), "/"+ReasonInvalidConstraint) {
		t.Errorf("image-level result not reported through Progress: %v", seen)
	}
}

type stripDigest struct{ http.ResponseWriter }

func (s stripDigest) WriteHeader(code int) {
	s.Header().Del("Docker-Content-Digest")
	s.ResponseWriter.WriteHeader(code)
}

func TestDestinationRepositories(t *testing.T) {
	tests := []struct {
		registry, prefix string
		images           []string
		want             []string
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "mirror", []string{"alpine", "nginx", "alpine"}, []string{"mirror/alpine", "mirror/nginx"}},
		{"registry.example.com/team", "/chainguard/", []string{"go"}, []string{"team/chainguard/go"}},
		{"localhost:5000", "", []string{"library/busybox"}, []string{"library/busybox"}},
	}
	for _, tt := range tests {
		req := Request{Destination: Endpoint{Registry: tt.registry}, RepositoryPrefix: tt.prefix}
		for _, name := range tt.images {
			req.Images = append(req.Images, Image{Name: name, Tags: []string{"1"}})
		}
		if got := req.DestinationRepositories(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s + %q: %q, want %q", tt.registry, tt.prefix, got, tt.want)
		}
	}
}
