package cloudauth

import (
	"context"
	"strings"
	"testing"

	"github.com/portager/portager/internal/cloudfake"
)

func TestGARKeychain(t *testing.T) {
	f := cloudfake.NewMetadata(t, garScope)
	p := NewGAR()
	ctx := context.Background()
	const host = "europe-west4-docker.pkg.dev"

	kc, err := p.Keychain(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	if user, pass := credsFor(t, kc, host+"/proj/mirror/alpine"); user != garUser || pass != f.Token {
		t.Errorf("credentials = %q/%q, want %s and the access token", user, pass, garUser)
	}
	if user, pass := credsFor(t, kc, "us-docker.pkg.dev/proj/other"); user != "" || pass != "" {
		t.Errorf("credentials for another host = %q/%q, want none", user, pass)
	}
	// The access token is reused until shortly before it expires.
	if _, err := p.Keychain(ctx, host); err != nil {
		t.Fatal(err)
	}
	if got := f.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	if f.Unflavored() != 0 {
		t.Error("a metadata request lacked Metadata-Flavor: Google")
	}

	_, err = p.Keychain(ctx, "ghcr.io")
	if err == nil || !strings.Contains(err.Error(), "is not a Google Artifact Registry host") {
		t.Errorf("ghcr.io: error %v", err)
	}
}

func TestGARTokenRefused(t *testing.T) {
	f := cloudfake.NewMetadata(t, garScope)
	f.SetFailing(true)
	_, err := NewGAR().Keychain(context.Background(), "us-docker.pkg.dev")
	if err == nil || !strings.Contains(err.Error(), "metadata server answered HTTP 403") {
		t.Fatalf("error = %v, want the metadata server's status", err)
	}
	if strings.Contains(err.Error(), cloudfake.CanaryRole) {
		t.Errorf("error %q shows the metadata server's body", err)
	}
}
