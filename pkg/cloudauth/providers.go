package cloudauth

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/registryhost"
)

// Providers are the cloud credential sources of one controller (or one
// `once` run). A nil provider makes its method unavailable.
type Providers struct {
	ECR *ECR
	GAR *GAR
	ACR *ACR
}

// NewProviders returns every provider. They make no cloud call until used.
func NewProviders() Providers { return Providers{ECR: NewECR(), GAR: NewGAR(), ACR: NewACR()} }

// Keychain returns the keychain of a cloud method ("ecr", "gar" or "acr")
// for a registry value (host[/path]) of either side.
func (p Providers) Keychain(ctx context.Context, method v1alpha1.AuthMethod, registry string) (authn.Keychain, error) {
	host := registryhost.Host(registry)
	switch {
	case method == v1alpha1.AuthMethodECR && p.ECR != nil:
		return p.ECR.Keychain(ctx, host)
	case method == v1alpha1.AuthMethodGAR && p.GAR != nil:
		return p.GAR.Keychain(ctx, host)
	case method == v1alpha1.AuthMethodACR && p.ACR != nil:
		return p.ACR.Keychain(ctx, host)
	}
	return nil, &Error{msg: fmt.Sprintf("method %q is not available here", method)}
}
