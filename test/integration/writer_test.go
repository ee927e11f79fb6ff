package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

func withCloudIdentity(method v1alpha1.AuthMethod) func(*v1alpha1.ImageSync) {
	return func(is *v1alpha1.ImageSync) {
		is.Spec.Destination = v1alpha1.DestinationRegistry{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Auth: v1alpha1.DestinationAuth{Method: method}}
		if method == v1alpha1.AuthMethodGAR {
			is.Spec.Destination.Registry = "us-docker.pkg.dev/project/mirror"
		}
	}
}

// TestCloudIdentityIsAPermission checks that selecting an auth method that
// lends the controller's own cloud identity needs "use" on
// cloudidentities/METHOD in the namespace, on create and on every spec change.
func TestCloudIdentityIsAPermission(t *testing.T) {
	stub := newAuthStub(t)
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t), auth: stub})
	ctx := context.Background()
	alice := srv.As(t, "alice").PortagerV1alpha1().ImageSyncs(ns)
	bob := srv.As(t, "bob").PortagerV1alpha1().ImageSyncs(ns)

	t.Run("refused without use cloudidentities/ecr", func(t *testing.T) {
		stub.secretReviews()
		_, err := alice.Create(ctx, imagesynctest.New(ns, "ecr-sync", withCloudIdentity(v1alpha1.AuthMethodECR)), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `spec.destination.auth.method: user "alice" may not use cloud identity "ecr"`) {
			t.Fatalf("create: %v, want 403 naming spec.destination.auth.method", err)
		}
		if _, err := srv.Client.PortagerV1alpha1().ImageSyncs(ns).Get(ctx, "ecr-sync", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("refused object was stored: %v", err)
		}
		want := []review{{User: "alice", Verb: "use", Group: "portager.portager.io", Namespace: ns, Resource: "cloudidentities", Name: "ecr"}}
		if got := stub.secretReviews(); len(got) != 1 || got[0].Group != want[0].Group || !sameReviews(got, want) {
			t.Fatalf("reviews = %+v, want %+v", got, want)
		}
	})

	stub.allowCloudIdentity("alice", ns, "ecr")
	t.Run("accepted with it, and alice becomes the writer", func(t *testing.T) {
		is, err := alice.Create(ctx, imagesynctest.New(ns, "ecr-sync", withCloudIdentity(v1alpha1.AuthMethodECR)), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if id := is.Status.SecretAccessIdentity; id == nil || id.Username != "alice" {
			t.Fatalf("writer = %+v, want alice", id)
		}
	})

	t.Run("another method needs its own grant", func(t *testing.T) {
		_, err := alice.Create(ctx, imagesynctest.New(ns, "gar-sync", withCloudIdentity(v1alpha1.AuthMethodGAR)), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `may not use cloud identity "gar"`) {
			t.Fatalf("gar create: %v, want 403", err)
		}
	})

	t.Run("the source's method needs its own grant", func(t *testing.T) {
		stub.secretReviews()
		fromGAR := func(is *v1alpha1.ImageSync) {
			withCloudIdentity(v1alpha1.AuthMethodECR)(is)
			is.Spec.Source = v1alpha1.SourceRegistry{Registry: "us-docker.pkg.dev/project/upstream", Auth: &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodGAR}}
		}
		_, err := alice.Create(ctx, imagesynctest.New(ns, "from-gar", fromGAR), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `spec.source.auth.method: user "alice" may not use cloud identity "gar"`) ||
			strings.Contains(err.Error(), "spec.destination") {
			t.Fatalf("create: %v, want 403 naming spec.source.auth.method only", err)
		}
		want := []review{
			{User: "alice", Verb: "use", Group: "portager.portager.io", Namespace: ns, Resource: "cloudidentities", Name: "gar"},
			{User: "alice", Verb: "use", Group: "portager.portager.io", Namespace: ns, Resource: "cloudidentities", Name: "ecr"},
		}
		if got := stub.secretReviews(); !sameReviews(got, want) {
			t.Fatalf("reviews = %+v, want %+v", got, want)
		}
		fromECR := func(is *v1alpha1.ImageSync) {
			is.Spec.Source = v1alpha1.SourceRegistry{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com/upstream", Auth: &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodECR}}
		}
		if _, err := alice.Create(ctx, imagesynctest.New(ns, "from-ecr", fromECR), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create with the ecr grant alice has: %v", err)
		}
	})

	t.Run("a user without it cannot change that object's spec", func(t *testing.T) {
		before, _ := alice.Get(ctx, "ecr-sync", metav1.GetOptions{})
		_, err := bob.Patch(ctx, "ecr-sync", types.MergePatchType, []byte(`{"spec":{"images":[{"name":"other","tags":["1"]}]}}`), metav1.PatchOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `user "bob" may not use cloud identity "ecr"`) {
			t.Fatalf("bob spec patch: %v, want 403", err)
		}
		after, _ := alice.Get(ctx, "ecr-sync", metav1.GetOptions{})
		if after.ResourceVersion != before.ResourceVersion {
			t.Fatalf("a refused patch changed the object")
		}
		if _, err := bob.Patch(ctx, "ecr-sync", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatalf("bob label patch: %v", err)
		}
	})
}

