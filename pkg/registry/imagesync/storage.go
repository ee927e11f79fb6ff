package imagesync

import (
	"context"
	"fmt"
	"net"
	"time"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
	"github.com/portager/portager/pkg/registrypolicy"
)

// Options configure the imagesyncs storage beyond the generic store.
type Options struct {
	// Authorizer answers whether the requesting user may get a referenced
	// Secret or use a cloud identity. In a cluster it is the delegated
	// SubjectAccessReview authorizer.
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
	// Policies gives the RegistryPolicies and namespace labels that decide
	// which registries a spec may use.
	Policies PolicySource
	// Resolver resolves internal host names that a RegistryPolicy CIDR
	// might cover (default: the system resolver).
	Resolver registrypolicy.Resolver
}

// REST is the storage of imagesyncs.
type REST struct {
	*genericregistry.Store
	// checks run on every create and update: the writer's access first,
	// then the RegistryPolicies.
	checks []writeCheck
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
	Writer    *WriterREST
}

var (
	_ rest.StandardStorage    = &REST{}
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
	_ rest.Patcher            = &StatusREST{}
	_ rest.Storage            = &StatusREST{}
	_ rest.Getter             = &WriterREST{}
	_ rest.Storage            = &WriterREST{}
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
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
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
		// Reads show only the writer's username; see redactWriter.
		Decorator: redactWriter,
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

	// The writer subresource is the one read that returns the whole
	// identity.
	writerStore := *store
	writerStore.Decorator = nil

	return &Storage{
		ImageSync: &REST{Store: store, checks: []writeCheck{
			accessChecker{authz: opts.Authorizer, timeout: opts.SecretCheckTimeout}.checkWrite,
			policyChecker{source: opts.Policies, checker: registrypolicy.Checker{Resolver: opts.Resolver}}.checkWrite,
		}},
		Status: &StatusREST{store: &statusStore},
		Sync:   &SyncREST{store: &syncStore, policy: s.syncRequests},
		Writer: &WriterREST{store: &writerStore},
	}, nil
}

// Create stores a new ImageSync once the requesting user is known to be
// allowed everything its spec lends (every Secret it references, and the
// controller's cloud identity if it selects one) and its namespace's
// RegistryPolicies allow its registries.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	return r.Store.Create(ctx, obj, withCreateChecks(createValidation, r.checks...), options)
}

// Update (PUT, every kind of PATCH, server-side apply) authorizes the writer
// of every spec change, whichever field it changes, and checks its
// registries against the RegistryPolicies.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, objInfo, withCreateChecks(createValidation, r.checks...),
		withUpdateChecks(updateValidation, r.checks...), forceAllowCreate, options)
}

// Watch streams changes with the writer's identity redacted. Events may
// carry objects the watch cache shares between watchers, so each redacted
// object is a copy.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	w, err := r.Store.Watch(ctx, options)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		e.Object = redactedCopy(e.Object)
		return e, true
	}), nil
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
