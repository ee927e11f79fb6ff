package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// TestRunTimeout: spec.timeout ends a run whose registry stalls, and says
// so on the tag, long before the registry would have answered.
func TestRunTimeout(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	env.src.push(t, "upstream/slow", "v1")
	env.src.blobDelay.Store(int64(time.Minute))
	is := env.imageSync("bounded", "@every 1h", v1alpha1.ImageSpec{Name: "slow", Tags: []string{"v1"}})
	is.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Second}
	start := time.Now()
	if _, err := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns).Create(context.Background(), is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "bounded", "a timed-out tag", func(is *v1alpha1.ImageSync) bool {
		return len(is.Status.Images) == 1 && len(is.Status.Images[0].Tags) == 1 && is.Status.Images[0].Tags[0].Error != ""
	})
	if msg := got.Status.Images[0].Tags[0].Error; !strings.Contains(msg, "spec.timeout (2s)") {
		t.Errorf("tag error = %q, want it to name spec.timeout", msg)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the run took %v with a 2s timeout", d)
	}
	if got.Spec.Timeout == nil || got.Spec.Timeout.Duration != 2*time.Second {
		t.Errorf("spec.timeout = %v after a round trip", got.Spec.Timeout)
	}
}
