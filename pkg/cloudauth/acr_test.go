package cloudauth

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portager/portager/internal/cloudfake"
	"github.com/portager/portager/internal/registrytest"
)

// acrRegistry is a loopback registry playing an ACR login server: it
// answers the token exchange of f and admits only the refresh token f
// issues. The returned provider treats it as ACR and sends its Entra ID
// requests to f over f's TLS.
func acrRegistry(t *testing.T, f *cloudfake.Azure) (*registrytest.Registry, *ACR) {
	t.Helper()
	reg := basicAuthRegistry(t, acrUser, f.RefreshToken)
	reg.AddFault(f.ExchangeFault(reg))
	p := NewACR()
	p.Aliases = map[string]string{reg.Host: "http://" + reg.Host}
	p.CredentialOptions = f.CredentialOptions()
	return reg, p
}

func TestACRKeychain(t *testing.T) {
	f := cloudfake.NewAzure(t)
	reg, p := acrRegistry(t, f)
	ctx := context.Background()

	kc, err := p.Keychain(ctx, reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	if user, pass := credsFor(t, kc, reg.Host+"/mirror/alpine"); user != acrUser || pass != f.RefreshToken {
		t.Errorf("credentials = %q/%q, want %s and the refresh token", user, pass, acrUser)
	}
	if user, pass := credsFor(t, kc, "other.azurecr.io/mirror/alpine"); user != "" || pass != "" {
		t.Errorf("credentials for another host = %q/%q, want none", user, pass)
	}
	// The refresh token is reused until shortly before the access token
	// it came from expires.
	if _, err := p.Keychain(ctx, reg.Host); err != nil {
		t.Fatal(err)
	}
	if got := f.TokenRequests(cloudfake.ACRScope); got != 1 {
		t.Errorf("Entra ID token requests = %d, want 1", got)
	}
	if got := f.TokenRequests(cloudfake.ARMScope); got != 0 {
		t.Errorf("ARM-scoped token requests = %d, want 0 while ACR's scope works", got)
	}
	if got := f.Exchanges(); got != 1 {
		t.Errorf("exchanges = %d, want 1", got)
	}
	p.now = func() time.Time { return time.Now().Add(56 * time.Minute) }
	if _, err := p.Keychain(ctx, reg.Host); err != nil {
		t.Fatal(err)
	}
	if got := f.Exchanges(); got != 2 {
		t.Errorf("exchanges after the access token nears expiry = %d, want 2", got)
	}
}

// TestACRRefusesOtherHosts checks that a host that is not ACR costs no
// Entra ID request and no exchange: the controller's Azure token never
// leaves for it.
func TestACRRefusesOtherHosts(t *testing.T) {
	f := cloudfake.NewAzure(t)
	_, p := acrRegistry(t, f)
	for _, host := range []string{"ghcr.io", "myregistry.azurecr.io.evil.example", "169.254.169.254", "myregistry.azurecr.de"} {
		_, err := p.Keychain(context.Background(), host)
		if err == nil || !strings.Contains(err.Error(), "is not an Azure Container Registry host") {
			t.Errorf("%s: error %v", host, err)
		}
	}
	if n := f.TokenRequests(cloudfake.ACRScope) + f.TokenRequests(cloudfake.ARMScope) + f.Exchanges(); n != 0 {
		t.Errorf("Entra ID and exchange requests = %d, want 0", n)
	}
}

func TestACRScopeFallback(t *testing.T) {
	tests := []struct {
		name string
		// setup makes ACR's own scope fail somewhere.
		setup                    func(f *cloudfake.Azure)
		acrTokens, armTokens, ex int
		err                      string // "" for success
	}{
		{name: "Entra ID has no ACR audience", setup: func(f *cloudfake.Azure) { f.RefuseScope(cloudfake.ACRScope) },
			acrTokens: 1, armTokens: 1, ex: 1},
		{name: "the registry refuses ACR's audience", setup: func(f *cloudfake.Azure) { f.RejectAtExchange(cloudfake.ACRScope) },
			acrTokens: 1, armTokens: 1, ex: 2},
		{name: "both audiences refused", setup: func(f *cloudfake.Azure) {
			f.RefuseScope(cloudfake.ACRScope)
			f.RefuseScope(cloudfake.ARMScope)
		}, acrTokens: 1, armTokens: 1, ex: 0, err: "Entra ID answered HTTP 400 (invalid_resource)"},
		{name: "the registry refuses both", setup: func(f *cloudfake.Azure) {
			f.RejectAtExchange(cloudfake.ACRScope)
			f.RejectAtExchange(cloudfake.ARMScope)
		}, acrTokens: 1, armTokens: 1, ex: 2, err: "the registry answered HTTP 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cloudfake.NewAzure(t)
			reg, p := acrRegistry(t, f)
			tt.setup(f)
			kc, err := p.Keychain(context.Background(), reg.Host)
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err == "":
				if _, pass := credsFor(t, kc, reg.Host+"/a"); pass != f.RefreshToken {
					t.Errorf("password = %q, want the refresh token", pass)
				}
			case err == nil || !strings.Contains(err.Error(), tt.err):
				t.Fatalf("error = %v, want %q", err, tt.err)
			case strings.Contains(err.Error(), cloudfake.CanaryRole):
				t.Errorf("error %q shows a cloud answer's description", err)
			}
			if got := [3]int{f.TokenRequests(cloudfake.ACRScope), f.TokenRequests(cloudfake.ARMScope), f.Exchanges()}; got != [3]int{tt.acrTokens, tt.armTokens, tt.ex} {
				t.Errorf("ACR-scope tokens, ARM-scope tokens, exchanges = %v, want %v", got, [3]int{tt.acrTokens, tt.armTokens, tt.ex})
			}
		})
	}
}

// TestACRExchangeFollowsNoRedirect checks that an exchange answered with a
// redirect does not carry the Entra ID token to the host it names.
func TestACRExchangeFollowsNoRedirect(t *testing.T) {
	f := cloudfake.NewAzure(t)
	elsewhere := registrytest.New(t)
	reg := registrytest.New(t)
	reg.AddFault(&registrytest.Fault{Times: -1,
		Match: func(r *http.Request) bool { return r.URL.Path == "/oauth2/exchange" },
		Handle: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+elsewhere.Host+"/oauth2/exchange", http.StatusTemporaryRedirect)
		},
	})
	p := NewACR()
	p.Aliases = map[string]string{reg.Host: "http://" + reg.Host}
	p.CredentialOptions = f.CredentialOptions()
	_, err := p.Keychain(context.Background(), reg.Host)
	if err == nil || !strings.Contains(err.Error(), "the registry answered HTTP 307") {
		t.Fatalf("error = %v, want the redirect refused", err)
	}
	if n := len(elsewhere.Requests()); n != 0 {
		t.Fatalf("the redirect's target got %d requests, want 0", n)
	}
}

func TestACRWithoutWorkloadIdentity(t *testing.T) {
	f := cloudfake.NewAzure(t)
	// As in a pod the workload identity webhook did not mutate: unset,
	// not empty (t.Setenv restores it after the test).
	t.Setenv("AZURE_CLIENT_ID", "")
	if err := os.Unsetenv("AZURE_CLIENT_ID"); err != nil {
		t.Fatal(err)
	}
	reg, p := acrRegistry(t, f)
	_, err := p.Keychain(context.Background(), reg.Host)
	if err == nil || !strings.Contains(err.Error(), "has no Azure Workload Identity") {
		t.Fatalf("error = %v", err)
	}
	if n := f.TokenRequests(cloudfake.ACRScope) + f.Exchanges(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}
