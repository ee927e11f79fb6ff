package integration

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/internal/cosigntest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	controller "github.com/portager/portager/pkg/controller/imagesync"
	"github.com/portager/portager/pkg/digestname"
)

// attachCosign pushes what `cosign sign --key` and `cosign attach sbom`
// push in cosign's tag scheme: a simple-signing payload signed with key
// under sha256-<hex>.sig, and an SPDX document under sha256-<hex>.sbom.
// (The gate package's cosign suite checks the same against the real CLI.)
func attachCosign(t *testing.T, r *testRegistry, repo string, d v1.Hash, key *cosigntest.Key) {
	t.Helper()
	payload := cosigntest.SimpleSigningPayload(r.Host+"/"+repo, d.String())
	sig := key.Sign(t, payload)
	pushAttachment(t, r, repo, d, "sig", static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		map[string]string{cosigntest.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)})
	pushAttachment(t, r, repo, d, "sbom", static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3"}`), "text/spdx+json"), nil)
}

// attachKeyless signs d keyless through vs as identity, as `cosign sign`
// does with a Fulcio certificate and a Rekor entry.
func attachKeyless(t *testing.T, r *testRegistry, repo string, d v1.Hash, vs *cosigntest.Sigstore, identity, issuer string) {
	t.Helper()
	payload := cosigntest.SimpleSigningPayload(r.Host+"/"+repo, d.String())
	pushAttachment(t, r, repo, d, "sig", static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		vs.SignatureAnnotations(t, identity, issuer, payload))
}

// pushAttachment pushes a one-layer manifest under cosign's tag for d.
func pushAttachment(t *testing.T, r *testRegistry, repo string, d v1.Hash, suffix string, l v1.Layer, annotations map[string]string) {
	t.Helper()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: l, Annotations: annotations})
	if err != nil {
		t.Fatal(err)
	}
	r.Push(repo+":"+digestname.CosignTag(d, suffix), img)
}

// TestControllerGates checks that the controller copies only images that
// pass spec.validation, marks them verified, and reports the verdict of the
// others in validationError, until they are signed.
func TestControllerGates(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	key := cosigntest.NewKey(t)

	signed := env.src.push(t, "upstream/app", "1.0")
	unsigned := env.src.push(t, "upstream/app", "2.0")
	attachCosign(t, env.src, "upstream/app", signed, key)

	is := env.imageSync("gated", "@every 1h", v1alpha1.ImageSpec{Name: "app", Tags: []string{"1.0", "2.0"}})
	is.Spec.Validation = &v1alpha1.ValidationSpec{
		Cosign:   &v1alpha1.CosignValidation{Enabled: true, PublicKey: key.PublicPEM},
		SBOMGate: &v1alpha1.SBOMGate{Enabled: true},
	}
	if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "gated", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	tags := map[string]v1alpha1.TagStatus{}
	for _, tag := range got.Status.Images[0].Tags {
		tags[tag.Tag] = tag
	}
	if ts := tags["1.0"]; !ts.Synced || !ts.Verified || ts.ValidationError != "" || ts.SourceDigest != signed.String() {
		t.Fatalf("signed tag: %+v", ts)
	}
	ts := tags["2.0"]
	if ts.Synced || ts.Verified || ts.SourceDigest != unsigned.String() || ts.Error != "" ||
		!strings.Contains(ts.ValidationError, "cosign: no signature found") || !strings.Contains(ts.ValidationError, "sbom: no SPDX or CycloneDX SBOM attached") {
		t.Fatalf("unsigned tag: %+v", ts)
	}
	if r := ready(got); r == nil || r.Status != metav1.ConditionFalse || r.Reason != controller.ReasonPartiallyFailed {
		t.Fatalf("Ready = %+v", r)
	}
	if got.Status.SyncedImages != 1 || got.Status.FailedImages != 1 {
		t.Fatalf("counts %d synced, %d failed", got.Status.SyncedImages, got.Status.FailedImages)
	}
	if d := env.dst.digest("mirror/app", "1.0"); d != signed.String() {
		t.Fatalf("signed image at the destination: %q", d)
	}
	if d := env.dst.digest("mirror/app", "2.0"); d != "" {
		t.Fatalf("unsigned image reached the destination: %s", d)
	}
	// The signature travelled with the image, so it verifies there too.
	if d := env.dst.digest("mirror/app", signed.Algorithm+"-"+signed.Hex+".sig"); d == "" {
		t.Fatal("signature not copied")
	}

	// Once the image is signed, the next run (here on request) copies it.
	attachCosign(t, env.src, "upstream/app", unsigned, key)
	receipt, err := c.Sync(ctx, "gated", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "gated", "request handled", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	for _, tag := range got.Status.Images[0].Tags {
		if !tag.Synced || !tag.Verified || tag.ValidationError != "" {
			t.Errorf("after signing: %+v", tag)
		}
	}
	if d := env.dst.digest("mirror/app", "2.0"); d != unsigned.String() {
		t.Fatalf("destination 2.0 = %q after signing", d)
	}
}

// TestControllerKeyless: with keylessIssuer and keylessIdentity the
// controller copies only images signed keyless by that identity, verified
// against its Sigstore trusted root (a virtual Sigstore: the public
// instance cannot be reached from here).
func TestControllerKeyless(t *testing.T) {
	const issuer = "https://token.actions.githubusercontent.com"
	const identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	vs := cosigntest.NewSigstore(t)
	env := newControllerEnv(t)
	env.sigstoreRoot = vs
	env.startController(t)
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	ours := env.src.push(t, "upstream/app", "1.0")
	theirs := env.src.push(t, "upstream/app", "2.0")
	attachKeyless(t, env.src, "upstream/app", ours, vs, identity, issuer)
	attachKeyless(t, env.src, "upstream/app", theirs, vs, "mallory@example.com", issuer)

	is := env.imageSync("keyless", "@every 1h", v1alpha1.ImageSpec{Name: "app", Tags: []string{"1.0", "2.0"}})
	is.Spec.Validation = &v1alpha1.ValidationSpec{
		Cosign: &v1alpha1.CosignValidation{Enabled: true, KeylessIssuer: issuer, KeylessIdentity: identity},
	}
	if _, err := c.Create(context.Background(), is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "keyless", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	tags := map[string]v1alpha1.TagStatus{}
	for _, tag := range got.Status.Images[0].Tags {
		tags[tag.Tag] = tag
	}
	if ts := tags["1.0"]; !ts.Synced || !ts.Verified || env.dst.digest("mirror/app", "1.0") != ours.String() {
		t.Fatalf("tag signed by %s: %+v", identity, ts)
	}
	if ts := tags["2.0"]; ts.Synced || ts.Verified || !strings.Contains(ts.ValidationError, "expected SAN value") || env.dst.digest("mirror/app", "2.0") != "" {
		t.Fatalf("tag signed by someone else: %+v", ts)
	}
}
