package cloudauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portager/portager/internal/cloudfake"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/registryhost"
)

const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

func TestECRKeychain(t *testing.T) {
	f := cloudfake.NewAWS(t)
	p := NewECR()
	now := time.Now()
	p.now = func() time.Time { return now }
	ctx := context.Background()

	kc, err := p.Keychain(ctx, ecrHost)
	if err != nil {
		t.Fatal(err)
	}
	if user, pass := credsFor(t, kc, ecrHost+"/mirror/alpine"); user != "AWS" || pass != f.Password {
		t.Errorf("credentials for %s = %q/%q, want AWS and the ECR token's password", ecrHost, user, pass)
	}
	// The token is for ECR only, whatever the engine asks about.
	for _, other := range []string{"docker.io/library/alpine", "987654321098.dkr.ecr.us-east-1.amazonaws.com/x"} {
		if user, pass := credsFor(t, kc, other); user != "" || pass != "" {
			t.Errorf("credentials for %s = %q/%q, want none", other, user, pass)
		}
	}
	if got := f.Count("AssumeRoleWithWebIdentity") + f.Count("GetAuthorizationToken"); got != 2 {
		t.Errorf("AWS calls for the first token = %d, want 2 (web identity exchange, GetAuthorizationToken)", got)
	}

	// Cached: another run an hour later asks AWS nothing.
	now = now.Add(time.Hour)
	if _, err := p.Keychain(ctx, ecrHost); err != nil {
		t.Fatal(err)
	}
	if got := f.Count("GetAuthorizationToken"); got != 1 {
		t.Errorf("GetAuthorizationToken calls after a cached run = %d, want 1", got)
	}
	// Within the margin before the 12-hour expiry, the keychain a run
	// already holds renews the token when the engine resolves it again
	// (as it does after a 401).
	now = now.Add(11*time.Hour - ecrTokenMargin + time.Minute)
	if user, pass := credsFor(t, kc, ecrHost+"/mirror/alpine"); user != "AWS" || pass != f.Password {
		t.Errorf("renewed credentials = %q/%q", user, pass)
	}
	if got := f.Count("GetAuthorizationToken"); got != 2 {
		t.Errorf("GetAuthorizationToken calls near expiry = %d, want 2", got)
	}
}

func TestECRRefusals(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		setup   func(*cloudfake.AWS)
		want    string
		awsCall bool
	}{
		{name: "not an ECR host", host: "registry.example.com", want: "is not an Amazon ECR registry"},
		{name: "an ECR-looking host elsewhere", host: ecrHost + ".evil.example", want: "is not an Amazon ECR registry"},
		{name: "access denied", host: ecrHost, setup: func(f *cloudfake.AWS) { f.SetDenied(true) },
			want: "getting an ECR token for " + ecrHost + " failed: AccessDeniedException", awsCall: true},
		{name: "ECR fails without an error code", host: ecrHost, setup: func(f *cloudfake.AWS) { f.SetStatus(http.StatusForbidden) },
			want: "failed: AWS answered HTTP 403", awsCall: true},
		{name: "web identity refused", host: ecrHost, setup: func(f *cloudfake.AWS) { f.SetBadWebIdentity(true) },
			want: "failed: InvalidIdentityToken", awsCall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cloudfake.NewAWS(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			_, err := NewECR().Keychain(context.Background(), tt.host)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			for _, secret := range []string{cloudfake.CanaryRole, cloudfake.Session, f.Password, "123456789012:assumed-role"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows %q", err, secret)
				}
			}
			if calls := f.Count("AssumeRoleWithWebIdentity") + f.Count("GetAuthorizationToken"); (calls > 0) != tt.awsCall {
				t.Errorf("AWS calls = %d, want calls: %v", calls, tt.awsCall)
			}
		})
	}
}

