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
}

// NewProviders returns both providers. They make no cloud call until used.
func NewProviders() Providers { return Providers{ECR: NewECR(), GAR: NewGAR()} }

// Keychain returns the destination keychain for method
// (spec.destination.auth.method "ecr" or "gar") and the destination
// registry value (host[/path]).
func (p Providers) Keychain(ctx context.Context, method v1alpha1.AuthMethod, registry string) (authn.Keychain, error) {
	host := registryhost.Host(registry)
	switch {
	case method == v1alpha1.AuthMethodECR && p.ECR != nil:
		return p.ECR.Keychain(ctx, host)
	case method == v1alpha1.AuthMethodGAR && p.GAR != nil:
		return p.GAR.Keychain(ctx, host)
	}
	return nil, &Error{msg: fmt.Sprintf("method %q is not available here", method)}
}
