package cloudauth

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// credsFor returns what kc gives for repository ref.
func credsFor(t *testing.T, kc authn.Keychain, ref string) (user, pass string) {
	t.Helper()
	repo, err := name.NewRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	a, err := authn.Resolve(context.Background(), kc, repo)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := authn.Authorization(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Username, cfg.Password
}
