package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/portager/portager/pkg/registryhost"
	"github.com/portager/portager/pkg/sanitize"
)

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

// FromSecret parses the payload of a kubernetes.io/dockerconfigjson Secret
// ({"auths": {...}}; the legacy .dockercfg shape without "auths" is
// accepted too) into a Keychain. It serves auths entries only and never
// runs a credential helper, whatever the payload names. Errors never
// include the payload.
func FromSecret(data []byte) (authn.Keychain, error) {
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
				return nil, fmt.Errorf("invalid dockerconfigjson: auth of entry %q is not base64", sanitize.Message(k))
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("invalid dockerconfigjson: auth of entry %q is not user:password", sanitize.Message(k))
			}
			ac.Username, ac.Password = u, p
		}
		ac.Auth = ""
		host, path := registryhost.Normalize(k)
		if host == "" || ac == (authn.AuthConfig{}) {
			// An entry without credentials (docker login writes one
			// per registry when a credential store holds them) is no
			// entry: it must not shadow another.
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
	host, _ := registryhost.Normalize(target.RegistryStr())
	entries := k.byHost[host]
	if len(entries) == 0 {
		return authn.Anonymous, nil
	}
	// target.String() is "host/repo/path" for repositories.
	_, repoPath := registryhost.Normalize(target.String())
	for _, e := range entries {
		if e.path == "" || repoPath == e.path || strings.HasPrefix(repoPath, e.path+"/") {
			return authn.FromConfig(e.cfg), nil
		}
	}
	// Same host but no matching path: the credential still belongs to this
	// host, so using it leaks nothing and matches docker's behaviour.
	return authn.FromConfig(entries[len(entries)-1].cfg), nil
}
