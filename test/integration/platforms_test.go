package integration

import (
	"context"
	"net/http"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	controller "github.com/portager/portager/pkg/controller/imagesync"
)

// TestControllerPlatforms runs spec.platforms through the API server and
// the controller: status records the source index and the filtered index
// written, and an on-demand re-run, handed that record by the controller,
// finds the tag up to date in two registry requests without a write.
func TestControllerPlatforms(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var children []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	env.src.Push("upstream/app:1", idx)
	srcDigest, _ := idx.Digest()
	arm64, _ := children[1].Digest()

	is := env.imageSync("platforms", "@every 6h", v1alpha1.ImageSpec{Name: "app", Tags: []string{"1"}})
	is.Spec.Platforms = []string{"linux/arm64"}
	if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "platforms", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonSynced {
		t.Fatalf("Ready = %+v", r)
	}
	tag := got.Status.Images[0].Tags[0]
	if tag.SourceDigest != srcDigest.String() || tag.DestinationDigest == "" || tag.DestinationDigest == tag.SourceDigest ||
		len(tag.Platforms) != 1 || tag.Platforms[0] != "linux/arm64" {
		t.Fatalf("tag status = %+v, want the source index, the filtered index written and linux/arm64", tag)
	}
	if d := env.dst.digest("mirror/app", "1"); d != tag.DestinationDigest {
		t.Fatalf("destination tag at %s, want %s", d, tag.DestinationDigest)
	}
	if env.dst.DigestOf("mirror/app@"+arm64.String()) != arm64.String() {
		t.Fatalf("the arm64 image is missing at the destination")
	}

	srcBefore, dstBefore := len(env.src.Requests()), len(env.dst.Requests())
	receipt, err := c.Sync(ctx, "platforms", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "platforms", "re-run", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	again := got.Status.Images[0].Tags[0]
	if again.Reason != "UpToDate" || again.DestinationDigest != tag.DestinationDigest {
		t.Fatalf("re-run tag status = %+v, want UpToDate at %s", again, tag.DestinationDigest)
	}
	// Each run of an unchanged tag is one HEAD on each side: no index is
	// read and nothing is written. (The controller may start a scheduled
	// run besides the requested one; each costs the same.)
	rerun := append(env.src.Requests()[srcBefore:], env.dst.Requests()[dstBefore:]...)
	heads := 0
	for _, r := range rerun {
		if r.Method != http.MethodHead || r.Kind != "manifest" {
			t.Fatalf("re-run made %s %s, want only manifest HEADs: %+v", r.Method, r.Path, rerun)
		}
		heads++
	}
	if heads == 0 || heads%2 != 0 || len(env.src.Requests())-srcBefore != heads/2 {
		t.Fatalf("re-run requests = %+v, want one HEAD on each side per run", rerun)
	}
	if n := env.dst.manifestPuts.Load(); n != 1 {
		t.Fatalf("tag writes = %d, want only the first run's", n)
	}
}
