package imagesync

import (
	"context"
	"fmt"
	"math"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager"
)

// SyncREST serves POST imagesyncs/NAME/sync. It records an on-demand sync
// request on the ImageSync and returns a receipt; the controller does the copy.
// RBAC grants it as "create imagesyncs/sync", apart from "update imagesyncs".
type SyncREST struct {
	// store writes only status.pendingSyncRequest (see syncRecordStrategy).
	store  *genericregistry.Store
	policy syncRequestPolicy
}

var (
	_ rest.Storage      = &SyncREST{}
	_ rest.NamedCreater = &SyncREST{}
)

// New returns an empty ImageSyncRequest, the body of a POST.
func (r *SyncREST) New() runtime.Object { return &portager.ImageSyncRequest{} }

// Destroy is a no-op: the main resource's store owns the shared storage.
func (r *SyncREST) Destroy() {}

// Create records the request on the ImageSync called name.
func (r *SyncREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req, ok := obj.(*portager.ImageSyncRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not an ImageSyncRequest: %T", obj))
	}
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(portager.Kind("ImageSyncRequest"), req.Name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), req.Name, fmt.Sprintf("must be empty or equal the ImageSync's name %q", name)),
		})
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	user, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewForbidden(portager.Resource("imagesyncs/sync"), name, fmt.Errorf("no authenticated user in the request"))
	}

	// UpdatedObject runs inside the store's optimistic-concurrency loop: on a
	// resourceVersion conflict it is called again with the fresh object.
	var receipt portager.ImageSyncRequestStatus
	info := rest.DefaultUpdatedObjectInfo(nil, func(ctx context.Context, newObj, oldObj runtime.Object) (runtime.Object, error) {
		is := oldObj.(*portager.ImageSync).DeepCopy()
		if err := checkPreconditions(req.Spec.Preconditions, is); err != nil {
			return nil, err
		}
		var retryAfter time.Duration
		receipt, retryAfter = r.policy.record(&is.Status, user.GetName())
		if retryAfter > 0 {
			seconds := int(math.Ceil(retryAfter.Seconds()))
			return nil, apierrors.NewTooManyRequests(
				fmt.Sprintf("a sync of %s/%s was requested less than %s ago; retry in %ds", is.Namespace, is.Name, r.policy.minInterval, seconds), seconds)
		}
		return is, nil
	})
	if _, _, err := r.store.Update(ctx, name, info, rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false,
		&metav1.UpdateOptions{DryRun: options.DryRun, FieldManager: options.FieldManager}); err != nil {
		return nil, err
	}

	klog.FromContext(ctx).V(2).Info("Sync requested", "imageSync", klog.KRef(genericapirequest.NamespaceValue(ctx), name),
		"result", receipt.Result, "requestID", receipt.RequestID, "user", user.GetName(), "dryRun", len(options.DryRun) > 0)
	out := req.DeepCopy()
	out.Name, out.Namespace = name, genericapirequest.NamespaceValue(ctx)
	out.Status = receipt
	return out, nil
}

func checkPreconditions(pre *metav1.Preconditions, is *portager.ImageSync) error {
	if pre == nil {
		return nil
	}
	if pre.UID != nil && *pre.UID != is.UID {
		return apierrors.NewConflict(portager.Resource("imagesyncs"), is.Name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *pre.UID, is.UID))
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != is.ResourceVersion {
		return apierrors.NewConflict(portager.Resource("imagesyncs"), is.Name,
			fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *pre.ResourceVersion, is.ResourceVersion))
	}
	return nil
}