// TestWriterIdentityIsRedacted checks that reads of an ImageSync, through
// every verb, show the writer's username only, while imagesyncs/writer gives
// the whole identity with the generation it wrote.
func TestWriterIdentityIsRedacted(t *testing.T) {
	stub := newAuthStub(t)
	stub.allowSecret("alice", ns+"/pull-creds")
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t), auth: stub})
	ctx := context.Background()
	admin := srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	alice := srv.As(t, "alice").PortagerV1alpha1().ImageSyncs(ns)

	w, err := admin.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	stub.secretReviews()
	created, err := alice.Create(ctx, imagesynctest.New(ns, "redacted", withSourceSecret("pull-creds")), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The review was made with everything the authenticator said.
	if r := stub.secretReviews(); len(r) != 1 || len(r[0].Groups) == 0 || r[0].Extra["example.com/team"][0] != "team-alice" {
		t.Fatalf("review = %+v, want alice's groups and extra", r)
	}

	onlyUsername := func(where string, id *v1alpha1.UserIdentity) {
		t.Helper()
		if id == nil || id.Username != "alice" || id.UID != "" || len(id.Groups) != 0 || len(id.Extra) != 0 {
			t.Errorf("%s: identity = %+v, want the username only", where, id)
		}
	}
	onlyUsername("create response", created.Status.SecretAccessIdentity)
	got, err := admin.Get(ctx, "redacted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onlyUsername("get", got.Status.SecretAccessIdentity)
	list, err := admin.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	onlyUsername("list", list.Items[0].Status.SecretAccessIdentity)
	status, err := srv.Client.PortagerV1alpha1().RESTClient().Get().Namespace(ns).Resource("imagesyncs").Name("redacted").SubResource("status").Do(ctx).Get()
	if err != nil {
		t.Fatal(err)
	}
	onlyUsername("status", status.(*v1alpha1.ImageSync).Status.SecretAccessIdentity)
	select {
	case e := <-w.ResultChan():
		if e.Type != watch.Added {
			t.Fatalf("watch event %s", e.Type)
		}
		onlyUsername("watch", e.Object.(*v1alpha1.ImageSync).Status.SecretAccessIdentity)
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
	// A label change is stored and served redacted too; storage keeps the
	// whole identity.
	patched, err := admin.Patch(ctx, "redacted", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onlyUsername("patch response", patched.Status.SecretAccessIdentity)

	writer, err := admin.GetWriter(ctx, "redacted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := writer.Identity
	if id == nil || id.Username != "alice" || id.UID != "uid-alice" || len(id.Groups) == 0 || id.Extra["example.com/team"][0] != "team-alice" {
		t.Fatalf("writer = %+v, want alice's whole identity", id)
	}
	if writer.Generation != created.Generation || writer.UID != created.UID || writer.Name != "redacted" {
		t.Fatalf("writer metadata = %+v, want the ImageSync's", writer.ObjectMeta)
	}
}
