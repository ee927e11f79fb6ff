package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/portager/portager/pkg/apis/portager"
	imagesyncstorage "github.com/portager/portager/pkg/registry/imagesync"
)

// policySource reads RegistryPolicies from this server's own storage and
// namespace labels from the cluster: from the shared informer's cache, and
// with a GET for a namespace the cache does not show yet, so that a new
// namespace's labels are never mistaken for none.
type policySource struct {
	policies   rest.Lister
	namespaces corelisters.NamespaceLister
	kube       kubernetes.Interface
}

var _ imagesyncstorage.PolicySource = policySource{}

func (s policySource) RegistryPolicies(ctx context.Context) ([]portager.RegistryPolicy, error) {
	// RegistryPolicies are cluster-scoped; the request's namespace is the
	// ImageSync's.
	obj, err := s.policies.List(genericapirequest.WithNamespace(ctx, metav1.NamespaceNone), &metainternalversion.ListOptions{})
	if err != nil {
		return nil, err
	}
	list, ok := obj.(*portager.RegistryPolicyList)
	if !ok {
		return nil, fmt.Errorf("listing RegistryPolicies returned %T", obj)
	}
	return list.Items, nil
}

func (s policySource) NamespaceLabels(ctx context.Context, namespace string) (labels.Set, error) {
	if s.namespaces == nil {
		// Standalone: no cluster, so no namespace objects. Namespaces carry
		// this label in every cluster, so selecting by name still works.
		return labels.Set{corev1.LabelMetadataName: namespace}, nil
	}
	ns, err := s.namespaces.Get(namespace)
	if apierrors.IsNotFound(err) {
		ns, err = s.kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	return labels.Set(ns.Labels), nil
}
