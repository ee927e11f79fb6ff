package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"
	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/registryhost"
)

const (
	// garScope is the scope Artifact Registry accepts for pushes.
	garScope = "https://www.googleapis.com/auth/cloud-platform"
	// garTokenMargin: an access token (one hour) is renewed this long
	// before it expires, so no run starts with one about to lapse.
	garTokenMargin = 5 * time.Minute
	// garCallTimeout bounds a token request to a token endpoint.
	garCallTimeout = 30 * time.Second
	// garUser is the user name Artifact Registry expects with an access
	// token as the password.
	garUser = "oauth2accesstoken"
)

// GAR issues pull and push credentials for Google Artifact Registry from the
// controller's Application Default Credentials. The zero value is not
// usable; use NewGAR. It is safe for concurrent use.
type GAR struct {
	// Aliases are registry hosts treated as Artifact Registry although
	// their names are not (a test's loopback registry). Set it before
	// first use; empty in production.
	Aliases map[string]bool

	mu sync.Mutex
	ts oauth2.TokenSource // found once, then reused (it caches tokens)
}

// NewGAR returns a GAR provider. Credentials are looked up on first use.
func NewGAR() *GAR { return &GAR{} }

// Keychain returns credentials for the Artifact Registry host,
// renewed on later resolutions once the access token nears its expiry. It
// fails, with a message fit for status, when host is not Artifact Registry
// or no access token can be had now.
func (p *GAR) Keychain(ctx context.Context, host string) (authn.Keychain, error) {
	host = strings.ToLower(host)
	if !p.Aliases[host] && !registryhost.IsGAR(host) {
		return nil, &Error{msg: fmt.Sprintf("%s is not a Google Artifact Registry host (REGION-docker.pkg.dev or gcr.io); method \"gar\" sends the controller's Google credentials to Artifact Registry only", host)}
	}
	ts, err := p.tokenSource(ctx)
	if err != nil {
		return nil, err
	}
	// The token source reuses its token until shortly before it expires,
	// so each resolution is cheap and a late one gets a renewed token.
	creds := func(ctx context.Context) (authn.AuthConfig, error) {
		tok, err := ts.Token()
		if err != nil {
			klog.FromContext(ctx).V(2).Info("Google access token request failed", "host", host, "code", oauthCode(err))
			return authn.AuthConfig{}, &Error{msg: fmt.Sprintf("getting a Google access token for %s failed: %s", host, oauthCode(err)), err: err}
		}
		return authn.AuthConfig{Username: garUser, Password: tok.AccessToken}, nil
	}
	if _, err := creds(ctx); err != nil {
		return nil, err
	}
	return hostKeychain{host: host, creds: creds}, nil
}

func (p *GAR) tokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ts != nil {
		return p.ts, nil
	}
	// The token source keeps this context for every later refresh: it
	// must outlive the call, and its HTTP client must time out.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Timeout: garCallTimeout})
	creds, err := google.FindDefaultCredentialsWithParams(tctx, google.CredentialsParams{
		Scopes:            []string{garScope},
		EarlyTokenRefresh: garTokenMargin,
	})
	if err != nil {
		// The library's message names files and URLs, no secrets, but
		// it is long; the tenant needs only the gist.
		klog.FromContext(ctx).V(2).Info("Google Application Default Credentials not found", "err", err)
		return nil, &Error{msg: "the controller has no Google Application Default Credentials (GKE Workload Identity, GOOGLE_APPLICATION_CREDENTIALS)", err: err}
	}
	p.ts = creds.TokenSource
	return p.ts, nil
}

// oauthCode is what of a token failure a tenant may read: the OAuth2 error
// code or the metadata server's status, never a response body.
func oauthCode(err error) string {
	var re *oauth2.RetrieveError
	var me *metadata.Error
	switch {
	case errors.As(err, &re) && re.ErrorCode != "":
		return re.ErrorCode
	case errors.As(err, &re) && re.Response != nil:
		return fmt.Sprintf("token endpoint answered HTTP %d", re.Response.StatusCode)
	case errors.As(err, &me):
		return fmt.Sprintf("metadata server answered HTTP %d", me.Code)
	}
	return "no token endpoint reachable"
}
