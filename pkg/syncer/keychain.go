package syncer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerHubHosts are the names under which Docker Hub credentials are
// stored and requested. They all normalise to index.docker.io, which is
// what go-containerregistry reports for docker.io references.
var dockerHubHosts = map[string]bool{
	"docker.io":               true,
	"index.docker.io":         true,
	"registry-1.docker.io":    true,
	"registry.hub.docker.com": true,
}

// normalizeRegistry turns a dockerconfigjson key or a registry string into
// (host, path): scheme, /v1/ or /v2/ suffixes and case are dropped, and
// Docker Hub aliases collapse into index.docker.io. The path keeps an
// organisation prefix such as "my-org" in "cgr.dev/my-org".
func normalizeRegistry(s string) (host, path string) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	host, path, _ = strings.Cut(s, "/")
	host = strings.ToLower(host)
	path = strings.Trim(path, "/")
	if path == "v1" || path == "v2" || strings.HasPrefix(path, "v1/") || strings.HasPrefix(path, "v2/") {
		path = strings.TrimPrefix(strings.TrimPrefix(path[2:], "/"), "")
	}
	if dockerHubHosts[host] {
		host = "index.docker.io"
	}
	return host, path
}

type configEntry struct {
	path string
	cfg  authn.AuthConfig
}

// configKeychain serves dockerconfigjson entries by normalised host, so a
// `cgr.dev` entry serves `cgr.dev/my-org/...`. When several entries share a
// host, the one with the longest path that prefixes the repository wins,
// then the host-only entry.
type configKeychain struct {
	byHost map[string][]configEntry // sorted by path length, longest first
}

// KeychainFromDockerConfigJSON parses a kubernetes.io/dockerconfigjson
// payload ({"auths": {...}}; the legacy .dockercfg shape without "auths" is
// accepted too) into a Keychain. Errors never include the payload.
func KeychainFromDockerConfigJSON(data []byte) (authn.Keychain, error) {
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("invalid dockerconfigjson: not a JSON object with auths")
	}
	if cfg.Auths == nil {
		var legacy map[string]authn.AuthConfig
		if err := json.Unmarshal(data, &legacy); err != nil {
			return nil, fmt.Errorf("invalid dockerconfigjson: no auths")
		}
		cfg.Auths = legacy
	}
	kc := &configKeychain{byHost: map[string][]configEntry{}}
	keys := make([]string, 0, len(cfg.Auths))
	for k := range cfg.Auths {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic choice between duplicate keys
	for _, k := range keys {
		ac := cfg.Auths[k]
		if ac.Auth != "" && ac.Username == "" && ac.Password == "" {
			raw, err := base64.StdEncoding.DecodeString(ac.Auth)
			if err != nil {
				return nil, fmt.Errorf("invalid dockerconfigjson: auth of entry %q is not base64", Sanitize(k))
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("invalid dockerconfigjson: auth of entry %q is not user:password", Sanitize(k))
			}
			ac.Username, ac.Password = u, p
		}
		ac.Auth = ""
		host, path := normalizeRegistry(k)
		if host == "" {
			continue
		}
		dup := false
		for _, e := range kc.byHost[host] {
			if e.path == path {
				dup = true // first key in sorted order wins
			}
		}
		if !dup {
			kc.byHost[host] = append(kc.byHost[host], configEntry{path: path, cfg: ac})
		}
	}
	for h := range kc.byHost {
		es := kc.byHost[h]
		sort.SliceStable(es, func(i, j int) bool { return len(es[i].path) > len(es[j].path) })
	}
	return kc, nil
}

// Resolve implements authn.Keychain.
func (k *configKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host, _ := normalizeRegistry(target.RegistryStr())
	entries := k.byHost[host]
	if len(entries) == 0 {
		return authn.Anonymous, nil
	}
	// target.String() is "host/repo/path" for repositories.
	_, repoPath := normalizeRegistry(target.String())
	for _, e := range entries {
		if e.path == "" || repoPath == e.path || strings.HasPrefix(repoPath, e.path+"/") {
			return authn.FromConfig(e.cfg), nil
		}
	}
	// Same host but no matching path: the credential still belongs to this
	// host, so using it leaks nothing and matches docker's behaviour.
	return authn.FromConfig(entries[len(entries)-1].cfg), nil
}
