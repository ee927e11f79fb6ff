package syncplan

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// recordingAccess hands out a distinct keychain per call and records each
// call as "Method field" (plus the ref name, method and registry asked for).
type recordingAccess struct {
	calls []string
	// fail makes the call of this record fail.
	fail string
	root root.TrustedMaterial
}

// namedKeychain tells apart which call a keychain came from.
type namedKeychain struct {
	authn.Keychain
	name string
}

var errAccess = errors.New("access refused")

func (a *recordingAccess) record(call string) error {
	a.calls = append(a.calls, call)
	if call == a.fail {
		return errAccess
	}
	return nil
}

func (a *recordingAccess) Login(_ context.Context, field string, ref *v1alpha1.SecretReference) (authn.Keychain, error) {
	call := "Login " + field
	if ref != nil {
		call += " " + ref.Name
	}
	if err := a.record(call); err != nil {
		return nil, err
	}
	return namedKeychain{name: call}, nil
}

func (a *recordingAccess) CloudIdentity(_ context.Context, field string, method v1alpha1.AuthMethod, registry string) (authn.Keychain, error) {
	call := "CloudIdentity " + field + " " + string(method) + " " + registry
	if err := a.record(call); err != nil {
		return nil, err
	}
	return namedKeychain{name: call}, nil
}

func (a *recordingAccess) SigstoreRoot() (root.TrustedMaterial, error) {
	if err := a.record("SigstoreRoot"); err != nil {
		return nil, err
	}
	return a.root, nil
}

