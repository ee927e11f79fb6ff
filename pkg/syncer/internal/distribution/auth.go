package distribution

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// challenge is how a registry host asks to be authenticated, learnt from the
// WWW-Authenticate header of its /v2/ ping (or of a later 401).
type challenge struct {
	scheme  string // "" (anonymous ok), "basic" or "bearer"
	realm   string
	service string
}

// parseChallenge parses `Bearer realm="...",service="...",scope="..."` or
// `Basic realm="..."`.
func parseChallenge(h string) challenge {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	ch := challenge{scheme: strings.ToLower(scheme)}
	for len(rest) > 0 {
		rest = strings.TrimLeft(rest, " ,")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var val string
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				val, rest = v[1:], ""
			} else {
				val, rest = v[1:1+end], v[2+end:]
			}
		} else {
			val, rest, _ = strings.Cut(v, ",")
		}
		switch k {
		case "realm":
			ch.realm = val
		case "service":
			ch.service = val
		}
	}
	return ch
}

// authorizer attaches one side's credentials to requests for one
// repository. Source and destination get separate authorizers even on the
// same host, so a push never uses the source's credentials.
type authorizer struct {
	c        *Client
	host     *hostState
	keychain authn.Keychain // nil is anonymous
	repo     name.Repository

	mu     sync.Mutex
	cfg    authn.AuthConfig  // zero value = anonymous; replaced by refresh
	tokens map[string]string // scope set -> bearer token
}

// newAuthorizer resolves keychain for repo. A nil keychain is anonymous.
func (c *Client) newAuthorizer(ctx context.Context, host *hostState, keychain authn.Keychain, repo name.Repository) (*authorizer, error) {
	a := &authorizer{c: c, host: host, keychain: keychain, repo: repo, tokens: map[string]string{}}
	cfg, err := a.resolve(ctx)
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	return a, nil
}

// resolve reads the keychain's current credentials for the repository and
// registers every secret in them for redaction.
func (a *authorizer) resolve(ctx context.Context) (authn.AuthConfig, error) {
	if a.keychain == nil {
		return authn.AuthConfig{}, nil
	}
	auth, err := authn.Resolve(ctx, a.keychain, a.repo)
	if err != nil {
		return authn.AuthConfig{}, fmt.Errorf("resolving credentials for %s: %w", a.repo.RegistryStr(), err)
	}
	if auth == nil || auth == authn.Anonymous {
		return authn.AuthConfig{}, nil
	}
	c, err := authn.Authorization(ctx, auth)
	if err != nil {
		return authn.AuthConfig{}, fmt.Errorf("reading credentials for %s: %w", a.repo.RegistryStr(), err)
	}
	cfg := *c
	if cfg.Auth != "" && cfg.Username == "" {
		if raw, err := base64.StdEncoding.DecodeString(cfg.Auth); err == nil {
			cfg.Username, cfg.Password, _ = strings.Cut(string(raw), ":")
		}
	}
	for _, s := range []string{cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		rememberSecret(ctx, s)
	}
	if cfg.Username != "" || cfg.Password != "" {
		rememberSecret(ctx, base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	}
	return cfg, nil
}

func (a *authorizer) anonymous() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.anonymousLocked()
}

func (a *authorizer) anonymousLocked() bool {
	return a.cfg.Username == "" && a.cfg.Password == "" && a.cfg.IdentityToken == "" && a.cfg.RegistryToken == ""
}

// header returns the Authorization header for scopes, fetching a bearer token
// if needed. It returns "" when the host needs no auth or we have none.
func (a *authorizer) header(ctx context.Context, scopes []string) (string, error) {
	a.host.mu.Lock()
	ch := a.host.challenge
	a.host.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch ch.scheme {
	case "basic":
		if a.cfg.Username == "" && a.cfg.Password == "" {
			return "", nil
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.cfg.Username+":"+a.cfg.Password)), nil
	case "bearer":
		if a.cfg.RegistryToken != "" {
			return "Bearer " + a.cfg.RegistryToken, nil
		}
		key := strings.Join(scopes, " ")
		if t, ok := a.tokens[key]; ok {
			return "Bearer " + t, nil
		}
		t, err := a.fetchToken(ctx, ch, scopes)
		if err != nil {
			return "", err
		}
		rememberSecret(ctx, t)
		a.tokens[key] = t
		return "Bearer " + t, nil
	}
	return "", nil
}

// refresh drops cached tokens after a 401 so the next attempt fetches a
// fresh one (tokens expire; scopes may have been insufficient), and reads
// the keychain again: credentials that expire on their own, such as a cloud
// provider's registry token, come back renewed. If the keychain fails now,
// the credentials in hand are kept and the replay decides.
func (a *authorizer) refresh(ctx context.Context) {
	cfg, err := a.resolve(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens = map[string]string{}
	if err == nil {
		a.cfg = cfg
	}
}

// fetchToken implements the distribution token flow: GET with basic auth or
// anonymously, or the OAuth2 refresh-token POST for identity tokens. It is
// called with a.mu held.
func (a *authorizer) fetchToken(ctx context.Context, ch challenge, scopes []string) (string, error) {
	realm, err := url.Parse(ch.realm)
	if err != nil || realm.Host == "" {
		return "", fmt.Errorf("token realm of %s is not a valid URL", a.host.host)
	}
	// Credentials are only ever sent to a TLS realm, unless the operator
	// explicitly allowed plain HTTP for that very host.
	if realm.Scheme != "https" && !(realm.Scheme == "http" && a.c.insecure[strings.ToLower(realm.Host)]) {
		return "", fmt.Errorf("token realm of %s must use https", a.host.host)
	}
	ctx, wd := newWatchdog(ctx, a.c.cfg.OperationTimeout, a.c.cfg.OperationTimeout, a.c.cfg.MinTransferRate)
	defer wd.stop()
	var req *http.Request
	if a.cfg.IdentityToken != "" {
		form := url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {a.cfg.IdentityToken},
			"client_id":     {"portager"},
			"service":       {ch.service},
			"scope":         {strings.Join(scopes, " ")},
		}
		req, err = a.c.newRequest(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return "", fmt.Errorf("building token request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		q := realm.Query()
		if ch.service != "" {
			q.Set("service", ch.service)
		}
		for _, s := range scopes {
			q.Add("scope", s)
		}
		realm.RawQuery = q.Encode()
		req, err = a.c.newRequest(ctx, http.MethodGet, realm.String(), nil)
		if err != nil {
			return "", fmt.Errorf("building token request: %w", err)
		}
		if !a.anonymousLocked() {
			req.SetBasicAuth(a.cfg.Username, a.cfg.Password)
		}
	}
	resp, err := a.c.httpClient().Do(req)
	if err != nil {
		if cause := timedOut(ctx); cause != nil {
			return "", fmt.Errorf("token request for %s: %w", a.host.host, cause)
		}
		return "", fmt.Errorf("token request for %s: %w", a.host.host, scrubURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &httpError{op: "token request for " + a.host.host, status: resp.StatusCode}
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return "", fmt.Errorf("decoding token response from %s: %w", a.host.host, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return "", fmt.Errorf("token response from %s has no token", a.host.host)
	}
	return tr.Token, nil
}

// httpClient is the http.Client for every request. Credentials are attached
// per request (never stored on the http.Client); checkRedirect drops
// them on a redirect to another host, refuses a redirect from https to
// http and bounds the number of redirects.
func (c *Client) httpClient() *http.Client {
	return &http.Client{Transport: c.rt, CheckRedirect: checkRedirect}
}
