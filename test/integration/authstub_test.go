package integration

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"

	"github.com/portager/portager/pkg/cmd/server"
)

// authStub stands in for the kube-apiserver's TokenReview and
// SubjectAccessReview endpoints, so our server runs its real delegated
// authentication and authorization paths. It records every review it answers.
//
// Users authenticate with the bearer token "<name>-token". Every request
// authorization is allowed, except on Secrets and cloud identities, which are
// allowed only where grants says so; a Secret check is answered with HTTP 500
// for fail, and delayed for slow.
type authStub struct {
	server     *httptest.Server
	kubeconfig string

	mu      sync.Mutex
	reviews []review
	// grants maps "user" to the "resource namespace/name" the user may have:
	// "secrets ns/name" to get a Secret, "cloudidentities ns/ecr" to use one.
	grants map[string][]string
	fail   map[string]bool
	slow   map[string]time.Duration
}

// review is the part of a SubjectAccessReview the tests look at.
type review struct {
	User, Verb, Group, Namespace, Resource, Subresource, Name string
	Groups                                                    []string
	Extra                                                     map[string]authorizationv1.ExtraValue
}

func newAuthStub(t *testing.T) *authStub {
	t.Helper()
	s := &authStub{grants: map[string][]string{}, fail: map[string]bool{}, slow: map[string]time.Duration{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/authentication.k8s.io/v1/tokenreviews", s.tokenReview)
	mux.HandleFunc("/apis/authorization.k8s.io/v1/subjectaccessreviews", s.subjectAccessReview)
	s.server = httptest.NewTLSServer(mux)
	t.Cleanup(s.server.Close)

	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.server.Certificate().Raw})
	s.kubeconfig = filepath.Join(t.TempDir(), "stub.kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster:\n    server: " + s.server.URL +
		"\n    certificate-authority-data: " + b64(ca) +
		"\nusers:\n- name: portager\n  user:\n    token: portager-apiserver-token\ncontexts:\n- name: stub\n  context:\n    cluster: stub\n    user: portager\ncurrent-context: stub\n"
	if err := os.WriteFile(s.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// configure points the server's delegated authentication and authorization at
// the stub, with caching off so every check reaches it. There is no core
// kube-apiserver behind the stub, so admission and priority-and-fairness,
// which need one, are off.
func (s *authStub) configure(t *testing.T, o *server.Options) {
	o.RecommendedOptions.Authentication.RemoteKubeConfigFile = s.kubeconfig
	o.RecommendedOptions.Authentication.SkipInClusterLookup = true
	o.RecommendedOptions.Authentication.CacheTTL = 0
	o.RecommendedOptions.Authorization.RemoteKubeConfigFile = s.kubeconfig
	o.RecommendedOptions.Authorization.AllowCacheTTL = 0
	o.RecommendedOptions.Authorization.DenyCacheTTL = 0
	o.RecommendedOptions.CoreAPI = nil
	o.RecommendedOptions.Admission = nil
	o.RecommendedOptions.Features.EnablePriorityAndFairness = false
}

// clientConfig is how user reaches our server on port.
func (s *authStub) clientConfig(port int, caFile, user string) (*rest.Config, error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(port),
		BearerToken:     user + "-token",
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
	}, nil
}

func (s *authStub) allowSecret(user, nsName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[user] = append(s.grants[user], "secrets "+nsName)
}

func (s *authStub) allowCloudIdentity(user, namespace, method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[user] = append(s.grants[user], "cloudidentities "+namespace+"/"+method)
}

// secretReviews returns the Secret and cloud identity reviews answered since
// the last call, and forgets every review.
func (s *authStub) secretReviews() []review {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []review
	for _, r := range s.reviews {
		if restricted[r.Resource] {
			out = append(out, r)
		}
	}
	s.reviews = nil
	return out
}

// restricted are the resources the stub allows only by grant.
var restricted = map[string]bool{"secrets": true, "cloudidentities": true}

func (s *authStub) tokenReview(w http.ResponseWriter, r *http.Request) {
	var tr authenticationv1.TokenReview
	if err := json.NewDecoder(r.Body).Decode(&tr); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name, ok := strings.CutSuffix(tr.Spec.Token, "-token")
	tr.Status = authenticationv1.TokenReviewStatus{Authenticated: ok}
	if ok {
		groups := []string{"system:authenticated"}
		if name == "admin" {
			groups = append(groups, "system:masters")
		}
		tr.Status.User = authenticationv1.UserInfo{Username: name, UID: "uid-" + name, Groups: groups,
			Extra: map[string]authenticationv1.ExtraValue{"example.com/team": {"team-" + name}}}
	}
	writeJSON(w, &tr)
}

func (s *authStub) subjectAccessReview(w http.ResponseWriter, r *http.Request) {
	var sar authorizationv1.SubjectAccessReview
	if err := json.NewDecoder(r.Body).Decode(&sar); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rv := review{User: sar.Spec.User, Groups: sar.Spec.Groups, Extra: sar.Spec.Extra}
	if a := sar.Spec.ResourceAttributes; a != nil {
		rv.Verb, rv.Group, rv.Namespace, rv.Resource, rv.Subresource, rv.Name = a.Verb, a.Group, a.Namespace, a.Resource, a.Subresource, a.Name
	}
	key := rv.Namespace + "/" + rv.Name

	s.mu.Lock()
	s.reviews = append(s.reviews, rv)
	allowed := !restricted[rv.Resource]
	if !allowed {
		for _, k := range s.grants[rv.User] {
			allowed = allowed || k == rv.Resource+" "+key
		}
	}
	fail, delay := s.fail[key], s.slow[key]
	s.mu.Unlock()

	if rv.Resource == "secrets" && fail {
		http.Error(w, "etcdserver: request timed out", http.StatusInternalServerError)
		return
	}
	if rv.Resource == "secrets" && delay > 0 {
		time.Sleep(delay)
	}
	sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: allowed}
	if !allowed {
		sar.Status.Reason = "no RBAC rule grants it"
	}
	writeJSON(w, &sar)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
