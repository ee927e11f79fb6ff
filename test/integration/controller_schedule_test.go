package integration

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	controller "github.com/portager/portager/pkg/controller/imagesync"
)

// TestStoredUnrunnableSchedules writes schedules the API refuses straight
// into etcd, as an object stored before the API refused them would be. The
// controller must neither crash nor sync back to back: it reports
// InvalidSpec once and makes no request to either registry.
func TestStoredUnrunnableSchedules(t *testing.T) {
	env := newControllerEnv(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.src.push(t, "upstream/alpine", "3.21")

	cases := map[string]string{"panics": "TZ=UTC", "never-fires": "0 0 30 2 *"}
	for name, schedule := range cases {
		is := env.imageSync(name, "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
		is.Spec.Suspend = true
		if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rewriteStored(t, env.etcd, name, `"schedule":"@every 1h"`, `"schedule":"`+schedule+`"`)
		rewriteStored(t, env.etcd, name, `"suspend":true,`, ``)
	}
	before := env.src.requests() + env.dst.requests()
	env.startController(t)
	for name, schedule := range cases {
		got := env.waitFor(t, name, "InvalidSpec", func(is *v1alpha1.ImageSync) bool {
			r := ready(is)
			return r != nil && r.Reason == controller.ReasonInvalidSpec
		})
		if got.Spec.Schedule != schedule || got.Spec.Suspend {
			t.Fatalf("%s: the stored spec was not rewritten: %+v", name, got.Spec)
		}
	}
	time.Sleep(2 * time.Second)
	if n := env.src.requests() + env.dst.requests() - before; n != 0 {
		t.Fatalf("registries got %d requests for unrunnable schedules, want 0", n)
	}
	if runs := countPrefix(env.drainEvents(), "Normal SyncComplete"); runs != 0 {
		t.Fatalf("runs = %d, want 0", runs)
	}
}

// TestSpecEditsAreRateLimited checks that a spec change soon after a run
// waits for the controller's minimum interval instead of starting a run for
// every edit.
func TestSpecEditsAreRateLimited(t *testing.T) {
	env := newControllerEnv(t)
	env.minSyncInterval = time.Hour
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.src.push(t, "upstream/alpine", "3.21", "3.20")

	if _, err := c.Create(ctx, env.imageSync("edited", "@every 24h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := env.waitFor(t, "edited", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	env.drainEvents()
	requests := env.src.requests() + env.dst.requests()

	for i, tags := range []string{`["3.20"]`, `["3.21","3.20"]`, `["3.20"]`} {
		patch := `{"spec":{"images":[{"name":"alpine","tags":` + tags + `}]}}`
		if _, err := c.Patch(ctx, "edited", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	want := first.Status.LastSyncTime.Add(time.Hour)
	got := env.waitFor(t, "edited", "next run held back", func(is *v1alpha1.ImageSync) bool {
		return is.Status.NextSyncTime != nil && is.Status.NextSyncTime.Time.Equal(want)
	})
	time.Sleep(2 * time.Second)
	if runs := countPrefix(env.drainEvents(), "Normal SyncComplete"); runs != 0 {
		t.Fatalf("runs after three edits = %d, want 0 until %s", runs, want)
	}
	if n := env.src.requests() + env.dst.requests() - requests; n != 0 {
		t.Fatalf("registry requests after three edits = %d, want 0", n)
	}
	if got.Status.ObservedGeneration != 1 || got.Generation != 4 {
		t.Fatalf("generation %d observed %d, want 4 observed 1", got.Generation, got.Status.ObservedGeneration)
	}
	if d := env.dst.digest("mirror/alpine", "3.20"); d != "" {
		t.Fatalf("3.20 was copied (%s) before the interval passed", d)
	}
}

// rewriteStored replaces old with new in the stored bytes of the ImageSync
// called name, behind the API server's back.
func rewriteStored(t *testing.T, etcd *clientv3.Client, name, old, new string) {
	t.Helper()
	ctx := context.Background()
	resp, err := etcd.Get(ctx, "/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if bytes.HasSuffix(kv.Key, []byte("/imagesyncs/"+ns+"/"+name)) {
			if !bytes.Contains(kv.Value, []byte(old)) {
				t.Fatalf("stored %s lacks %s: %s", kv.Key, old, kv.Value)
			}
			if _, err := etcd.Put(ctx, string(kv.Key), string(bytes.Replace(kv.Value, []byte(old), []byte(new), 1))); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("ImageSync %s not found in etcd", name)
}

// TestTightenedPolicyStopsTheNextRun checks that the controller applies the
// RegistryPolicies as they are at each run: once the policy that allowed the
// source is gone, the next run stops with RegistryNotAllowed before any
// Secret check or registry request.
func TestTightenedPolicyStopsTheNextRun(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.createWithSecret(t, "tightened", "@every 6h")
	first := env.waitFor(t, "tightened", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(first); r == nil || r.Reason != controller.ReasonSynced {
		t.Fatalf("first run: Ready = %+v", r)
	}

	if err := env.srv.Client.PortagerV1alpha1().RegistryPolicies().Delete(ctx, "loopback-registries", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.allowRegistries(t, "destination-only", nil, []string{env.dst.Host})
	// The controller's informer sees the change before the next run.
	time.Sleep(time.Second)
	requests := env.src.requests() + env.dst.requests()
	env.mu.Lock()
	reviews, secretReads := env.reviews, env.secretGet
	env.mu.Unlock()
	if secretReads != 1 {
		t.Fatalf("Secret reads in the first run = %d, want 1", secretReads)
	}

	receipt, err := c.Sync(ctx, "tightened", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "tightened", "refused run", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	r := ready(got)
	if r == nil || r.Reason != controller.ReasonRegistryNotAllowed || !strings.Contains(r.Message, "spec.source.registry") {
		t.Fatalf("Ready = %+v, want RegistryNotAllowed naming spec.source.registry", r)
	}
	if n := env.src.requests() + env.dst.requests() - requests; n != 0 {
		t.Fatalf("registry requests in the refused run = %d, want 0", n)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.reviews != reviews {
		t.Fatalf("the refused run made %d access reviews, want 0", env.reviews-reviews)
	}
	if env.secretGet != secretReads {
		t.Fatalf("the refused run read the Secret %d times, want 0", env.secretGet-secretReads)
	}
}
