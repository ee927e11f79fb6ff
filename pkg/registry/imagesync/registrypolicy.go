package imagesync

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/registrypolicy"
)

// PolicySource gives what deciding an ImageSync's registries needs: the
// RegistryPolicies, and the labels of the namespace they select by.
type PolicySource interface {
	RegistryPolicies(ctx context.Context) ([]portager.RegistryPolicy, error)
	NamespaceLabels(ctx context.Context, namespace string) (labels.Set, error)
}

// policyChecker refuses a spec whose registries the RegistryPolicies of its
// namespace do not allow. It fails closed: if the policies or the namespace
// cannot be read, the write is refused.
type policyChecker struct {
	source  PolicySource
	checker registrypolicy.Checker
}

func (c policyChecker) check(ctx context.Context, is *portager.ImageSync) error {
	if c.source == nil {
		return apierrors.NewInternalError(fmt.Errorf("no RegistryPolicy source configured"))
	}
	policies, err := c.source.RegistryPolicies(ctx)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("could not read RegistryPolicies, so the spec is refused: %v", err))
	}
	nsLabels, err := c.source.NamespaceLabels(ctx, is.Namespace)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("could not read namespace %q, so the spec is refused: %v", is.Namespace, err))
	}
	t := registrypolicy.Target{Namespace: is.Namespace, NamespaceLabels: nsLabels, Spec: &is.Spec}
	if errs := c.checker.Check(ctx, t, policies); len(errs) > 0 {
		return apierrors.NewInvalid(portager.Kind("ImageSync"), is.Name, errs)
	}
	return nil
}

// checkWrite checks the registries of a new ImageSync and of every spec
// change. An update that leaves the spec alone is not refused by a policy
// tightened since: the controller stops the next run instead.
func (c policyChecker) checkWrite(ctx context.Context, is, old *portager.ImageSync) error {
	if old != nil && !specChanged(is, old) {
		return nil
	}
	return c.check(ctx, is)
}
