package registrypolicy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/portager/portager/pkg/apis/portager"
)

// REST is the storage of registrypolicies.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage    = &REST{}
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// NewREST returns the storage of registrypolicies on top of the store the
// options describe (etcd, with the watch cache in front).
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, error) {
	s := NewStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &portager.RegistryPolicy{} },
		NewListFunc:               func() runtime.Object { return &portager.RegistryPolicyList{} },
		DefaultQualifiedResource:  portager.Resource("registrypolicies"),
		SingularQualifiedResource: portager.Resource("registrypolicy"),

		CreateStrategy: s,
		UpdateStrategy: s,
		DeleteStrategy: s,

		TableConvertor: tableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter}); err != nil {
		return nil, fmt.Errorf("completing registrypolicies storage: %w", err)
	}
	return &REST{Store: store}, nil
}

// ShortNames lets kubectl resolve "rpol".
func (r *REST) ShortNames() []string { return []string{"rpol"} }

// Categories puts RegistryPolicies in "kubectl get portager".
func (r *REST) Categories() []string { return []string{"portager"} }
