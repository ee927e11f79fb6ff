package integration

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cmd/server"
	applyv1alpha1 "github.com/portager/portager/pkg/generated/applyconfiguration/portager/v1alpha1"
)

func withSourceSecret(name string) func(*v1alpha1.ImageSync) {
	return func(is *v1alpha1.ImageSync) {
		is.Spec.Source.AuthSecretRef = &v1alpha1.SecretReference{Name: name}
	}
}

func withDestinationSecret(name, namespace string) func(*v1alpha1.ImageSync) {
	return func(is *v1alpha1.ImageSync) {
		is.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodSecret,
			SecretRef: &v1alpha1.SecretReference{Name: name, Namespace: namespace}}
	}
}

// TestSecretReferencesAreAuthorizedAsTheUser checks that writing an ImageSync
// that references a Secret needs "get" on that Secret, asked of the real
// delegated authorizer with a SubjectAccessReview for the requesting user.
func TestSecretReferencesAreAuthorizedAsTheUser(t *testing.T) {
	stub := newAuthStub(t)
	stub.allowSecret("alice", "default/pull-creds")
	stub.allowSecret("alice", "default/push-creds")
	stub.allowSecret("carol", "default/other-push")
	stub.allowSecret("carol", "default/pull-creds")
	stub.fail["default/flaky"] = true
	stub.slow["default/slow"] = 5 * time.Second
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t), auth: stub, customize: func(o *server.Options) {
		o.SecretCheckTimeout = time.Second
	}})
	ctx := context.Background()
	alice := srv.As(t, "alice").PortagerV1alpha1().ImageSyncs(ns)
	bob := srv.As(t, "bob").PortagerV1alpha1().ImageSyncs(ns)
	carol := srv.As(t, "carol").PortagerV1alpha1().ImageSyncs(ns)

	var created *v1alpha1.ImageSync
	t.Run("alice may reference her Secrets", func(t *testing.T) {
		stub.secretReviews()
		is, err := alice.Create(ctx, imagesynctest.New(ns, "alice-sync", withSourceSecret("pull-creds"), withDestinationSecret("push-creds", "")), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := stub.secretReviews()
		want := []review{
			{User: "alice", Verb: "get", Namespace: "default", Resource: "secrets", Name: "pull-creds"},
			{User: "alice", Verb: "get", Namespace: "default", Resource: "secrets", Name: "push-creds"},
		}
		if !sameReviews(got, want) {
			t.Fatalf("secret reviews = %+v, want %+v", got, want)
		}
		if id := is.Status.SecretAccessIdentity; id == nil || id.Username != "alice" {
			t.Fatalf("stamped identity = %+v, want alice", id)
		}
		created = is
	})

	t.Run("bob may not, and nothing is stored", func(t *testing.T) {
		_, err := bob.Create(ctx, imagesynctest.New(ns, "bob-sync", withSourceSecret("pull-creds")), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "spec.source.authSecretRef") {
			t.Fatalf("bob create: %v, want 403 naming spec.source.authSecretRef", err)
		}
		if _, err := alice.Get(ctx, "bob-sync", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("refused object was stored: %v", err)
		}
		if got := stub.secretReviews(); len(got) != 1 || got[0].User != "bob" || got[0].Name != "pull-creds" {
			t.Fatalf("reviews = %+v, want one for bob on pull-creds", got)
		}
	})

	t.Run("no existence oracle", func(t *testing.T) {
		_, errExisting := bob.Create(ctx, imagesynctest.New(ns, "probe", withSourceSecret("pull-creds")), metav1.CreateOptions{})
		_, errMissing := bob.Create(ctx, imagesynctest.New(ns, "probe", withSourceSecret("no-such-secret")), metav1.CreateOptions{})
		a := strings.ReplaceAll(errExisting.Error(), "pull-creds", "X")
		b := strings.ReplaceAll(errMissing.Error(), "no-such-secret", "X")
		if a != b || apierrors.ReasonForError(errExisting) != apierrors.ReasonForError(errMissing) {
			t.Fatalf("refusals differ:\n%s\n%s", errExisting, errMissing)
		}
	})

	t.Run("another user's update that changes a reference is reviewed", func(t *testing.T) {
		// PUT
		is := created.DeepCopy()
		is.Spec.Destination.Auth.SecretRef.Name = "other-push"
		// Every reference is checked for the writer, who becomes the identity
		// the controller acts for; each refusal names its field.
		_, err := bob.Update(ctx, is, metav1.UpdateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "spec.source.authSecretRef: user \"bob\" may not get Secret \"default/pull-creds\"") ||
			!strings.Contains(err.Error(), "spec.destination.auth.secretRef: user \"bob\" may not get Secret \"default/other-push\"") {
			t.Fatalf("bob PUT: %v, want 403 naming both references", err)
		}
		// merge patch
		patch := []byte(`{"spec":{"source":{"authSecretRef":{"name":"other-pull"}}}}`)
		if _, err := bob.Patch(ctx, "alice-sync", types.MergePatchType, patch, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("bob merge patch: %v, want 403", err)
		}
		// JSON patch
		jsonPatch := []byte(`[{"op":"replace","path":"/spec/source/authSecretRef/name","value":"other-pull"}]`)
		if _, err := bob.Patch(ctx, "alice-sync", types.JSONPatchType, jsonPatch, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("bob JSON patch: %v, want 403", err)
		}
		// server-side apply
		apply := applyv1alpha1.ImageSync("alice-sync", ns).WithSpec(applyv1alpha1.ImageSyncSpec().
			WithSource(applyv1alpha1.SourceRegistry().WithRegistry("docker.io/library").
				WithAuthSecretRef(applyv1alpha1.SecretReference().WithName("other-pull"))))
		if _, err := bob.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "bob", Force: true}); !apierrors.IsForbidden(err) {
			t.Fatalf("bob apply: %v, want 403", err)
		}
		got, err := alice.Get(ctx, "alice-sync", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Source.AuthSecretRef.Name != "pull-creds" || got.Spec.Destination.Auth.SecretRef.Name != "push-creds" || got.Status.SecretAccessIdentity.Username != "alice" {
			t.Fatalf("refused updates changed the object: %+v %+v", got.Spec, got.Status.SecretAccessIdentity)
		}
		stub.secretReviews()

		// carol may get other-push: her merge patch lands and she is stamped.
		patched, err := carol.Patch(ctx, "alice-sync", types.MergePatchType,
			[]byte(`{"spec":{"destination":{"auth":{"secretRef":{"name":"other-push"}}}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if patched.Status.SecretAccessIdentity.Username != "carol" {
			t.Fatalf("identity after carol's change = %+v", patched.Status.SecretAccessIdentity)
		}
		// Every reference of the new spec is checked for the writer.
		want := []review{
			{User: "carol", Verb: "get", Namespace: "default", Resource: "secrets", Name: "pull-creds"},
			{User: "carol", Verb: "get", Namespace: "default", Resource: "secrets", Name: "other-push"},
		}
		if got := stub.secretReviews(); !sameReviews(got, want) {
			t.Fatalf("reviews = %+v, want %+v", got, want)
		}
	})

	t.Run("any spec change is authorized as its writer", func(t *testing.T) {
		before, err := alice.Get(ctx, "alice-sync", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stub.secretReviews()
		// bob changes no reference, only what is synced and where: each
		// verb is refused, because the controller would push with the
		// Secrets of the user who wrote the spec.
		put := before.DeepCopy()
		put.Spec.Destination.Registry = "attacker.example.com"
		_, errPut := bob.Update(ctx, put, metav1.UpdateOptions{})
		_, errMerge := bob.Patch(ctx, "alice-sync", types.MergePatchType, []byte(`{"spec":{"schedule":"@every 2h"}}`), metav1.PatchOptions{})
		_, errJSON := bob.Patch(ctx, "alice-sync", types.JSONPatchType,
			[]byte(`[{"op":"replace","path":"/spec/images","value":[{"name":"secret-app","tags":["latest"]}]}]`), metav1.PatchOptions{})
		apply := applyv1alpha1.ImageSync("alice-sync", ns).WithSpec(applyv1alpha1.ImageSyncSpec().
			WithDestination(applyv1alpha1.DestinationRegistry().WithRepositoryPrefix("stolen")))
		_, errApply := bob.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "bob", Force: true})
		for verb, err := range map[string]error{"PUT": errPut, "merge patch": errMerge, "JSON patch": errJSON, "apply": errApply} {
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `user "bob" may not get Secret "default/pull-creds"`) {
				t.Errorf("bob %s: %v, want 403 naming the Secret he may not get", verb, err)
			}
		}
		after, err := alice.Get(ctx, "alice-sync", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after.Spec, before.Spec) || after.Generation != before.Generation || after.Status.SecretAccessIdentity.Username != before.Status.SecretAccessIdentity.Username {
			t.Fatalf("refused updates changed the object:\n%+v\n%+v", before.Spec, after.Spec)
		}
		for _, r := range stub.secretReviews() {
			if r.User != "bob" {
				t.Errorf("review for %q, want only bob's", r.User)
			}
		}

		// carol may get both Secrets: her schedule change lands and makes
		// her the writer, after a review of every reference.
		patched, err := carol.Patch(ctx, "alice-sync", types.MergePatchType, []byte(`{"spec":{"schedule":"@every 3h"}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if patched.Status.SecretAccessIdentity.Username != "carol" {
			t.Fatalf("writer after carol's change = %+v", patched.Status.SecretAccessIdentity)
		}
		if got := stub.secretReviews(); len(got) != 2 {
			t.Fatalf("reviews = %+v, want one per reference", got)
		}
	})

	t.Run("a label-only update needs no review", func(t *testing.T) {
		is, err := alice.Get(ctx, "alice-sync", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stub.secretReviews()
		got, err := bob.Patch(ctx, "alice-sync", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"platform"}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("bob label patch: %v", err)
		}
		if reviews := stub.secretReviews(); len(reviews) != 0 {
			t.Fatalf("label update made reviews: %+v", reviews)
		}
		if got.Status.SecretAccessIdentity.Username != is.Status.SecretAccessIdentity.Username || got.Generation != is.Generation {
			t.Fatalf("writer or generation moved on a label update: %+v, %d", got.Status.SecretAccessIdentity, got.Generation)
		}
	})

	t.Run("fail closed", func(t *testing.T) {
		stub.allowSecret("alice", "default/flaky")
		stub.allowSecret("alice", "default/slow")
		for _, name := range []string{"flaky", "slow"} {
			start := time.Now()
			_, err := alice.Create(ctx, imagesynctest.New(ns, "fc-"+name, withSourceSecret(name)), metav1.CreateOptions{})
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "could not verify") {
				t.Fatalf("%s: %v, want 403 could not verify", name, err)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("%s: refusal took %s, want about the 1s check timeout", name, d)
			}
			if _, err := alice.Get(ctx, "fc-"+name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("%s: stored after a failed check: %v", name, err)
			}
		}
	})

	t.Run("cross-namespace references are refused by default", func(t *testing.T) {
		stub.allowSecret("alice", "shared/registry-creds")
		_, err := alice.Create(ctx, imagesynctest.New(ns, "xns", withDestinationSecret("registry-creds", "shared")), metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !causeFields(err)["spec.destination.auth.secretRef.namespace"] ||
			!strings.Contains(err.Error(), "--allow-cross-namespace-secret-refs") {
			t.Fatalf("cross-namespace create: %v, want Invalid at spec.destination.auth.secretRef.namespace", err)
		}
	})
}

// TestCrossNamespaceReferencesWithFlag checks that the administrator's flag
// allows references into other namespaces, still reviewed as the user.
func TestCrossNamespaceReferencesWithFlag(t *testing.T) {
	stub := newAuthStub(t)
	stub.allowSecret("alice", "shared/registry-creds")
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t), auth: stub, customize: func(o *server.Options) {
		o.AllowCrossNamespaceSecretRefs = true
	}})
	ctx := context.Background()
	stub.secretReviews()
	if _, err := srv.As(t, "alice").PortagerV1alpha1().ImageSyncs(ns).Create(ctx,
		imagesynctest.New(ns, "xns", withDestinationSecret("registry-creds", "shared")), metav1.CreateOptions{}); err != nil {
		t.Fatalf("alice cross-namespace create with the flag: %v", err)
	}
	if got := stub.secretReviews(); len(got) != 1 || got[0].Namespace != "shared" || got[0].User != "alice" {
		t.Fatalf("reviews = %+v, want alice on shared/registry-creds", got)
	}
	_, err := srv.As(t, "bob").PortagerV1alpha1().ImageSyncs(ns).Create(ctx,
		imagesynctest.New(ns, "xns-bob", withDestinationSecret("registry-creds", "shared")), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("bob cross-namespace create with the flag: %v, want 403", err)
	}
}

