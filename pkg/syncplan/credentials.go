package syncplan

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// Spec fields that name a run's credentials, as ResolveCredentials passes
// them to Access and as error messages name them.
const (
	FieldSourceSecret      = "spec.source.authSecretRef"
	FieldSourceMethod      = "spec.source.auth.method"
	FieldDestinationSecret = "spec.destination.auth.secretRef"
	FieldDestinationMethod = "spec.destination.auth.method"
)

// Access is where a run's credentials come from. The controller reads the
// Secrets a spec names, as the user who wrote it, and lends its own cloud
// identity; `portager once` uses the login and cloud credentials of the
// machine it runs on. ResolveCredentials decides what a spec asks of it.
type Access interface {
	// Login returns the keychain of the registry login the spec names at
	// field; ref is nil when the spec names none there (only a source
	// without an auth method may name none). A nil keychain is anonymous.
	Login(ctx context.Context, field string, ref *v1alpha1.SecretReference) (authn.Keychain, error)
	// CloudIdentity returns a keychain of the cloud identity method lends,
	// for registry (spec.source.registry or spec.destination.registry);
	// field is where the spec names method.
	CloudIdentity(ctx context.Context, field string, method v1alpha1.AuthMethod, registry string) (authn.Keychain, error)
	// SigstoreRoot returns the trusted root keyless cosign signatures are
	// verified with (nil refuses them). It is asked for only when the spec
	// has a keyless cosign gate.
	SigstoreRoot() (root.TrustedMaterial, error)
}

// ResolveCredentials asks access for the credentials spec calls for: the
// Sigstore trusted root if a keyless cosign gate is enabled, then the
// source's and the destination's by their auth methods. A source without
// spec.source.auth.method keeps the behaviour it had before that field:
// its authSecretRef, or Login with no ref when it names none. Errors of
// access are returned as they are, so that each implementation words and
// classifies its own; a method ResolveCredentials does not know, or method
// "secret" without its Secret, is an error naming the field.
func ResolveCredentials(ctx context.Context, spec *v1alpha1.ImageSyncSpec, access Access) (Credentials, error) {
	var creds Credentials
	var err error
	if Keyless(spec.Validation) {
		if creds.SigstoreRoot, err = access.SigstoreRoot(); err != nil {
			return creds, err
		}
	}
	src := side{registry: spec.Source.Registry, secretField: FieldSourceSecret, methodField: FieldSourceMethod, ref: spec.Source.AuthSecretRef}
	if a := spec.Source.Auth; a != nil && a.Method != "" {
		src.method = a.Method
	} else {
		// No method: the Secret if one is named; Access decides what
		// no Secret means (anonymous in the controller, the user's own
		// login in `portager once`).
		src.method = v1alpha1.AuthMethodSecret
		src.optionalSecret = true
	}
	if creds.Source, err = src.keychain(ctx, access); err != nil {
		return creds, err
	}
	dst := side{registry: spec.Destination.Registry, secretField: FieldDestinationSecret, methodField: FieldDestinationMethod,
		method: spec.Destination.Auth.Method, ref: spec.Destination.Auth.SecretRef}
	if creds.Destination, err = dst.keychain(ctx, access); err != nil {
		return creds, err
	}
	return creds, nil
}

// side is what one side of a spec says about its credentials.
type side struct {
	registry                 string
	secretField, methodField string
	method                   v1alpha1.AuthMethod
	ref                      *v1alpha1.SecretReference
	// optionalSecret lets method "secret" name no Secret (a source
	// without an auth method).
	optionalSecret bool
}

// keychain asks access for the keychain of s; "anonymous" is nil and asks
// for nothing.
func (s side) keychain(ctx context.Context, access Access) (authn.Keychain, error) {
	switch m := s.method; {
	case m == v1alpha1.AuthMethodAnonymous:
		return nil, nil
	case m == v1alpha1.AuthMethodSecret:
		if s.ref == nil && !s.optionalSecret {
			return nil, fmt.Errorf("%s is required", s.secretField)
		}
		return access.Login(ctx, s.secretField, s.ref)
	case portager.LendsCloudIdentity(portager.AuthMethod(m)):
		return access.CloudIdentity(ctx, s.methodField, m, s.registry)
	default:
		return nil, fmt.Errorf("unknown %s %q", s.methodField, m)
	}
}

// Keyless reports whether v enables a cosign gate that verifies keyless
// signatures, the only gate that needs a Sigstore trusted root.
func Keyless(v *v1alpha1.ValidationSpec) bool {
	c := Policy(v).Cosign
	return c != nil && c.PublicKey == ""
}
