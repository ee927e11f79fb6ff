package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/internal/nettest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

// TestControllerDialPolicy: a source registry that redirects its blobs to
// another service inside the network gets its tags failed as
// BlockedDestination, with no connection to that service, until a
// RegistryPolicy selecting the namespace names the service.
func TestControllerDialPolicy(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	canary := nettest.NewCanary(t)
	env.src.push(t, "upstream/app", "v1")
	to := "http://" + canary.Host
	env.src.blobRedirect.Store(&to)

	tagError := func(is *v1alpha1.ImageSync) string {
		for _, img := range is.Status.Images {
			for _, tag := range img.Tags {
				return tag.Error
			}
		}
		return ""
	}
	if _, err := c.Create(ctx, env.imageSync("refused", "@every 1h", v1alpha1.ImageSpec{Name: "app", Tags: []string{"v1"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "refused", "a refused tag", func(is *v1alpha1.ImageSync) bool { return tagError(is) != "" })
	if msg := tagError(got); !strings.Contains(msg, syncer.ReasonBlockedDestination) || strings.Contains(msg, canary.Port) {
		t.Errorf("tag error = %q, want %s without the address", msg, syncer.ReasonBlockedDestination)
	}
	if n := canary.Accepted(); n != 0 {
		t.Fatalf("canary accepted %d connections", n)
	}
	// Requests are labelled by the spec's registries only; the host the
	// registry redirected to is "other".
	families, err := env.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "portager_registry_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "registry" {
					labels[l.GetValue()] = true
				}
			}
		}
	}
	for l := range labels {
		if l != env.src.Host && l != env.dst.Host && l != "other" {
			t.Errorf("registry label %q is no spec registry", l)
		}
	}
	if !labels["other"] || !labels[env.src.Host] {
		t.Errorf("registry labels = %v, want the source and \"other\"", labels)
	}

	// Named by a policy, the service may be reached: its answer is no
	// blob, which the digest check refuses.
	env.allowRegistries(t, "blob-storage", []string{canary.Host}, nil)
	time.Sleep(time.Second) // the controller's informer sees the policy
	if _, err := c.Create(ctx, env.imageSync("allowed", "@every 1h", v1alpha1.ImageSpec{Name: "app", Tags: []string{"v1"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "allowed", "a failed tag", func(is *v1alpha1.ImageSync) bool { return tagError(is) != "" })
	if msg := tagError(got); !strings.Contains(msg, syncer.ReasonDigestMismatch) {
		t.Errorf("tag error = %q, want %s", msg, syncer.ReasonDigestMismatch)
	}
	if n := canary.Accepted(); n == 0 {
		t.Errorf("canary accepted no connection although a policy names it")
	}
}
