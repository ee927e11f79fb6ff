package cloudauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portager/portager/internal/cloudfake"
	"github.com/portager/portager/pkg/registryhost"
	"github.com/portager/portager/pkg/syncer"
)

// basicAuthRegistry is go-containerregistry's registry that, like ECR,
// answers 401 with a Basic challenge unless given user:pass. It counts the
// requests that carried them.
func basicAuthRegistry(t *testing.T, user, pass string) (host string, authed *atomic.Int32) {
	reg := registry.New()
	authed = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		authed.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), authed
}

// TestEnginePushesWithCloudCredentials copies an image with the engine to
// a registry that admits only the cloud token, for each provider.
func TestEnginePushesWithCloudCredentials(t *testing.T) {
	src := httptest.NewServer(registry.New())
	defer src.Close()
	srcHost := strings.TrimPrefix(src.URL, "http://")
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	srcRef, err := name.ParseReference(srcHost + "/library/alpine:3.21")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(srcRef, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	tests := []struct {
		name     string
		keychain func(t *testing.T) (host string, authed *atomic.Int32, kc authn.Keychain, err error)
	}{
		{"ecr", func(t *testing.T) (string, *atomic.Int32, authn.Keychain, error) {
			f := cloudfake.NewAWS(t)
			host, authed := basicAuthRegistry(t, "AWS", f.Password)
			p := NewECR()
			p.Aliases = map[string]registryhost.ECR{host: {AccountID: "123456789012", Region: "us-east-1"}}
			kc, err := p.Keychain(context.Background(), host)
			return host, authed, kc, err
		}},
		{"gar", func(t *testing.T) (string, *atomic.Int32, authn.Keychain, error) {
			f := cloudfake.NewMetadata(t, garScope)
			host, authed := basicAuthRegistry(t, garUser, f.Token)
			p := NewGAR()
			p.Aliases = map[string]bool{host: true}
			kc, err := p.Keychain(context.Background(), host)
			return host, authed, kc, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, authed, kc, err := tt.keychain(t)
			if err != nil {
				t.Fatal(err)
			}
			e, err := syncer.New(syncer.Options{InsecureHosts: []string{srcHost, host}})
			if err != nil {
				t.Fatal(err)
			}
			results, err := e.Sync(context.Background(), syncer.Request{
				Source:           syncer.Endpoint{Registry: srcHost + "/library"},
				Destination:      syncer.Endpoint{Registry: host, Keychain: kc},
				RepositoryPrefix: "mirror",
				Images:           []syncer.Image{{Name: "alpine", Tags: []string{"3.21"}}},
			})
			if err != nil || len(results) != 1 || results[0].Outcome != syncer.OutcomeCopied {
				t.Fatalf("sync: %v %+v", err, results)
			}
			dstRef, err := name.ParseReference(host + "/mirror/alpine:3.21")
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Head(dstRef, remote.WithAuthFromKeychain(kc))
			if err != nil || got.Digest != want {
				t.Fatalf("destination digest %v (%v), want %s", got, err, want)
			}
			if authed.Load() < 5 {
				t.Errorf("requests with the cloud token = %d; the push did not use it", authed.Load())
			}
		})
	}
}
