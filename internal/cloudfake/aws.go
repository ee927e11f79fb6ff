package cloudfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// RoleARN is the role IRSA's environment names.
	RoleARN = "arn:aws:iam::123456789012:role/portager-controller"
	// WebIdentity is the projected service account token.
	WebIdentity = "projected-service-account-token"
	// AccessKey and Session are what STS issues for WebIdentity.
	AccessKey = "ASIAPORTAGERTEST0001"
	Session   = "session-token-canary"
	// CanaryRole appears only in the fakes' error messages, which a tenant
	// must never see.
	CanaryRole = "canary-controller-role"
	// Account is the ECR registry's account.
	Account = "123456789012"
)

// AWS stands in for STS (AssumeRoleWithWebIdentity, query protocol) and
// ECR (GetAuthorizationToken and CreateRepository, JSON 1.1 protocol). ECR
// calls must be SigV4-signed with the credentials STS issued.
type AWS struct {
	URL string
	// Password is the ECR token's password (the user is AWS).
	Password string

	mu    sync.Mutex
	calls map[string]int
	repos map[string]bool
	// creates holds what each repository was created with.
	creates map[string]CreateRepositoryCall
	denied  bool
	badJWT  bool
	status  int // ECR answers this status with an empty body, when set
}

// NewAWS starts the fake and points the AWS SDK's default credential chain
// and endpoints at it through the environment, as IRSA's webhook does in a
// pod. Tests using it cannot run in parallel (t.Setenv).
func NewAWS(t *testing.T) *AWS {
	t.Helper()
	f := &AWS{Password: "ecr-password-canary", calls: map[string]int{}, repos: map[string]bool{}, creates: map[string]CreateRepositoryCall{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(WebIdentity), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ROLE_ARN":                RoleARN,
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ENDPOINT_URL_STS":        srv.URL,
		"AWS_ENDPOINT_URL_ECR":        srv.URL,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           "",
		"AWS_SECRET_ACCESS_KEY":       "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
	} {
		t.Setenv(k, v)
	}
	return f
}

// Count returns how many calls of operation op were made.
func (f *AWS) Count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// SetDenied makes ECR answer AccessDeniedException.
func (f *AWS) SetDenied(v bool) { f.mu.Lock(); f.denied = v; f.mu.Unlock() }

// SetStatus makes ECR answer every call with status and no body (0 stops).
func (f *AWS) SetStatus(status int) { f.mu.Lock(); f.status = status; f.mu.Unlock() }

// SetBadWebIdentity makes STS refuse the web identity token.
func (f *AWS) SetBadWebIdentity(v bool) { f.mu.Lock(); f.badJWT = v; f.mu.Unlock() }

// SetRepository makes repository exist, or not.
func (f *AWS) SetRepository(name string, exists bool) {
	f.mu.Lock()
	f.repos[name] = exists
	f.mu.Unlock()
}

// CreateRepositoryCall is what a CreateRepository call asked for, beyond the
// repository's name, in the names of ECR's JSON protocol.
type CreateRepositoryCall struct {
	ImageTagMutability         string `json:"imageTagMutability"`
	ImageScanningConfiguration *struct {
		ScanOnPush bool `json:"scanOnPush"`
	} `json:"imageScanningConfiguration"`
	EncryptionConfiguration *struct {
		EncryptionType string `json:"encryptionType"`
		KMSKey         string `json:"kmsKey"`
	} `json:"encryptionConfiguration"`
	Tags []struct {
		Key   string `json:"Key"`
		Value string `json:"Value"`
	} `json:"tags"`
}

// Created returns what repository was created with, and whether the fake
// created it.
func (f *AWS) Created(name string) (CreateRepositoryCall, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.creates[name]
	return c, ok
}

// HasRepository reports whether repository exists.
func (f *AWS) HasRepository(name string) bool { f.mu.Lock(); defer f.mu.Unlock(); return f.repos[name] }

func (f *AWS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		f.serveECR(w, r, strings.TrimPrefix(target, "AmazonEC2ContainerRegistry_V20150921."))
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRoleWithWebIdentity" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	f.calls["AssumeRoleWithWebIdentity"]++
	w.Header().Set("Content-Type", "text/xml")
	if f.badJWT || r.PostForm.Get("WebIdentityToken") != WebIdentity || r.PostForm.Get("RoleArn") != RoleARN {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>token for %s is not valid</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, CanaryRole)
		return
	}
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/portager-controller/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult>
<ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		AccessKey, Session, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), Account)
}

func (f *AWS) serveECR(w http.ResponseWriter, r *http.Request, op string) {
	f.calls[op]++
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(code, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	// Signed with what STS issued, not anything ambient.
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKey+"/") || r.Header.Get("X-Amz-Security-Token") != Session {
		fail("UnrecognizedClientException", "not signed with the web identity's credentials")
		return
	}
	if f.status != 0 {
		w.WriteHeader(f.status)
		return
	}
	if f.denied {
		fail("AccessDeniedException", "User: arn:aws:sts::"+Account+":assumed-role/"+CanaryRole+"/s is not authorized to perform: ecr:"+op)
		return
	}
	var in struct {
		RepositoryName string `json:"repositoryName"`
		RegistryID     string `json:"registryId"`
		CreateRepositoryCall
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	switch op {
	case "GetAuthorizationToken":
		fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://%s.dkr.ecr.us-east-1.amazonaws.com"}]}`,
			base64.StdEncoding.EncodeToString([]byte("AWS:"+f.Password)), time.Now().Add(12*time.Hour).Unix(), Account)
	case "CreateRepository":
		switch {
		case in.RegistryID != Account:
			fail("InvalidParameterException", "wrong registry")
		case f.repos[in.RepositoryName]:
			fail("RepositoryAlreadyExistsException", "The repository already exists")
		default:
			f.repos[in.RepositoryName] = true
			f.creates[in.RepositoryName] = in.CreateRepositoryCall
			fmt.Fprintf(w, `{"repository":{"repositoryName":%q,"registryId":%q}}`, in.RepositoryName, Account)
		}
	default:
		fail("UnknownOperationException", op)
	}
}
