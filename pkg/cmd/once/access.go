package once

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cloudauth"
	"github.com/portager/portager/pkg/gate"
)

// localAccess is the syncplan.Access of a once run: the credentials of the
// machine it runs on, whatever Secrets the manifest names.
type localAccess struct {
	// login is the user's registry login (options.keychain); it serves
	// both sides.
	login authn.Keychain
	// cloud gives methods "ecr", "gar" and "acr" this machine's cloud
	// identity.
	cloud cloudauth.Providers
	// sigstoreRoot is --sigstore-trusted-root ("" is the public-good root
	// built in).
	sigstoreRoot string
}

// Login is the user's registry login: the manifest's Secret references
// mean nothing outside a cluster.
func (a localAccess) Login(context.Context, string, *v1alpha1.SecretReference) (authn.Keychain, error) {
	return a.login, nil
}

// CloudIdentity is this machine's own credentials for method (the SDKs'
// default chains).
func (a localAccess) CloudIdentity(ctx context.Context, field string, method v1alpha1.AuthMethod, registry string) (authn.Keychain, error) {
	kc, err := a.cloud.Keychain(ctx, method, registry)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", field, method, err)
	}
	return kc, nil
}

// SigstoreRoot parses the trusted root. Only runs with a keyless gate ask
// for it, so most runs never parse it.
func (a localAccess) SigstoreRoot() (root.TrustedMaterial, error) {
	return gate.LoadTrustedRoot(a.sigstoreRoot)
}
