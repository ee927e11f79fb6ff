package dockerconfig

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestFromSecret(t *testing.T) {
	t.Parallel()
	cfg := `{"auths":{
		"https://index.docker.io/v1/": {"auth": "` + b64("hub:hubpw") + `"},
		"cgr.dev": {"username": "cgr", "password": "cgrpw"},
		"cgr.dev/special-org": {"auth": "` + b64("special:specialpw") + `"},
		"HTTPS://Registry.Example.com:5000/v2/": {"auth": "` + b64("ex:expw") + `"},
		"ghcr.io/acme": {"username": "acme", "password": "acmepw"},
		"quay.io": {},
		"cgr.dev/empty-org": {}
	}}`
	kc, err := FromSecret([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		repo string
		user string // "" = anonymous
	}{
		{"docker.io/library/nginx", "hub"},
		{"index.docker.io/library/nginx", "hub"},
		{"registry-1.docker.io/library/nginx", "hub"},
		{"nginx", "hub"},
		{"cgr.dev/my-org/app", "cgr"},
		{"cgr.dev/chainguard/static", "cgr"},
		{"cgr.dev/special-org/app", "special"},
		{"cgr.dev/special-org-2/app", "cgr"},
		{"registry.example.com:5000/team/app", "ex"},
		{"registry.example.com/team/app", ""}, // other port, other host
		{"ghcr.io/acme/tool", "acme"},
		{"ghcr.io/other/tool", "acme"},   // same host: credential belongs to it
		{"quay.io/org/app", ""},          // an entry without credentials is none
		{"cgr.dev/empty-org/app", "cgr"}, // and shadows no other
	}
	for _, tc := range tests {
		t.Run(tc.repo, func(t *testing.T) {
			repo, err := name.NewRepository(tc.repo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(repo)
			if err != nil {
				t.Fatal(err)
			}
			ac, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if ac.Username != tc.user {
				t.Errorf("user = %q, want %q", ac.Username, tc.user)
			}
			if tc.user == "" && a != authn.Anonymous {
				t.Errorf("want anonymous")
			}
		})
	}
}

func TestFromSecretErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`not json SECRETVALUE`, `{"auths":{"r.io":{"auth":"!!!SECRETVALUE"}}}`, `{"auths":{"r.io":{"auth":"` + b64("nocolonSECRETVALUE") + `"}}}`} {
		_, err := FromSecret([]byte(in))
		if err == nil {
			t.Errorf("%q: want error", in)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "SECRETVALUE") || strings.Contains(msg, b64("nocolonSECRETVALUE")) {
			t.Errorf("error leaks payload: %v", err)
		}
	}
	// Legacy .dockercfg shape (no "auths" wrapper).
	kc, err := FromSecret([]byte(`{"r.io":{"auth":"` + b64("u:p") + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository("r.io/x")
	a, _ := kc.Resolve(repo)
	if ac, _ := a.Authorization(); ac.Username != "u" || ac.Password != "p" {
		t.Errorf("legacy entry not served: %+v", ac)
	}
}
