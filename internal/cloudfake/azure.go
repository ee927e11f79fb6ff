package cloudfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/portager/portager/internal/registrytest"
)

const (
	// AzureTenant and AzureClientID are what the Azure Workload Identity
	// webhook would write into the controller's environment.
	AzureTenant   = "8f3c6a52-0000-4000-8000-000000000001"
	AzureClientID = "8f3c6a52-0000-4000-8000-000000000002"
	// ACRScope and ARMScope are the audiences ACR accepts Entra ID tokens
	// for: its own, and Azure Resource Manager's of the public cloud.
	ACRScope = "https://containerregistry.azure.net/.default"
	ARMScope = "https://management.core.windows.net//.default"
	// ACRUser is the user name ACR expects with a refresh token.
	ACRUser = "00000000-0000-0000-0000-000000000000"
)

// Azure stands in for Microsoft Entra ID, which issues the controller's
// Workload Identity access tokens, and for the token exchange of Azure
// Container Registry (POST /oauth2/exchange on the registry's host), which
// turns such a token into a registry refresh token. The real azidentity
// library talks to the Entra ID fake over TLS, the only scheme it accepts
// for an authority, pointed there through the environment the workload
// identity webhook sets in a pod. ExchangeFault answers for the registry:
// a test adds it to its loopback registry.
type Azure struct {
	// URL is the authority host, https://127.0.0.1:PORT.
	URL string
	// Client trusts the fake's certificate; the credential under test
	// must send through it.
	Client *http.Client
	// RefreshToken is what the exchange issues: the registry's password.
	RefreshToken string
	// Service is the registry host the exchange expects in "service".
	Service string

	mu sync.Mutex
	// tokens counts token requests by scope; exchanges counts exchange
	// requests.
	tokens    map[string]int
	exchanges int
	// refused are scopes Entra ID answers invalid_resource for; rejected
	// are scopes whose tokens the exchange answers 401 for.
	refused, rejected map[string]bool
}

// NewAzure starts the Entra ID fake and points azidentity's Workload
// Identity credential at it through the environment. Tests using it cannot
// run in parallel (t.Setenv).
func NewAzure(t *testing.T) *Azure {
	t.Helper()
	f := &Azure{RefreshToken: "acr-refresh-token-canary", tokens: map[string]int{}, refused: map[string]bool{}, rejected: map[string]bool{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(f.serveEntra))
	t.Cleanup(srv.Close)
	f.URL, f.Client = srv.URL, srv.Client()
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(tokenFile, []byte(WebIdentity), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AZURE_CLIENT_ID":            AzureClientID,
		"AZURE_TENANT_ID":            AzureTenant,
		"AZURE_FEDERATED_TOKEN_FILE": tokenFile,
		"AZURE_AUTHORITY_HOST":       srv.URL,
	} {
		t.Setenv(k, v)
	}
	return f
}

// CredentialOptions are the Workload Identity credential's options that
// point it at the fake: its transport trusts the fake's certificate, and
// instance discovery, which would ask login.microsoftonline.com about the
// loopback authority, is off. Everything else comes from the environment,
// as in a pod.
func (f *Azure) CredentialOptions() *azidentity.WorkloadIdentityCredentialOptions {
	return &azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Transport: f.Client},
		DisableInstanceDiscovery: true,
	}
}

// AccessToken is the Entra ID access token the fake issues for scope.
func AccessToken(scope string) string { return "entra-access-token-canary for " + scope }

// RefuseScope makes Entra ID refuse tokens for scope, as a cloud without
// that audience does.
func (f *Azure) RefuseScope(scope string) { f.mu.Lock(); f.refused[scope] = true; f.mu.Unlock() }

// RejectAtExchange makes the exchange answer 401 for tokens of scope.
func (f *Azure) RejectAtExchange(scope string) { f.mu.Lock(); f.rejected[scope] = true; f.mu.Unlock() }

// TokenRequests counts the token requests Entra ID received for scope.
func (f *Azure) TokenRequests(scope string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[scope]
}

// Exchanges counts the exchange requests the registry received.
func (f *Azure) Exchanges() int { f.mu.Lock(); defer f.mu.Unlock(); return f.exchanges }

func (f *Azure) serveEntra(w http.ResponseWriter, r *http.Request) {
	base := f.URL + "/" + AzureTenant
	switch r.URL.Path {
	case "/" + AzureTenant + "/v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]string{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
		})
	case "/" + AzureTenant + "/oauth2/v2.0/token":
		f.serveToken(w, r)
	default:
		http.Error(w, "unexpected request", http.StatusNotFound)
	}
}

func (f *Azure) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	scope := ""
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		if strings.HasSuffix(s, "/.default") {
			scope = s
		}
	}
	f.mu.Lock()
	f.tokens[scope]++
	refused := f.refused[scope]
	f.mu.Unlock()
	// The federated credential: the projected service account token,
	// presented as a client assertion by the configured client.
	if r.PostForm.Get("client_id") != AzureClientID || r.PostForm.Get("client_assertion") != WebIdentity ||
		r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
			"error_description": "AADSTS700016: application not found for " + CanaryRole, "error_codes": []int{700016}})
		return
	}
	if refused || scope == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_resource",
			"error_description": fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant of %s", scope, CanaryRole),
			"error_codes":       []int{500011}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": AccessToken(scope)})
}

// ExchangeFault makes reg answer ACR's POST /oauth2/exchange as registry
// Service, before its own authorization: an access token Entra ID issued,
// for a scope the exchange accepts, becomes RefreshToken.
func (f *Azure) ExchangeFault(reg *registrytest.Registry) *registrytest.Fault {
	f.Service = reg.Host
	return &registrytest.Fault{Times: -1,
		Match:  func(r *http.Request) bool { return r.URL.Path == "/oauth2/exchange" },
		Handle: f.serveExchange,
	}
}

func (f *Azure) serveExchange(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.exchanges++
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	form := r.PostForm
	if form.Get("grant_type") != "access_token" || form.Get("service") != f.Service || form.Get("tenant") != AzureTenant {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]string{{"code": "BADREQUEST", "message": "bad exchange for " + CanaryRole}}})
		return
	}
	for _, scope := range []string{ACRScope, ARMScope} {
		f.mu.Lock()
		reject := f.rejected[scope]
		f.mu.Unlock()
		if form.Get("access_token") == AccessToken(scope) && !reject {
			writeJSON(w, http.StatusOK, map[string]string{"refresh_token": f.RefreshToken})
			return
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": "token audience not accepted for " + CanaryRole}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
