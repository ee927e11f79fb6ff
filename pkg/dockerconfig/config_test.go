package dockerconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portager/portager/pkg/dockerconfig/dockerconfigtest"
)

// TestHelpers runs real helper programs: which credentials each registry
// gets from a config file that mixes credHelpers, auths and credsStore,
// in docker's order.
func TestHelpers(t *testing.T) {
	h := dockerconfigtest.Install(t, map[string]string{
		"helped.example":              `{"Username":"helped-user","Secret":"helped-pw"}`,
		"https://index.docker.io/v1/": `{"Username":"hub-user","Secret":"hub-pw"}`,
		"stored.example:5000":         `{"Username":"<token>","Secret":"identity-token"}`,
		"both.example":                `{"Username":"from-helper","Secret":"x"}`,
		"auths.example":               `{"Username":"from-store","Secret":"x"}`,
	})
	kc, err := Parse([]byte(`{
		"auths": {
			"auths.example": {"auth": "` + "YXV0aHMtdXNlcjphdXRocy1wdw==" /* auths-user:auths-pw */ + `"},
			"both.example": {"username": "from-auths", "password": "x"},
			"stored.example:5000": {}
		},
		"credHelpers": {"helped.example": "test", "https://both.example": "test", "broken.example": "broken", "docker.io": "test"},
		"credsStore": "test"
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		repo     string
		user     string // "" = anonymous
		identity string
		err      string
	}{
		{repo: "helped.example/team/app", user: "helped-user"},
		{repo: "both.example/app", user: "from-helper"},               // credHelpers before auths
		{repo: "auths.example/app", user: "auths-user"},               // auths before credsStore
		{repo: "stored.example:5000/app", identity: "identity-token"}, // credsStore, an identity token
		{repo: "docker.io/library/nginx", user: "hub-user"},           // Docker Hub under docker login's key
		{repo: "nothing.example/app"},                                 // the store has nothing: anonymous
		{repo: "broken.example/app", err: "credential helper docker-credential-broken failed for broken.example"},
	}
	for _, tc := range tests {
		repo, err := name.NewRepository(tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err = %v, want %q", tc.repo, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.repo, err)
		}
		if tc.user == "" && tc.identity == "" {
			if a != authn.Anonymous {
				t.Errorf("%s: %v, want anonymous", tc.repo, a)
			}
			continue
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tc.user || cfg.IdentityToken != tc.identity {
			t.Errorf("%s: user %q identity token %q, want %q and %q", tc.repo, cfg.Username, cfg.IdentityToken, tc.user, tc.identity)
		}
	}

	// Each helper is asked once per server, however many repositories.
	before := len(h.Calls(t))
	for _, r := range []string{"helped.example/a", "helped.example/b", "nothing.example/c"} {
		repo, _ := name.NewRepository(r)
		if _, err := kc.Resolve(repo); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.Calls(t); len(got) != before {
		t.Errorf("helper calls grew from %d to %d for servers already asked: %v", before, len(got), got)
	}
	if got := h.Calls(t); !slices.Contains(got, "https://index.docker.io/v1/") || slices.Contains(got, "auths.example") {
		t.Errorf("helper calls %v: want Docker Hub asked as https://index.docker.io/v1/, and no call for a host with auths", got)
	}
}

func TestHelperFailureCarriesNoOutput(t *testing.T) {
	dockerconfigtest.Install(t, nil)
	kc, err := Parse([]byte(`{"credsStore": "broken"}`))
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository("registry.example/app")
	_, err = kc.Resolve(repo)
	if err == nil || strings.Contains(err.Error(), dockerconfigtest.Canary) || strings.Contains(err.Error(), "locked") {
		t.Errorf("err = %v, want a failure without the helper's output", err)
	}
}

// TestDefaultPaths: docker login's file comes first, then podman's, each
// where its tool's environment puts it.
func TestDefaultPaths(t *testing.T) {
	home, runtime := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	for _, tc := range []struct {
		name, dockerConfig, authFile string
		runtimeAuth                  bool // $XDG_RUNTIME_DIR/containers/auth.json exists
		want                         []string
	}{
		{name: "nothing set", want: []string{home + "/.docker/config.json", home + "/.config/containers/auth.json"}},
		{name: "DOCKER_CONFIG", dockerConfig: "/etc/docker-ci", want: []string{"/etc/docker-ci/config.json", home + "/.config/containers/auth.json"}},
		{name: "podman's runtime file", runtimeAuth: true, want: []string{home + "/.docker/config.json", runtime + "/containers/auth.json"}},
		{name: "REGISTRY_AUTH_FILE", authFile: "/run/auth.json", runtimeAuth: true, want: []string{home + "/.docker/config.json", "/run/auth.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", tc.dockerConfig)
			t.Setenv("REGISTRY_AUTH_FILE", tc.authFile)
			f := filepath.Join(runtime, "containers", "auth.json")
			os.RemoveAll(filepath.Dir(f))
			if tc.runtimeAuth {
				os.MkdirAll(filepath.Dir(f), 0o700)
				os.WriteFile(f, []byte("{}"), 0o600)
			}
			if got := DefaultPaths(); !slices.Equal(got, tc.want) {
				t.Errorf("DefaultPaths() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "podman-auth.json"))
	kc, path, err := LoadDefault()
	if kc != nil || path != "" || err != nil {
		t.Errorf("without a file: %v, %q, %v; want nil, \"\", nil", kc, path, err)
	}
	// Without docker's file, podman's serves.
	podman := filepath.Join(dir, "podman-auth.json")
	if err := os.WriteFile(podman, []byte(`{"auths": {"r.example": {"auth": "dTpw"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if kc, path, err := LoadDefault(); kc == nil || path != podman || err != nil {
		t.Errorf("with only podman's file: %v, %q, %v; want its keychain", kc, path, err)
	}
	for _, tc := range []struct {
		content, err string
		user         string // r.example's, when set
	}{
		{content: `{"auths": {"r.example": {"username": "u", "password": "p"}}}`, user: "u"},
		{content: `{"credsStore": "desktop"}`},
		{content: `{"r.example": {"auth": "dTpw"}}`, user: "u"},                    // the legacy .dockercfg shape
		{content: `{"psFormat": "table {{.ID}}", "HttpHeaders": {"X-Meta": "y"}}`}, // settings only
		{content: `not json`, err: "not a Docker config file"},
		{content: `{"auths": {"r.example": {"auth": "%%%"}}}`, err: "invalid dockerconfigjson"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		kc, path, err := LoadDefault()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), filepath.Join(dir, "config.json")) {
				t.Errorf("%s: err = %v, want one naming the file and %q", tc.content, err, tc.err)
			}
		case err != nil || kc == nil || path != filepath.Join(dir, "config.json"):
			t.Errorf("%s: %v, %q, %v", tc.content, kc, path, err)
		case tc.user != "":
			repo, _ := name.NewRepository("r.example/app")
			a, err := kc.Resolve(repo)
			if err != nil {
				t.Fatal(err)
			}
			if cfg, _ := a.Authorization(); cfg == nil || cfg.Username != tc.user {
				t.Errorf("%s: r.example gets %+v, want user %q", tc.content, cfg, tc.user)
			}
		}
	}
}
