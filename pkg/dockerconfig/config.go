package dockerconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/portager/portager/pkg/registryhost"
)

// DefaultPaths are where registry logins are kept, in the order they are
// looked for: docker login's file ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json), then podman and skopeo's, which has the same
// shape ($REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json,
// else ~/.config/containers/auth.json).
func DefaultPaths() []string {
	home, _ := os.UserHomeDir()
	var paths []string
	add := func(parts ...string) {
		if parts[0] != "" {
			paths = append(paths, filepath.Join(parts...))
		}
	}
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		add(dir, "config.json")
	} else {
		add(home, ".docker", "config.json")
	}
	switch {
	case os.Getenv("REGISTRY_AUTH_FILE") != "":
		add(os.Getenv("REGISTRY_AUTH_FILE"))
	case os.Getenv("XDG_RUNTIME_DIR") != "" && exists(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "containers", "auth.json")):
		add(os.Getenv("XDG_RUNTIME_DIR"), "containers", "auth.json")
	default:
		add(home, ".config", "containers", "auth.json")
	}
	return paths
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// LoadDefault returns the keychain of the first of DefaultPaths that
// exists, and its path. No such file is no error: the keychain is then nil
// (anonymous).
func LoadDefault() (authn.Keychain, string, error) {
	for _, path := range DefaultPaths() {
		kc, err := Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return kc, path, err
	}
	return nil, "", nil
}

// Load returns the keychain of the Docker config file at path.
func Load(path string) (authn.Keychain, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kc, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kc, nil
}

// Parse returns the keychain of a Docker config file's content. It
// resolves a registry as docker does: the helper credHelpers names for its
// host first, then an auths entry with credentials (matched as
// FromSecret matches them), then the credsStore
// helper; otherwise anonymous.
func Parse(data []byte) (authn.Keychain, error) {
	var cfg struct {
		Auths       json.RawMessage   `json:"auths"`
		CredHelpers map[string]string `json:"credHelpers"`
		CredsStore  string            `json:"credsStore"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, errors.New("not a Docker config file (a JSON object with auths, credHelpers or credsStore)")
	}
	if cfg.Auths == nil && cfg.CredHelpers == nil && cfg.CredsStore == "" {
		// No credential key of config.json: the legacy .dockercfg shape,
		// as the controller's Secrets may hold it, or only settings
		// (psFormat, proxies), which are no credentials.
		if kc, err := FromSecret(data); err == nil {
			return kc, nil
		}
	}
	if len(cfg.Auths) == 0 {
		cfg.Auths = json.RawMessage("{}") // helpers only, or settings only
	}
	// Only the auths object: the other keys of config.json are not
	// credentials, and must not be read as the legacy shape.
	auths, err := FromSecret([]byte(`{"auths":` + string(cfg.Auths) + `}`))
	if err != nil {
		return nil, err
	}
	k := &keychain{auths: auths, helpers: map[string]string{}, store: cfg.CredsStore, found: map[string]authn.AuthConfig{}}
	for key, name := range cfg.CredHelpers {
		if host, _ := registryhost.Normalize(key); host != "" && name != "" {
			k.helpers[host] = name
		}
	}
	return k, nil
}

// keychain is a Docker config file's credentials, helpers included.
type keychain struct {
	auths   authn.Keychain
	helpers map[string]string // normalised host -> helper name
	store   string            // credsStore helper, "" for none

	// found caches what helpers answered, by helper and server: the engine
	// resolves credentials once per repository, and a helper may take a
	// while (ecr-login, gcloud).
	mu    sync.Mutex
	found map[string]authn.AuthConfig
}

var _ authn.Keychain = &keychain{}

// Resolve implements authn.Keychain.
func (k *keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host, _ := registryhost.Normalize(target.RegistryStr())
	if name := k.helpers[host]; name != "" {
		return k.fromHelper(name, host)
	}
	a, err := k.auths.Resolve(target)
	if err != nil || a != authn.Anonymous || k.store == "" {
		return a, err
	}
	return k.fromHelper(k.store, host)
}

// fromHelper runs docker-credential-NAME get for host. A helper that
// holds no credentials for it leaves the registry anonymous. Its other
// failures are errors that name the helper but carry none of its output,
// which may echo what it read.
func (k *keychain) fromHelper(name, host string) (authn.Authenticator, error) {
	server := host
	if host == registryhost.DockerHub {
		server = "https://index.docker.io/v1/" // the key docker login stores Docker Hub under
	}
	key := name + "\x00" + server
	k.mu.Lock()
	defer k.mu.Unlock()
	if cfg, ok := k.found[key]; ok {
		return fromConfig(cfg), nil
	}
	creds, err := client.Get(client.NewShellProgramFunc("docker-credential-"+name), server)
	var cfg authn.AuthConfig
	switch {
	case credentials.IsErrCredentialsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("credential helper docker-credential-%s failed for %s", name, host)
	case creds.Username == "<token>":
		// An identity token, exchanged for a registry token at the
		// registry's token service.
		cfg.IdentityToken = creds.Secret
	default:
		cfg.Username, cfg.Password = creds.Username, creds.Secret
	}
	k.found[key] = cfg
	return fromConfig(cfg), nil
}

func fromConfig(cfg authn.AuthConfig) authn.Authenticator {
	if cfg == (authn.AuthConfig{}) {
		return authn.Anonymous
	}
	return authn.FromConfig(cfg)
}
