package imagesync

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
)

// strategy implements create, update and delete of the main resource. Writes
// to it never change status; the status subresource and the server do.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
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
func NewStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{typer, names.SimpleNameGenerator}
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
}

func (strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newIS, oldIS := obj.(*portager.ImageSync), old.(*portager.ImageSync)
	newIS.Status = oldIS.Status
	// The controller syncs immediately when generation moves past
	// status.observedGeneration, so only a real spec change may bump it.
	if !apiequality.Semantic.DeepEqual(newIS.Spec, oldIS.Spec) {
		newIS.Generation = oldIS.Generation + 1
	}
}

func (strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateImageSync(obj.(*portager.ImageSync))
}

func (strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return validation.Warnings(&obj.(*portager.ImageSync).Spec)
}

func (strategy) Canonicalize(obj runtime.Object) {}

func (strategy) AllowCreateOnUpdate(ctx context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(ctx context.Context) bool { return true }

func (strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateImageSyncUpdate(obj.(*portager.ImageSync), old.(*portager.ImageSync))
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
