package cloudauth

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portager/portager/internal/cloudfake"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/registryhost"
	"github.com/portager/portager/pkg/syncer"
)

// basicAuthRegistry is the shared test registry that, like ECR, answers
// 401 with a Basic challenge unless given user:pass.
func basicAuthRegistry(t *testing.T, user, pass string) *registrytest.Registry {
	reg := registrytest.New(t)
	reg.Challenge = `Basic realm="registry"`
	reg.Authorize = func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == user && p == pass
	}
	return reg
}

// admitted counts the requests reg answered with something other than 401:
// those that carried the credential it wants.
func admitted(reg *registrytest.Registry) int {
	n := 0
	for _, r := range reg.Requests() {
		if r.Status != http.StatusUnauthorized {
			n++
		}
	}
	return n
}

// TestEnginePushesWithCloudCredentials copies an image with the engine to
// a registry that admits only the cloud token, for each provider.
func TestEnginePushesWithCloudCredentials(t *testing.T) {
	src := registrytest.New(t)
	srcHost := src.Host
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	src.Push("library/alpine:3.21", img)
	want, _ := img.Digest()

	tests := []struct {
		name     string
		keychain func(t *testing.T) (reg *registrytest.Registry, kc authn.Keychain, err error)
	}{
		{"ecr", func(t *testing.T) (*registrytest.Registry, authn.Keychain, error) {
			f := cloudfake.NewAWS(t)
			reg := basicAuthRegistry(t, "AWS", f.Password)
			p := NewECR()
			p.Aliases = map[string]registryhost.ECR{reg.Host: {AccountID: "123456789012", Region: "us-east-1"}}
			kc, err := p.Keychain(context.Background(), reg.Host)
			return reg, kc, err
		}},
		{"gar", func(t *testing.T) (*registrytest.Registry, authn.Keychain, error) {
			f := cloudfake.NewMetadata(t, garScope)
			reg := basicAuthRegistry(t, garUser, f.Token)
			p := NewGAR()
			p.Aliases = map[string]bool{reg.Host: true}
			kc, err := p.Keychain(context.Background(), reg.Host)
			return reg, kc, err
		}},
		{"acr", func(t *testing.T) (*registrytest.Registry, authn.Keychain, error) {
			reg, p := acrRegistry(t, cloudfake.NewAzure(t))
			kc, err := p.Keychain(context.Background(), reg.Host)
			return reg, kc, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, kc, err := tt.keychain(t)
			host := reg.Host
			if err != nil {
				t.Fatal(err)
			}
			e, err := syncer.New(syncer.Options{RegistryOptions: syncer.RegistryOptions{InsecureHosts: []string{srcHost, host}}})
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
			if admitted(reg) < 5 {
				t.Errorf("requests with the cloud token = %d; the push did not use it", admitted(reg))
			}
		})
	}
}
