package cloudfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// Metadata stands in for the GKE metadata server, which answers for
// Workload Identity. Google's libraries reach it through GCE_METADATA_HOST.
type Metadata struct {
	// Token is the access token it issues.
	Token string
	// Scope must be among the requested scopes.
	Scope string

	fail     atomic.Bool
	tokens   atomic.Int32
	unflavor atomic.Int32
}

// NewMetadata starts the fake and points Google's Application Default
// Credentials at it. Tests using it cannot run in parallel (t.Setenv).
func NewMetadata(t *testing.T, scope string) *Metadata {
	t.Helper()
	f := &Metadata{Token: "ya29.access-token-canary", Scope: scope}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			f.unflavor.Add(1)
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/computeMetadata/v1/instance/service-accounts/default/token":
			f.tokens.Add(1)
			if !strings.Contains(r.URL.Query().Get("scopes"), f.Scope) {
				http.Error(w, "scope", http.StatusBadRequest)
				return
			}
			if f.fail.Load() {
				http.Error(w, "workload identity pool for "+CanaryRole+" is not bound", http.StatusForbidden)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": f.Token, "expires_in": 3599, "token_type": "Bearer"})
		case "/computeMetadata/v1/project/project-id":
			_, _ = w.Write([]byte("portager-test"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir()) // no gcloud well-known file
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	return f
}

// SetFailing makes token requests fail with HTTP 403.
func (f *Metadata) SetFailing(v bool) { f.fail.Store(v) }

// TokenRequests counts token requests.
func (f *Metadata) TokenRequests() int { return int(f.tokens.Load()) }

// Unflavored counts requests without the Metadata-Flavor header.
func (f *Metadata) Unflavored() int { return int(f.unflavor.Load()) }
