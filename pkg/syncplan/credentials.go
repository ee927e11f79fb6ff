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
	FieldDestinationSecret = "spec.destination.auth.secretRef"
	FieldDestinationMethod = "spec.destination.auth.method"
)

// Access is where a run's credentials come from. The controller reads the
// Secrets a spec names, as the user who wrote it, and lends its own cloud
// identity; `portager once` uses the login and cloud credentials of the
// machine it runs on. ResolveCredentials decides what a spec asks of it.
type Access interface {
	// Login returns the keychain of the registry login the spec names at
	// field; ref is nil when the spec names none there (only the source
	// may name none). A nil keychain is anonymous.
	Login(ctx context.Context, field string, ref *v1alpha1.SecretReference) (authn.Keychain, error)
	// CloudIdentity returns a keychain of the cloud identity method lends,
	// for registry (spec.destination.registry); field is where the spec
	// names method.
	CloudIdentity(ctx context.Context, field string, method v1alpha1.AuthMethod, registry string) (authn.Keychain, error)
	// SigstoreRoot returns the trusted root keyless cosign signatures are
	// verified with (nil refuses them). It is asked for only when the spec
	// has a keyless cosign gate.
	SigstoreRoot() (root.TrustedMaterial, error)
}

// ResolveCredentials asks access for the credentials spec calls for: the
// Sigstore trusted root if a keyless cosign gate is enabled, the source's
// login, and the destination's by spec.destination.auth.method (none for
// "anonymous"; method "secret" requires a secretRef). Errors of access are returned as they are, so that each
// implementation words and classifies its own; a destination method
// ResolveCredentials does not know is an error naming the field.
func ResolveCredentials(ctx context.Context, spec *v1alpha1.ImageSyncSpec, access Access) (Credentials, error) {
	var creds Credentials
	var err error
	if Keyless(spec.Validation) {
		if creds.SigstoreRoot, err = access.SigstoreRoot(); err != nil {
			return creds, err
		}
	}
	if creds.Source, err = access.Login(ctx, FieldSourceSecret, spec.Source.AuthSecretRef); err != nil {
		return creds, err
	}
	switch m := spec.Destination.Auth.Method; {
	case m == v1alpha1.AuthMethodAnonymous:
	case m == v1alpha1.AuthMethodSecret:
		if spec.Destination.Auth.SecretRef == nil {
			return creds, fmt.Errorf("%s is required", FieldDestinationSecret)
		}
		if creds.Destination, err = access.Login(ctx, FieldDestinationSecret, spec.Destination.Auth.SecretRef); err != nil {
			return creds, err
		}
	case portager.LendsCloudIdentity(portager.AuthMethod(m)):
		if creds.Destination, err = access.CloudIdentity(ctx, FieldDestinationMethod, m, spec.Destination.Registry); err != nil {
			return creds, err
		}
	default:
		return creds, fmt.Errorf("unknown %s %q", FieldDestinationMethod, m)
	}
	return creds, nil
}

// Keyless reports whether v enables a cosign gate that verifies keyless
// signatures, the only gate that needs a Sigstore trusted root.
func Keyless(v *v1alpha1.ValidationSpec) bool {
	c := Policy(v).Cosign
	return c != nil && c.PublicKey == ""
}
