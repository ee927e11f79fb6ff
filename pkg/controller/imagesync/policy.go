package imagesync

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/registrypolicy"
)

// policyError is a run refused because the RegistryPolicies of its
// namespace no longer allow its registries. Its message names the fields
// and the policies, never an address the registry resolves to.
type policyError struct{ msg string }

func (e *policyError) Error() string { return e.msg }

// checkPolicies applies the RegistryPolicies as they are now to the spec
// about to run. The API server applied them when the spec was written; a
// policy tightened since then stops the run here, before any Secret is read
// or any registry is contacted. For a run that may go ahead it returns the
// further host:ports the policies let the run reach inside the network
// (for the engine's dial policy).
func (c *Controller) checkPolicies(ctx context.Context, is *v1alpha1.ImageSync) (func(hostport string) bool, error) {
	list, err := c.policies.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing RegistryPolicies: %w", err)
	}
	ns, err := c.cfg.Kube.CoreV1().Namespaces().Get(ctx, is.Namespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading namespace %s for RegistryPolicy selectors: %w", is.Namespace, err)
	}
	policies := make([]portager.RegistryPolicy, len(list))
	for i, p := range list {
		if err := v1alpha1.Convert_v1alpha1_RegistryPolicy_To_portager_RegistryPolicy(p, &policies[i], nil); err != nil {
			return nil, err
		}
	}
	var spec portager.ImageSyncSpec
	if err := v1alpha1.Convert_v1alpha1_ImageSyncSpec_To_portager_ImageSyncSpec(&is.Spec, &spec, nil); err != nil {
		return nil, err
	}
	t := registrypolicy.Target{Namespace: is.Namespace, NamespaceLabels: labels.Set(ns.Labels), Spec: &spec}
	if errs := c.policyChecker.Check(ctx, t, policies); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, &policyError{msg: strings.Join(msgs, "; ")}
	}
	return registrypolicy.Reachable(t, policies), nil
}
