package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sync/singleflight"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/registryhost"
)

const (
	// acrScope is the audience of Azure Container Registry itself, asked
	// for first.
	acrScope = "https://containerregistry.azure.net/.default"
	// acrUser is the user name ACR expects with a refresh token as the
	// password.
	acrUser = "00000000-0000-0000-0000-000000000000"
	// acrTokenMargin: a refresh token is renewed this long before the
	// access token it was exchanged for expires.
	acrTokenMargin = 5 * time.Minute
	// acrMaxLifetime caps how long a refresh token is reused, whatever the
	// access token's expiry says (ACR's refresh tokens last three hours).
	acrMaxLifetime = 3 * time.Hour
	// acrCallTimeout bounds getting a token from Entra ID and exchanging
	// it at the registry, together.
	acrCallTimeout = 30 * time.Second
	// acrMaxAnswer bounds what is read of an exchange's answer.
	acrMaxAnswer = 64 << 10
)

// armScopes are the audiences of Azure Resource Manager in each cloud,
// which ACR also accepts; they are asked for when a cloud has no ACR
// audience for the tenant.
var armScopes = map[registryhost.AzureCloud]string{
	registryhost.AzurePublic:     "https://management.core.windows.net//.default",
	registryhost.AzureChina:      "https://management.core.chinacloudapi.cn//.default",
	registryhost.AzureGovernment: "https://management.core.usgovcloudapi.net//.default",
}

// ACR issues pull and push credentials for Azure Container Registry from the
// controller's Azure Workload Identity: an Entra ID access token, exchanged
// at the registry's /oauth2/exchange for a registry refresh token. The zero
// value is not usable; use NewACR. It is safe for concurrent use.
type ACR struct {
	// Aliases maps registry hosts treated as ACR although their names are
	// not (a test's loopback registry) to the base URL of their token
	// exchange, such as "http://127.0.0.1:5000". Set it before first use;
	// empty in production, where the exchange is https://HOST.
	Aliases map[string]string
	// CredentialOptions configure the Workload Identity credential; nil
	// takes everything from the environment the Azure Workload Identity
	// webhook sets (AZURE_CLIENT_ID, AZURE_TENANT_ID,
	// AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST). Set it before
	// first use.
	CredentialOptions *azidentity.WorkloadIdentityCredentialOptions
	// HTTPClient sends token exchanges; nil is a client that follows no
	// redirect. Set it before first use.
	HTTPClient *http.Client

	now     func() time.Time
	flights singleflight.Group

	mu     sync.Mutex
	cred   azcore.TokenCredential
	tenant string
	tokens map[string]acrToken // by host
}

type acrToken struct {
	password string
	expires  time.Time
}

// NewACR returns an ACR provider. Credentials are looked up on first use.
func NewACR() *ACR { return &ACR{now: time.Now, tokens: map[string]acrToken{}} }

// Keychain returns credentials for the Azure Container Registry at host,
// from a cached refresh token or a new exchange, renewed on later
// resolutions once it nears its expiry. It fails, with a message fit for
// status, when host is not ACR or no token can be had now; a host that is
// not ACR gets no Entra ID request at all.
func (p *ACR) Keychain(ctx context.Context, host string) (authn.Keychain, error) {
	host = strings.ToLower(host)
	exchange, cloud, err := p.registry(host)
	if err != nil {
		return nil, err
	}
	creds := func(ctx context.Context) (authn.AuthConfig, error) {
		t, err := p.token(ctx, host, exchange, cloud)
		return authn.AuthConfig{Username: acrUser, Password: t.password}, err
	}
	if _, err := creds(ctx); err != nil {
		return nil, err
	}
	return hostKeychain{host: host, creds: creds}, nil
}

// registry returns the exchange URL and cloud of the ACR host, or an error
// a tenant may read when host is not ACR.
func (p *ACR) registry(host string) (exchange string, cloud registryhost.AzureCloud, err error) {
	if base, ok := p.Aliases[host]; ok {
		return base + "/oauth2/exchange", registryhost.AzurePublic, nil
	}
	if cloud, ok := registryhost.ParseACR(host); ok {
		return "https://" + host + "/oauth2/exchange", cloud, nil
	}
	return "", "", &Error{msg: fmt.Sprintf("%s is not an Azure Container Registry host (NAME.azurecr.io, .azurecr.cn or .azurecr.us); method \"acr\" sends the controller's Azure credentials to Azure Container Registry only", host)}
}

// token returns the cached refresh token for host, or exchanges a new one
// (once for all concurrent callers) when there is none or it nears expiry.
func (p *ACR) token(ctx context.Context, host, exchange string, cloud registryhost.AzureCloud) (acrToken, error) {
	p.mu.Lock()
	t, ok := p.tokens[host]
	p.mu.Unlock()
	if ok && p.now().Before(t.expires.Add(-acrTokenMargin)) {
		return t, nil
	}
	v, err, _ := p.flights.Do(host, func() (any, error) { return p.fetchToken(ctx, host, exchange, cloud) })
	if err != nil {
		return acrToken{}, err
	}
	return v.(acrToken), nil
}

