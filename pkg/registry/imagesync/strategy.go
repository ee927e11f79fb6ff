package imagesync

import (
	"context"
	"fmt"
	"math"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/apiserver/pkg/warning"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
)

// strategy implements create, update and delete of the main resource. Writes
// to it never change status; the status subresource and the server do.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator

	// syncRequests records the sync-now annotation of the CRD operator
	// Portager replaces as a request.
	syncRequests syncRequestPolicy
	// allowCrossNamespaceSecretRefs lets Secret references leave the namespace.
	allowCrossNamespaceSecretRefs bool
	// validation holds the administrator's limits on specs.
	validation validation.Options
}

// statusStrategy implements writes to imagesyncs/status: they change status only.
type statusStrategy struct {
	strategy
}

var (
	_ rest.RESTCreateStrategy  = strategy{}
	_ rest.RESTUpdateStrategy  = strategy{}
	_ rest.RESTDeleteStrategy  = strategy{}
	_ rest.ResetFieldsStrategy = strategy{}
	_ rest.RESTUpdateStrategy  = statusStrategy{}
	_ rest.ResetFieldsStrategy = statusStrategy{}
)

// NewStrategy returns the strategy of the main resource.
func NewStrategy(typer runtime.ObjectTyper, opts Options) strategy {
	return strategy{
		ObjectTyper:                   typer,
		NameGenerator:                 names.SimpleNameGenerator,
		syncRequests:                  defaultSyncRequestPolicy(opts.MinSyncInterval),
		allowCrossNamespaceSecretRefs: opts.AllowCrossNamespaceSecretRefs,
		validation:                    opts.Validation,
	}
}

// NewStatusStrategy returns the strategy of the status subresource.
func NewStatusStrategy(s strategy) statusStrategy {
	return statusStrategy{s}
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields tells server-side apply that status is not owned through the
// main resource.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"portager.portager.io/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

func (strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	is := obj.(*portager.ImageSync)
	is.Status = portager.ImageSyncStatus{}
	is.Generation = 1
	// A new ImageSync syncs at once anyway; the trigger has nothing to add.
	delete(is.Annotations, SyncNowAnnotation)
	stampWriter(ctx, is, nil)
}

func (s strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newIS, oldIS := obj.(*portager.ImageSync), old.(*portager.ImageSync)
	newIS.Status = oldIS.Status
	// The controller syncs immediately when generation moves past
	// status.observedGeneration, so only a real spec change may bump it.
	if specChanged(newIS, oldIS) {
		newIS.Generation = oldIS.Generation + 1
	}
	s.migrateSyncNow(ctx, newIS)
	stampWriter(ctx, newIS, oldIS)
}

// migrateSyncNow turns the sync-now annotation of the CRD operator Portager
// replaces into a recorded sync request, under the same rules as the sync
// subresource, and removes it.
func (s strategy) migrateSyncNow(ctx context.Context, is *portager.ImageSync) {
	v, ok := is.Annotations[SyncNowAnnotation]
	if !ok {
		return
	}
	delete(is.Annotations, SyncNowAnnotation)
	if v != "true" {
		return
	}
	requester := ""
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		requester = u.GetName()
	}
	if _, retryAfter := s.syncRequests.record(&is.Status, requester); retryAfter > 0 {
		warning.AddWarning(ctx, "", fmt.Sprintf("%s: sync not requested: the last request was less than %s ago; retry in %ds",
			SyncNowAnnotation, s.syncRequests.minInterval, int(math.Ceil(retryAfter.Seconds()))))
	}
}

func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	is := obj.(*portager.ImageSync)
	return append(validation.ValidateImageSync(is, s.validation), crossNamespaceErrors(is, s.allowCrossNamespaceSecretRefs)...)
}

func (strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return validation.Warnings(&obj.(*portager.ImageSync).Spec)
}

func (strategy) Canonicalize(obj runtime.Object) {}

func (strategy) AllowCreateOnUpdate(ctx context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(ctx context.Context) bool { return true }

func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	is := obj.(*portager.ImageSync)
	return append(validation.ValidateImageSyncUpdate(is, old.(*portager.ImageSync), s.validation), crossNamespaceErrors(is, s.allowCrossNamespaceSecretRefs)...)
}

// WarningsOnUpdate warns only when the spec changed, so that a label edit does
// not repeat warnings the user has already seen.
func (strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	newIS, oldIS := obj.(*portager.ImageSync), old.(*portager.ImageSync)
	if apiequality.Semantic.DeepEqual(newIS.Spec, oldIS.Spec) {
		return nil
	}
	return validation.Warnings(&newIS.Spec)
}

// GetResetFields tells server-side apply that spec and the metadata the main
// resource owns are not written through status.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"portager.portager.io/v1alpha1": fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"),
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
		),
	}
}

func (statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newIS, oldIS := obj.(*portager.ImageSync), old.(*portager.ImageSync)
	newIS.Spec = oldIS.Spec
	newIS.Labels = oldIS.Labels
	newIS.Annotations = oldIS.Annotations

	// Only the server records sync requests and the checked Secret identity.
	// The controller may clear the pending request only by acknowledging it
	// as handled.
	newIS.Status.SecretAccessIdentity = oldIS.Status.SecretAccessIdentity
	pending := oldIS.Status.PendingSyncRequest
	if pending == nil || newIS.Status.LastHandledSyncRequest == nil || newIS.Status.LastHandledSyncRequest.ID != pending.ID {
		newIS.Status.PendingSyncRequest = pending
	} else {
		newIS.Status.PendingSyncRequest = nil
	}
}

func (statusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateImageSyncStatusUpdate(obj.(*portager.ImageSync), old.(*portager.ImageSync))
}

func (statusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// syncRecordStrategy is used by the sync subresource: it may change nothing but
// status.pendingSyncRequest, so a request can never alter spec, metadata or
// what the controller reported.
type syncRecordStrategy struct {
	strategy
}

func (syncRecordStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newIS, oldIS := obj.(*portager.ImageSync), old.(*portager.ImageSync)
	pending := newIS.Status.PendingSyncRequest
	oldIS.DeepCopyInto(newIS)
	newIS.Status.PendingSyncRequest = pending
}

func (syncRecordStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return nil
}

func (syncRecordStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}