func TestResolveCredentials(t *testing.T) {
	trustedRoot := &root.TrustedRoot{}
	keyless := &v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, KeylessIssuer: "https://issuer"}}
	cases := []struct {
		name       string
		source     *v1alpha1.SecretReference
		sourceAuth *v1alpha1.SourceAuth
		auth       v1alpha1.DestinationAuth
		validation *v1alpha1.ValidationSpec
		fail       string
		// calls are the Access calls made, in order; sourceFrom and
		// destinationFrom name the call each keychain came from ("" for nil).
		calls                       []string
		sourceFrom, destinationFrom string
		sigstoreRoot                bool
		err                         string // "" for success
	}{
		{name: "anonymous destination asks for no login",
			auth:  v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			calls: []string{"Login spec.source.authSecretRef"}, sourceFrom: "Login spec.source.authSecretRef"},
		{name: "source and destination Secrets",
			source:     &v1alpha1.SecretReference{Name: "pull"},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodSecret, SecretRef: &v1alpha1.SecretReference{Name: "push"}},
			calls:      []string{"Login spec.source.authSecretRef pull", "Login spec.destination.auth.secretRef push"},
			sourceFrom: "Login spec.source.authSecretRef pull", destinationFrom: "Login spec.destination.auth.secretRef push"},
		{name: "a secretRef is ignored for another method",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous, SecretRef: &v1alpha1.SecretReference{Name: "push"}},
			calls:      []string{"Login spec.source.authSecretRef"},
			sourceFrom: "Login spec.source.authSecretRef"},
		{name: "method secret without a secretRef",
			auth:  v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodSecret},
			calls: []string{"Login spec.source.authSecretRef"},
			err:   "spec.destination.auth.secretRef is required"},
		{name: "ecr lends a cloud identity for the destination registry",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodECR},
			calls:      []string{"Login spec.source.authSecretRef", "CloudIdentity spec.destination.auth.method ecr dst.example.com/mirror"},
			sourceFrom: "Login spec.source.authSecretRef", destinationFrom: "CloudIdentity spec.destination.auth.method ecr dst.example.com/mirror"},
		{name: "gar lends a cloud identity",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodGAR},
			calls:      []string{"Login spec.source.authSecretRef", "CloudIdentity spec.destination.auth.method gar dst.example.com/mirror"},
			sourceFrom: "Login spec.source.authSecretRef", destinationFrom: "CloudIdentity spec.destination.auth.method gar dst.example.com/mirror"},
		{name: "unknown method fails with the field path",
			auth:  v1alpha1.DestinationAuth{Method: "kerberos"},
			calls: []string{"Login spec.source.authSecretRef"},
			err:   `unknown spec.destination.auth.method "kerberos"`},
		{name: "an empty source auth keeps authSecretRef",
			source: &v1alpha1.SecretReference{Name: "pull"}, sourceAuth: &v1alpha1.SourceAuth{},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			calls:      []string{"Login spec.source.authSecretRef pull"},
			sourceFrom: "Login spec.source.authSecretRef pull"},
		{name: "source method secret",
			source: &v1alpha1.SecretReference{Name: "pull"}, sourceAuth: &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodSecret},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			calls:      []string{"Login spec.source.authSecretRef pull"},
			sourceFrom: "Login spec.source.authSecretRef pull"},
		{name: "source method secret without authSecretRef",
			sourceAuth: &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodSecret},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			err:        "spec.source.authSecretRef is required"},
		{name: "source method anonymous asks for no login",
			sourceAuth: &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodAnonymous},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous}},
		{name: "source ecr lends a cloud identity for the source registry",
			sourceAuth:      &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodECR},
			auth:            v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodGAR},
			calls:           []string{"CloudIdentity spec.source.auth.method ecr src.example.com", "CloudIdentity spec.destination.auth.method gar dst.example.com/mirror"},
			sourceFrom:      "CloudIdentity spec.source.auth.method ecr src.example.com",
			destinationFrom: "CloudIdentity spec.destination.auth.method gar dst.example.com/mirror"},
		{name: "a source cloud identity that fails stops the run",
			sourceAuth: &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodGAR},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodECR},
			fail:       "CloudIdentity spec.source.auth.method gar src.example.com",
			calls:      []string{"CloudIdentity spec.source.auth.method gar src.example.com"}, err: errAccess.Error()},
		{name: "unknown source method fails with the field path",
			sourceAuth: &v1alpha1.SourceAuth{Method: "kerberos"},
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodECR},
			err:        `unknown spec.source.auth.method "kerberos"`},
		{name: "keyless gate asks for the Sigstore root first",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			validation: keyless,
			calls:      []string{"SigstoreRoot", "Login spec.source.authSecretRef"},
			sourceFrom: "Login spec.source.authSecretRef", sigstoreRoot: true},
		{name: "a keyed cosign gate needs no Sigstore root",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			validation: &v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, PublicKey: "k"}},
			calls:      []string{"Login spec.source.authSecretRef"}, sourceFrom: "Login spec.source.authSecretRef"},
		{name: "a disabled keyless gate needs no Sigstore root",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
			validation: &v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{KeylessIssuer: "https://issuer"}},
			calls:      []string{"Login spec.source.authSecretRef"}, sourceFrom: "Login spec.source.authSecretRef"},
		{name: "a Sigstore root that fails stops the run",
			auth:       v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodECR},
			validation: keyless, fail: "SigstoreRoot",
			calls: []string{"SigstoreRoot"}, err: errAccess.Error()},
		{name: "a source login that fails stops the run",
			source: &v1alpha1.SecretReference{Name: "pull"},
			auth:   v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodSecret, SecretRef: &v1alpha1.SecretReference{Name: "push"}},
			fail:   "Login spec.source.authSecretRef pull",
			calls:  []string{"Login spec.source.authSecretRef pull"}, err: errAccess.Error()},
		{name: "a cloud identity that fails stops the run",
			auth:  v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodGAR},
			fail:  "CloudIdentity spec.destination.auth.method gar dst.example.com/mirror",
			calls: []string{"Login spec.source.authSecretRef", "CloudIdentity spec.destination.auth.method gar dst.example.com/mirror"}, err: errAccess.Error()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := &v1alpha1.ImageSyncSpec{
				Source:      v1alpha1.SourceRegistry{Registry: "src.example.com", AuthSecretRef: tc.source, Auth: tc.sourceAuth},
				Destination: v1alpha1.DestinationRegistry{Registry: "dst.example.com/mirror", Auth: tc.auth},
				Validation:  tc.validation,
			}
			access := &recordingAccess{fail: tc.fail, root: trustedRoot}
			creds, err := ResolveCredentials(context.Background(), spec, access)
			if !reflect.DeepEqual(access.calls, tc.calls) {
				t.Errorf("calls = %q, want %q", access.calls, tc.calls)
			}
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if tc.fail != "" && !errors.Is(err, errAccess) {
					t.Fatalf("err = %v, want Access's error as it is", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := keychainName(creds.Source); got != tc.sourceFrom {
				t.Errorf("source keychain from %q, want %q", got, tc.sourceFrom)
			}
			if got := keychainName(creds.Destination); got != tc.destinationFrom {
				t.Errorf("destination keychain from %q, want %q", got, tc.destinationFrom)
			}
			if got := creds.SigstoreRoot != nil; got != tc.sigstoreRoot {
				t.Errorf("Sigstore root set = %v, want %v", got, tc.sigstoreRoot)
			}
		})
	}
}

func keychainName(kc authn.Keychain) string {
	if kc == nil {
		return ""
	}
	return kc.(namedKeychain).name
}

func TestKeyless(t *testing.T) {
	for _, tc := range []struct {
		v    *v1alpha1.ValidationSpec
		want bool
	}{
		{nil, false},
		{&v1alpha1.ValidationSpec{SBOMGate: &v1alpha1.SBOMGate{Enabled: true}}, false},
		{&v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, PublicKey: "k"}}, false},
		{&v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{KeylessIssuer: "https://issuer"}}, false},
		{&v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, KeylessIssuer: "https://issuer"}}, true},
	} {
		if got := Keyless(tc.v); got != tc.want {
			t.Errorf("Keyless(%+v) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
