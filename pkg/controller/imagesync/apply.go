package imagesync

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metav1apply "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	v1alpha1apply "github.com/portager/portager/pkg/generated/applyconfiguration/portager/v1alpha1"
)

// FieldManager is the field manager the controller applies ImageSync status
// under.
const FieldManager = "portager-controller"

// clearNextSyncTime is the merge patch that removes status.nextSyncTime.
const clearNextSyncTime = `{"status":{"nextSyncTime":null}}`

// applyStatus writes the status the controller owns with server-side apply
// on the status subresource, forcing ownership of every field it sends.
//
// Server-side apply removes a field that this manager applied before and
// omits now, and conditions are a map list keyed by type, so each apply
// carries the complete status the controller owns: the server's current
// status (read here rather than from the informer cache, which may be stale)
// with change made to it. A field one write sets is thus sent again by every
// later write until a change removes it, and every condition already set
// is sent with the one that changes. The apply carries no resourceVersion:
// only the controller writes these fields, one write at a time per object.
//
// The fields only the server records, status.pendingSyncRequest and
// status.secretAccessIdentity, are never sent (see ownedStatus), so this
// manager never owns them and no apply can remove them. The server's status
// strategy also keeps both whatever a status write says, and clears the
// pending request itself once status.lastHandledSyncRequest acknowledges it.
//
// Nothing is written when the change leaves the status as it is.
func (c *Controller) applyStatus(ctx context.Context, is *v1alpha1.ImageSync, change func(st *v1alpha1.ImageSyncStatus)) error {
	client := c.cfg.Client.PortagerV1alpha1().ImageSyncs(is.Namespace)
	current, err := client.Get(ctx, is.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading status: %w", err)
	}
	before := ownedStatus(&current.Status)
	st := ownedStatus(&current.Status)
	change(&st)
	if apiequality.Semantic.DeepEqual(st, before) {
		return nil
	}
	cfg := v1alpha1apply.ImageSync(is.Name, is.Namespace).WithStatus(statusApplyConfiguration(&st))
	applied, err := client.ApplyStatus(ctx, cfg, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	// An omitted field stays while another field manager owns it: any
	// client that wrote status with an update or patch rather than apply,
	// or "before-first-apply" on an object whose status predates managed
	// fields. The controller clears nextSyncTime (suspended, or a schedule
	// that cannot run) and relies on it being gone, so a merge patch removes
	// it whoever owns it.
	if st.NextSyncTime == nil && applied.Status.NextSyncTime != nil {
		if _, err := client.Patch(ctx, is.Name, types.MergePatchType, []byte(clearNextSyncTime),
			metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
			return fmt.Errorf("clearing status.nextSyncTime: %w", err)
		}
	}
	return nil
}

// ownedStatus is a copy of st without the fields only the server records.
func ownedStatus(st *v1alpha1.ImageSyncStatus) v1alpha1.ImageSyncStatus {
	out := *st.DeepCopy()
	out.PendingSyncRequest = nil
	out.SecretAccessIdentity = nil
	return out
}

// statusApplyConfiguration is the apply configuration of st. Within
// status, the conditions and lastHandledSyncRequest, a field is sent even
// when it is zero: these are merged field by field, and an omitted field
// would keep whatever another manager wrote where zero is meant.
// status.images is an atomic list, replaced whole, so its empty fields are
// left out as the typed status leaves them out. It sends neither
// pendingSyncRequest nor secretAccessIdentity: ownedStatus removes them
// before st gets here, and they are not copied either.
func statusApplyConfiguration(st *v1alpha1.ImageSyncStatus) *v1alpha1apply.ImageSyncStatusApplyConfiguration {
	out := v1alpha1apply.ImageSyncStatus()
	for _, c := range st.Conditions {
		out.WithConditions(metav1apply.Condition().WithType(c.Type).WithStatus(c.Status).WithObservedGeneration(c.ObservedGeneration).
			WithLastTransitionTime(c.LastTransitionTime).WithReason(c.Reason).WithMessage(c.Message))
	}
	out.WithObservedGeneration(st.ObservedGeneration).
		WithTotalImages(st.TotalImages).WithSyncedImages(st.SyncedImages).WithFailedImages(st.FailedImages)
	if st.LastSyncTime != nil {
		out.WithLastSyncTime(*st.LastSyncTime)
	}
	if st.NextSyncTime != nil {
		out.WithNextSyncTime(*st.NextSyncTime)
	}
	for _, img := range st.Images {
		image := v1alpha1apply.ImageStatus().WithName(img.Name)
		for _, t := range img.Tags {
			image.WithTags(tagApplyConfiguration(&t))
		}
		out.WithImages(image)
	}
	if h := st.LastHandledSyncRequest; h != nil {
		out.WithLastHandledSyncRequest(v1alpha1apply.SyncRequestRecord().WithID(h.ID).WithRequestedAt(h.RequestedAt).WithRequester(h.Requester))
	}
	return out
}

func tagApplyConfiguration(t *v1alpha1.TagStatus) *v1alpha1apply.TagStatusApplyConfiguration {
	out := v1alpha1apply.TagStatus().WithTag(t.Tag).WithSynced(t.Synced)
	if t.Reason != "" {
		out.WithReason(t.Reason)
	}
	if t.SourceDigest != "" {
		out.WithSourceDigest(t.SourceDigest)
	}
	if t.DestinationDigest != "" {
		out.WithDestinationDigest(t.DestinationDigest)
	}
	if len(t.Platforms) > 0 {
		out.WithPlatforms(t.Platforms...)
	}
	if t.LastSyncTime != nil {
		out.WithLastSyncTime(*t.LastSyncTime)
	}
	if t.Error != "" {
		out.WithError(t.Error)
	}
	if t.Verified {
		out.WithVerified(true)
	}
	if t.ValidationError != "" {
		out.WithValidationError(t.ValidationError)
	}
	return out
}

// setCondition sets c in conds with meta.SetStatusCondition, which keeps the
// last transition time while the condition's status stays the same. The
// message is cut to the length the API allows.
func setCondition(conds *[]metav1.Condition, c metav1.Condition) {
	c.Message = truncate(c.Message, 1024)
	meta.SetStatusCondition(conds, c)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
