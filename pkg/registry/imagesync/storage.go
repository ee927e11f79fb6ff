package imagesync

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/portager/portager/pkg/apis/portager"
)

// REST is the storage of imagesyncs.
type REST struct {
	*genericregistry.Store
}

// StatusREST is the storage of imagesyncs/status.
type StatusREST struct {
	store *genericregistry.Store
}

// Storage holds the storage of the resource and its subresources.
type Storage struct {
	ImageSync *REST
	Status    *StatusREST
}

var (
	_ rest.StandardStorage    = &REST{}
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
	_ rest.Patcher            = &StatusREST{}
	_ rest.Storage            = &StatusREST{}
)

// NewStorage returns the storage of imagesyncs and imagesyncs/status on top of
// the store the options describe (etcd, with the watch cache in front).
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*Storage, error) {
	s := NewStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &portager.ImageSync{} },
		NewListFunc:               func() runtime.Object { return &portager.ImageSyncList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  portager.Resource("imagesyncs"),
		SingularQualifiedResource: portager.Resource("imagesync"),

		CreateStrategy:      s,
		UpdateStrategy:      s,
		DeleteStrategy:      s,
		ResetFieldsStrategy: s,

		TableConvertor: tableConvertor{now: time.Now},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs}); err != nil {
		return nil, fmt.Errorf("completing imagesyncs storage: %w", err)
	}

	statusStore := *store
	ss := NewStatusStrategy(s)
	statusStore.UpdateStrategy = ss
	statusStore.ResetFieldsStrategy = ss
	return &Storage{ImageSync: &REST{store}, Status: &StatusREST{store: &statusStore}}, nil
}

// ShortNames lets kubectl resolve "isync".
func (r *REST) ShortNames() []string { return []string{"isync"} }

// Categories puts ImageSyncs in "kubectl get portager".
func (r *REST) Categories() []string { return []string{"portager"} }

// New returns an empty ImageSync.
func (r *StatusREST) New() runtime.Object { return &portager.ImageSync{} }

// Destroy is a no-op: the main resource's store owns the shared storage.
func (r *StatusREST) Destroy() {}

// Get returns the ImageSync, so that kubectl can read the status subresource.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update writes status only; the status strategy discards everything else.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create the parent object.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields server-side apply must not take from a status write.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable prints the status subresource like the main resource.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