// fetchToken asks Entra ID for a token of ACR's audience, falling back to
// Azure Resource Manager's when Entra ID refuses it or the registry does
// not take it, and exchanges it for a refresh token.
func (p *ACR) fetchToken(ctx context.Context, host, exchange string, cloud registryhost.AzureCloud) (acrToken, error) {
	cred, tenant, err := p.credential()
	if err != nil {
		return acrToken{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, acrCallTimeout)
	defer cancel()
	logger := klog.FromContext(ctx)
	var last error
	for _, scope := range []string{acrScope, armScopes[cloud]} {
		at, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			code := entraCode(err)
			logger.V(2).Info("Entra ID token request failed", "host", host, "scope", scope, "code", code)
			last = &Error{msg: fmt.Sprintf("getting an Entra ID token for %s failed: %s", host, code), err: err}
			continue
		}
		password, err := p.exchange(ctx, host, exchange, tenant, at.Token)
		var rejected *exchangeRejected
		switch {
		case errors.As(err, &rejected):
			logger.V(2).Info("ACR refused an Entra ID token", "host", host, "scope", scope, "status", rejected.status)
			last = err
			continue
		case err != nil:
			return acrToken{}, err
		}
		t := acrToken{password: password, expires: at.ExpiresOn}
		if limit := p.now().Add(acrMaxLifetime); t.expires.After(limit) {
			t.expires = limit
		}
		p.mu.Lock()
		p.tokens[host] = t
		p.mu.Unlock()
		return t, nil
	}
	return acrToken{}, last
}

// credential returns the Workload Identity credential, made on first use,
// and the tenant it authenticates in.
func (p *ACR) credential() (azcore.TokenCredential, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cred != nil {
		return p.cred, p.tenant, nil
	}
	var opts azidentity.WorkloadIdentityCredentialOptions
	if p.CredentialOptions != nil {
		opts = *p.CredentialOptions
	}
	if opts.TenantID == "" {
		opts.TenantID = strings.TrimSpace(os.Getenv("AZURE_TENANT_ID"))
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&opts)
	if err != nil {
		return nil, "", &Error{msg: "the controller has no Azure Workload Identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE)", err: err}
	}
	p.cred, p.tenant = cred, opts.TenantID
	return cred, opts.TenantID, nil
}

// exchangeRejected is an exchange that the registry answered with 401 or
// 403: it did not take that token, and a token of another audience may do.
type exchangeRejected struct{ status int }

func (e *exchangeRejected) Error() string { return fmt.Sprintf("HTTP %d", e.status) }

// exchange trades an Entra ID access token for an ACR refresh token at
// the registry's /oauth2/exchange. It follows no redirect: the form holds
// the access token, which must reach that host and no other.
func (p *ACR) exchange(ctx context.Context, host, endpoint, tenant, accessToken string) (string, error) {
	form := url.Values{"grant_type": {"access_token"}, "service": {host}, "access_token": {accessToken}}
	if tenant != "" {
		form.Set("tenant", tenant)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &Error{msg: fmt.Sprintf("the token exchange of %s failed: %v", host, err), err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.httpClient().Do(req)
	if err != nil {
		return "", &Error{msg: fmt.Sprintf("the token exchange of %s failed: the registry could not be reached", host), err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &Error{msg: fmt.Sprintf("the token exchange of %s failed: the registry answered HTTP %d", host, resp.StatusCode), err: &exchangeRejected{status: resp.StatusCode}}
	case resp.StatusCode != http.StatusOK:
		return "", &Error{msg: fmt.Sprintf("the token exchange of %s failed: the registry answered HTTP %d", host, resp.StatusCode)}
	}
	var answer struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, acrMaxAnswer)).Decode(&answer); err != nil || answer.RefreshToken == "" {
		return "", &Error{msg: fmt.Sprintf("the token exchange of %s failed: the answer held no refresh token", host)}
	}
	return answer.RefreshToken, nil
}

func (p *ACR) httpClient() *http.Client {
	if p.HTTPClient != nil {
		return p.HTTPClient
	}
	return &http.Client{
		Timeout:       acrCallTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// entraErrorCode is an OAuth2 error code, such as invalid_resource.
var entraErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// entraCode is what of an Entra ID failure a tenant may read: the HTTP
// status and OAuth2 error code, never the description, which names the
// controller's application and tenant.
func entraCode(err error) string {
	var afe *azidentity.AuthenticationFailedError
	switch {
	case errors.As(err, &afe) && afe.RawResponse != nil:
		code := fmt.Sprintf("Entra ID answered HTTP %d", afe.RawResponse.StatusCode)
		if afe.RawResponse.Body == nil {
			return code
		}
		var body struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(io.LimitReader(afe.RawResponse.Body, acrMaxAnswer)).Decode(&body) == nil && entraErrorCode.MatchString(body.Error) {
			code += " (" + body.Error + ")"
		}
		return code
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "no answer from Entra ID (check the controller's Azure Workload Identity)"
}
