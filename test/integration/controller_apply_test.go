package integration

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	controller "github.com/portager/portager/pkg/controller/imagesync"
)

// TestControllerAppliesStatus: the controller writes status with server-side
// apply under its own field manager; the identity the server recorded and
// the server's handling of sync requests survive its writes; and a
// nextSyncTime another field manager wrote (as the controller's merge
// patches did before it used apply) is still cleared on suspend.
func TestControllerAppliesStatus(t *testing.T) {
	env := newControllerEnv(t)
	stop := env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	created := env.createWithSecret(t, "applied", "@every 1h")
	if created.Status.SecretAccessIdentity == nil {
		t.Fatal("the server recorded no writer identity")
	}
	got := env.waitFor(t, "applied", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %+v", r)
	}
	if !hasManager(got.ManagedFields, controller.FieldManager, metav1.ManagedFieldsOperationApply, "status") {
		t.Fatalf("managedFields = %+v, want an Apply entry by %s on status", got.ManagedFields, controller.FieldManager)
	}
	for _, e := range got.ManagedFields {
		if e.Subresource == "status" && e.Operation != metav1.ManagedFieldsOperationApply {
			t.Fatalf("status written other than by apply: %+v", e)
		}
	}

	receipt, err := c.Sync(ctx, "applied", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "applied", "request handled", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	if got.Status.PendingSyncRequest != nil {
		t.Fatalf("pending after handling: %+v", got.Status.PendingSyncRequest)
	}
	if id := got.Status.SecretAccessIdentity; id == nil || id.Username != created.Status.SecretAccessIdentity.Username {
		t.Fatalf("secretAccessIdentity = %+v after the controller's writes, want %+v", id, created.Status.SecretAccessIdentity)
	}

	// With the controller stopped, a merge patch by another field manager
	// takes nextSyncTime, and the spec is suspended.
	stop()
	later := metav1.NewTime(time.Now().Add(24 * time.Hour)).UTC().Format(time.RFC3339)
	if _, err := c.Patch(ctx, "applied", types.MergePatchType, []byte(`{"status":{"nextSyncTime":"`+later+`"}}`),
		metav1.PatchOptions{FieldManager: "earlier-controller"}, "status"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, "applied", types.MergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	env.startController(t)
	got = env.waitFor(t, "applied", "suspended", func(is *v1alpha1.ImageSync) bool {
		r := ready(is)
		return r != nil && r.Reason == controller.ReasonSuspended && is.Status.NextSyncTime == nil
	})
	if h := got.Status.LastHandledSyncRequest; h == nil || h.ID != receipt.Status.RequestID {
		t.Fatalf("lastHandledSyncRequest = %+v after suspend, want %s kept", h, receipt.Status.RequestID)
	}
}
