package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// TestNamespaceShareOfWorkers: with two workers and a share of one per
// namespace, one of a busy namespace's two ImageSyncs waits for the other,
// and another namespace's ImageSync runs meanwhile and finishes before it.
func TestNamespaceShareOfWorkers(t *testing.T) {
	env := newControllerEnv(t)
	env.namespaceWorkers = 1
	ctx := context.Background()
	const other = "team-b"
	if _, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: other, Labels: map[string]string{corev1.LabelMetadataName: other}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each copies an image of its own, so each waits for its own blobs.
	for _, image := range []string{"first", "second", "tenant-b"} {
		env.src.push(t, "upstream/"+image, "v1")
	}
	env.src.blobDelay.Store(int64(2 * time.Second))
	create := func(namespace, name string) {
		is := env.imageSync(name, "@every 1h", v1alpha1.ImageSpec{Name: name, Tags: []string{"v1"}})
		is.Namespace = namespace
		is.Spec.Destination.RepositoryPrefix = namespace + "/" + name
		if _, err := env.srv.Client.PortagerV1alpha1().ImageSyncs(namespace).Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create(ns, "first")
	create(ns, "second")
	create(other, "tenant-b")
	// Started after the objects exist, the controller sees all three due
	// at once.
	env.startController(t) // two workers
	finished := func(namespace, name string) time.Time {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			is, err := env.srv.Client.PortagerV1alpha1().ImageSyncs(namespace).Get(ctx, name, metav1.GetOptions{})
			if err == nil && is.Status.LastSyncTime != nil && is.Status.SyncedImages == 1 {
				return is.Status.LastSyncTime.Time
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s/%s did not sync", namespace, name)
		return time.Time{}
	}
	// Whichever of the busy namespace's ImageSyncs ran second waited for
	// the first; the other namespace's did not.
	last := finished(ns, "first")
	if second := finished(ns, "second"); second.After(last) {
		last = second
	}
	if tenantB := finished(other, "tenant-b"); !tenantB.Before(last) {
		t.Errorf("the other namespace finished at %v, not before the busy namespace's last ImageSync at %v", tenantB, last)
	}
}
