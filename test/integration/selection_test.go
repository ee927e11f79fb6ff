package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// TestSelectionAndWritePolicies follows one ImageSync through the API
// server, the controller and the engine: include, exclude and maxTags pick
// from the source's tag list, a broken pin and a diverged destination tag
// fail with their reasons and are not written, and on the next run the
// immutable tags already copied cost no manifest request and keep the
// digest recorded when they were copied.
func TestSelectionAndWritePolicies(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	v100 := env.src.push(t, "upstream/app", "1.0.0")
	v110 := env.src.push(t, "upstream/app", "1.1.0")
	env.src.push(t, "upstream/app", "1.1.1-rc1", "0.9.0", "latest")
	pinnedAt := env.src.push(t, "upstream/app", "pinned")
	env.dst.push(t, "mirror/app", "latest")
	theirs := env.dst.digest("mirror/app", "latest")

	is := env.imageSync("policies", "@every 1h", v1alpha1.ImageSpec{
		Name:    "app",
		Tags:    []string{"latest", "pinned@" + v100.String()},
		Include: []string{`1\..*`, `0\..*`},
		Exclude: []string{`.*-rc[0-9]*`},
		MaxTags: 2,
	})
	is.Spec.ImmutableTags = `[0-9]+\.[0-9]+\.[0-9]+`
	is.Spec.Destination.Overwrite = v1alpha1.OverwriteNever
	created, err := c.Create(ctx, is, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.Destination.Overwrite != v1alpha1.OverwriteNever || created.Spec.ImmutableTags == "" || len(created.Spec.Images[0].Include) != 2 {
		t.Fatalf("stored spec lost a field: %+v", created.Spec)
	}

	first := env.waitFor(t, "policies", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	want := map[string]struct{ reason, digest string }{
		"latest": {"DestinationDiverged", ""},
		"pinned": {"DigestMismatch", pinnedAt.String()},
		"1.1.0":  {"Copied", v110.String()},
		"1.0.0":  {"Copied", v100.String()},
	}
	checkReasons(t, "first run", first, want)
	if d := env.dst.digest("mirror/app", "latest"); d != theirs {
		t.Errorf("diverged tag moved to %s", d)
	}
	for _, tag := range []string{"pinned", "1.1.1-rc1", "0.9.0"} {
		if d := env.dst.digest("mirror/app", tag); d != "" {
			t.Errorf("%s reached the destination", tag)
		}
	}

	env.src.Reset()
	env.dst.Reset()
	receipt, err := c.Sync(ctx, "policies", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second := env.waitFor(t, "policies", "on-demand run", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	want["1.1.0"] = struct{ reason, digest string }{"ImmutableTagPresent", v110.String()}
	want["1.0.0"] = struct{ reason, digest string }{"ImmutableTagPresent", v100.String()}
	checkReasons(t, "second run", second, want)
	for _, r := range env.src.Requests() {
		if r.Kind == "manifest" && (strings.HasSuffix(r.Path, "/1.0.0") || strings.HasSuffix(r.Path, "/1.1.0")) {
			t.Errorf("immutable tag read on the second run: %s %s", r.Method, r.Path)
		}
	}
	if n := env.dst.Count(http.MethodPut, "manifest"); n != 0 {
		t.Errorf("second run wrote %d manifests\n%s", n, env.dst.Dump())
	}
}

// checkReasons compares the tag statuses of the first image with want
// (tag → reason and source digest; an empty digest is not compared).
func checkReasons(t *testing.T, when string, is *v1alpha1.ImageSync, want map[string]struct{ reason, digest string }) {
	t.Helper()
	if len(is.Status.Images) != 1 || len(is.Status.Images[0].Tags) != len(want) {
		t.Fatalf("%s: status images %+v, want the tags %v", when, is.Status.Images, want)
	}
	for _, tag := range is.Status.Images[0].Tags {
		w, ok := want[tag.Tag]
		if !ok || tag.Reason != w.reason || (w.digest != "" && tag.SourceDigest != w.digest) {
			t.Errorf("%s: %s: %+v, want %+v", when, tag.Tag, tag, w)
		}
	}
}
