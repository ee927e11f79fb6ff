package imagesync

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
)

// Options configure the imagesyncs storage beyond the generic store.
type Options struct {
	// Authorizer answers whether the requesting user may get a referenced
	// Secret. In a cluster it is the delegated SubjectAccessReview authorizer.
	Authorizer authorizer.Authorizer
	// SecretCheckTimeout bounds one such check; past it the write is refused.
	SecretCheckTimeout time.Duration
	// AllowCrossNamespaceSecretRefs lets ImageSyncs reference Secrets in other
	// namespaces (each still checked with a SubjectAccessReview).
	AllowCrossNamespaceSecretRefs bool
	// MinSyncInterval is the least time between two accepted on-demand sync
	// requests for one ImageSync.
	MinSyncInterval time.Duration
	// Validation holds the limits an administrator set on specs, such as
	// the shortest schedule interval.
	Validation validation.Options
}

// REST is the storage of imagesyncs.
type REST struct {
	*genericregistry.Store
	secrets secretAccessChecker
}

// StatusREST is the storage of imagesyncs/status.
type StatusREST struct {
	store *genericregistry.Store
}

// Storage holds the storage of the resource and its subresources.
type Storage struct {
	ImageSync *REST
	Status    *StatusREST
	Sync      *SyncREST
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
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, opts Options) (*Storage, error) {
	if opts.SecretCheckTimeout <= 0 {
		opts.SecretCheckTimeout = 10 * time.Second
	}
	if opts.Validation == (validation.Options{}) {
		opts.Validation = validation.DefaultOptions()
	}
	s := NewStrategy(scheme, opts)
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

	syncStore := *store
	syncStore.UpdateStrategy = syncRecordStrategy{s}
	syncStore.ResetFieldsStrategy = nil

	return &Storage{
		ImageSync: &REST{Store: store, secrets: secretAccessChecker{authz: opts.Authorizer, timeout: opts.SecretCheckTimeout}},
		Status:    &StatusREST{store: &statusStore},
		Sync:      &SyncREST{store: &syncStore, policy: s.syncRequests},
	}, nil
}

// Create stores a new ImageSync once the requesting user is known to be
// allowed to get every Secret it references.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	return r.Store.Create(ctx, obj, r.secrets.onCreate(createValidation), options)
}

// Update (PUT, every kind of PATCH, server-side apply) re-checks Secret
// references when they change.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, objInfo, r.secrets.onCreate(createValidation), r.secrets.onUpdate(updateValidation), forceAllowCreate, options)
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