// TestSyncSubresource checks the imagesyncs/sync receipts, coalescing, rate
// limit, errors, dry-run and the sync-now annotation migration.
func TestSyncSubresource(t *testing.T) {
	stub := newAuthStub(t)
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t), auth: stub, customize: func(o *server.Options) {
		o.MinSyncInterval = time.Hour
	}})
	ctx := context.Background()
	admin := srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	ci := srv.As(t, "ci").PortagerV1alpha1().ImageSyncs(ns)
	is, err := admin.Create(ctx, imagesynctest.New(ns, "target"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var firstID string
	t.Run("accepted with the requester from the context", func(t *testing.T) {
		// A client cannot claim to be someone else.
		req := &v1alpha1.ImageSyncRequest{Status: v1alpha1.ImageSyncRequestStatus{Requester: "mallory", RequestID: "forged"}}
		receipt, err := ci.Sync(ctx, "target", req, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if receipt.Status.Result != v1alpha1.SyncRequestAccepted || receipt.Status.RequestID == "" || receipt.Status.RequestID == "forged" ||
			receipt.Status.Requester != "ci" || receipt.Name != "target" {
			t.Fatalf("receipt = %+v", receipt)
		}
		firstID = receipt.Status.RequestID
		got, _ := admin.Get(ctx, "target", metav1.GetOptions{})
		p := got.Status.PendingSyncRequest
		if p == nil || p.ID != firstID || p.Requester != "ci" || got.Generation != is.Generation {
			t.Fatalf("recorded = %+v (generation %d)", p, got.Generation)
		}
	})

	t.Run("coalesced into the pending request", func(t *testing.T) {
		receipt, err := admin.Sync(ctx, "target", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if receipt.Status.Result != v1alpha1.SyncRequestCoalesced || receipt.Status.RequestID != firstID || receipt.Status.Requester != "ci" {
			t.Fatalf("receipt = %+v, want Coalesced into %s", receipt.Status, firstID)
		}
	})

	t.Run("429 with Retry-After inside the minimum interval", func(t *testing.T) {
		// The controller acknowledges the request as handled.
		got, _ := admin.Get(ctx, "target", metav1.GetOptions{})
		got.Status.LastHandledSyncRequest = got.Status.PendingSyncRequest
		got.Status.PendingSyncRequest = nil
		got, err := admin.UpdateStatus(ctx, got, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.PendingSyncRequest != nil || got.Status.LastHandledSyncRequest.ID != firstID {
			t.Fatalf("acknowledge: %+v", got.Status)
		}
		// Raw, because client-go itself waits out a 429's Retry-After.
		resp, body := rawSync(t, srv.ConfigAs(t, "ci"), "target", `{}`)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status = %d, want 429: %s", resp.StatusCode, body)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 3500 || ra > 3600 {
			t.Fatalf("Retry-After = %q, want about an hour", resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, "retry in") {
			t.Fatalf("body = %s", body)
		}
		got, _ = admin.Get(ctx, "target", metav1.GetOptions{})
		if got.Status.PendingSyncRequest != nil {
			t.Fatalf("a refused request was recorded: %+v", got.Status.PendingSyncRequest)
		}
	})

	t.Run("404 and 409", func(t *testing.T) {
		if _, err := ci.Sync(ctx, "missing", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("missing: %v, want 404", err)
		}
		wrong := types.UID("not-the-uid")
		req := &v1alpha1.ImageSyncRequest{Spec: v1alpha1.ImageSyncRequestSpec{Preconditions: &metav1.Preconditions{UID: &wrong}}}
		if _, err := ci.Sync(ctx, "target", req, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("UID mismatch: %v, want 409", err)
		}
		other := &v1alpha1.ImageSyncRequest{ObjectMeta: metav1.ObjectMeta{Name: "someone-else"}}
		if _, err := ci.Sync(ctx, "target", other, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
			t.Fatalf("name mismatch: %v, want 422", err)
		}
	})

	t.Run("dry-run validates and records nothing", func(t *testing.T) {
		fresh, err := admin.Create(ctx, imagesynctest.New(ns, "dry-target"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uid := fresh.UID
		req := &v1alpha1.ImageSyncRequest{Spec: v1alpha1.ImageSyncRequestSpec{Preconditions: &metav1.Preconditions{UID: &uid}}}
		receipt, err := ci.Sync(ctx, "dry-target", req, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || receipt.Status.Result != v1alpha1.SyncRequestAccepted || receipt.Status.RequestID == "" {
			t.Fatalf("dry-run: %+v %v", receipt, err)
		}
		got, _ := admin.Get(ctx, "dry-target", metav1.GetOptions{})
		if got.Status.PendingSyncRequest != nil || got.ResourceVersion != fresh.ResourceVersion {
			t.Fatalf("dry-run recorded: %+v", got.Status.PendingSyncRequest)
		}
	})

	t.Run("sync-now annotation becomes a request", func(t *testing.T) {
		if _, err := admin.Create(ctx, imagesynctest.New(ns, "legacy"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := ci.Patch(ctx, "legacy", types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"portager.portager.io/sync-now":"true"}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Annotations["portager.portager.io/sync-now"]; ok {
			t.Fatalf("annotation kept: %v", got.Annotations)
		}
		if p := got.Status.PendingSyncRequest; p == nil || p.Requester != "ci" || p.ID == "" {
			t.Fatalf("pending = %+v, want a request by ci", p)
		}
		if got.Generation != 1 {
			t.Fatalf("generation = %d, the annotation is not a spec change", got.Generation)
		}
	})
}

func rawSync(t *testing.T, cfg *rest.Config, name, body string) (*http.Response, string) {
	t.Helper()
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, cfg.Host+"/apis/portager.portager.io/v1alpha1/namespaces/default/imagesyncs/"+name+"/sync", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func sameReviews(got, want []review) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.User != w.User || g.Verb != w.Verb || g.Namespace != w.Namespace || g.Resource != w.Resource || g.Name != w.Name {
			return false
		}
	}
	return true
}