func TestECREnsureRepositories(t *testing.T) {
	f := cloudfake.NewAWS(t)
	f.SetRepository("mirror/nginx", true)
	p := NewECR()
	now := time.Now()
	p.now = func() time.Time { return now }
	ctx := context.Background()

	created, err := p.EnsureRepositories(ctx, ecrHost, []string{"mirror/alpine", "mirror/nginx"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || created[0] != "mirror/alpine" || !f.HasRepository("mirror/alpine") {
		t.Errorf("created %v, want [mirror/alpine] (mirror/nginx exists)", created)
	}
	if got := f.Count("CreateRepository"); got != 2 {
		t.Errorf("CreateRepository calls = %d, want 2", got)
	}

	// The next run within the hour asks nothing; after it, ECR is asked
	// again (a repository deleted meanwhile comes back).
	if created, err := p.EnsureRepositories(ctx, ecrHost, []string{"mirror/alpine", "mirror/nginx"}, nil); err != nil || len(created) != 0 {
		t.Fatalf("second run: created %v, err %v", created, err)
	}
	if got := f.Count("CreateRepository"); got != 2 {
		t.Errorf("CreateRepository calls after a run within the hour = %d, want 2", got)
	}
	f.SetRepository("mirror/alpine", false)
	now = now.Add(ecrEnsuredFor)
	created, err = p.EnsureRepositories(ctx, ecrHost, []string{"mirror/alpine", "mirror/nginx"}, nil)
	if err != nil || len(created) != 1 || created[0] != "mirror/alpine" {
		t.Errorf("after an hour: created %v, err %v; want [mirror/alpine] again", created, err)
	}

	f.SetDenied(true)
	_, err = p.EnsureRepositories(ctx, ecrHost, []string{"mirror/new"}, nil)
	if err == nil || err.Error() != `creating ECR repository "mirror/new" failed: AccessDeniedException` {
		t.Errorf("denied: error %v", err)
	}
	if _, err := p.EnsureRepositories(ctx, "registry.example.com", []string{"x"}, nil); err == nil {
		t.Error("EnsureRepositories on a non-ECR host succeeded")
	}
}

// TestECRRepositorySettings checks the CreateRepository call each setting
// makes, through the real AWS SDK, as ECR receives it.
func TestECRRepositorySettings(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name     string
		settings *v1alpha1.ECRRepositorySettings
		// want is the call as "mutability scan encryption/key tags".
		want string
	}{
		{"none", nil, "  / []"},
		{"all", &v1alpha1.ECRRepositorySettings{ImageTagMutability: v1alpha1.ECRTagImmutable, ScanOnPush: true,
			Encryption: &v1alpha1.ECREncryption{KMSKey: key}, Tags: map[string]string{"team": "payments", "cost-center": "42"}},
			"IMMUTABLE true KMS/" + key + " [cost-center=42 team=payments]"},
		{"the AWS managed key", &v1alpha1.ECRRepositorySettings{Encryption: &v1alpha1.ECREncryption{}}, "  KMS/ []"},
		{"mutable, no scan", &v1alpha1.ECRRepositorySettings{ImageTagMutability: v1alpha1.ECRTagMutable}, "MUTABLE  / []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cloudfake.NewAWS(t)
			created, err := NewECR().EnsureRepositories(context.Background(), ecrHost, []string{"mirror/alpine"}, tt.settings)
			if err != nil || len(created) != 1 {
				t.Fatalf("created %v, err %v", created, err)
			}
			c, ok := f.Created("mirror/alpine")
			if !ok {
				t.Fatal("ECR created no repository")
			}
			scan, enc := "", "/"
			if c.ImageScanningConfiguration != nil {
				scan = fmt.Sprint(c.ImageScanningConfiguration.ScanOnPush)
			}
			if e := c.EncryptionConfiguration; e != nil {
				enc = e.EncryptionType + "/" + e.KMSKey
			}
			var tags []string
			for _, tag := range c.Tags {
				tags = append(tags, tag.Key+"="+tag.Value)
			}
			if got := fmt.Sprintf("%s %s %s %v", c.ImageTagMutability, scan, enc, tags); got != tt.want {
				t.Errorf("CreateRepository = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestECRAliases(t *testing.T) {
	cloudfake.NewAWS(t)
	p := NewECR()
	p.Aliases = map[string]registryhost.ECR{"127.0.0.1:5000": {AccountID: "123456789012", Region: "us-east-1"}}
	if _, err := p.Keychain(context.Background(), "127.0.0.1:5000"); err != nil {
		t.Fatalf("alias: %v", err)
	}
}
