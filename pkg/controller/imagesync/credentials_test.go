package imagesync

import (
	"context"
	"errors"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/generated/clientset/versioned/fake"
)

// credentialsEnv answers imagesyncs/writer with writer, allows every
// SubjectAccessReview, and counts what the controller asked for.
type credentialsEnv struct {
	creds                credentials
	kube                 *kubefake.Clientset
	reviews, secretReads int
}

func newCredentialsEnv(t *testing.T, writer *v1alpha1.ImageSyncWriter, objs ...runtime.Object) *credentialsEnv {
	t.Helper()
	client := fake.NewClientset()
	client.PrependReactor("get", "imagesyncs", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "writer" {
			return false, nil, nil
		}
		return true, writer.DeepCopy(), nil
	})
	env := &credentialsEnv{kube: kubefake.NewClientset(objs...)}
	env.kube.PrependReactor("create", "subjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		env.reviews++
		sar := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		sar.Status.Allowed = true
		return true, sar, nil
	})
	env.kube.PrependReactor("get", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		env.secretReads++
		return false, nil, nil
	})
	env.creds = credentials{client: client, kube: env.kube}
	return env
}

func TestCredentialsActOnlyForTheWriter(t *testing.T) {
	const saUser = "system:serviceaccount:team-a:deployer"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: "team-a"},
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"ghcr.io":{"username":"u","password":"p"}}}`)},
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: "team-a", UID: "sa-uid-1"}}
	is := &v1alpha1.ImageSync{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team-a", UID: "is-uid", Generation: 3},
		Spec: v1alpha1.ImageSyncSpec{Destination: v1alpha1.DestinationRegistry{Registry: "ghcr.io",
			Auth: v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodSecret, SecretRef: &v1alpha1.SecretReference{Name: "push"}}}},
	}
	writer := func(user, uid string, generation int64) *v1alpha1.ImageSyncWriter {
		return &v1alpha1.ImageSyncWriter{
			ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team-a", UID: "is-uid", Generation: generation},
			Identity:   &v1alpha1.UserIdentity{Username: user, UID: uid},
		}
	}
	cases := []struct {
		name    string
		writer  *v1alpha1.ImageSyncWriter
		objs    []runtime.Object
		reason  string // "" for success
		message string
		// secretReads is how many Secret GETs the controller made.
		secretReads int
	}{
		{"a user", writer("alice", "uid-alice", 3), []runtime.Object{secret}, "", "", 1},
		{"a ServiceAccount that exists", writer(saUser, "sa-uid-1", 3), []runtime.Object{secret, sa}, "", "", 1},
		{"a deleted ServiceAccount", writer(saUser, "sa-uid-1", 3), []runtime.Object{secret}, ReasonCredentialAccessDenied,
			"ServiceAccount team-a/deployer, which wrote the spec, no longer exists", 0},
		{"a ServiceAccount created again", writer(saUser, "sa-uid-0", 3), []runtime.Object{secret, sa}, ReasonCredentialAccessDenied,
			"was deleted and created again", 0},
		{"no writer stamped", &v1alpha1.ImageSyncWriter{ObjectMeta: metav1.ObjectMeta{UID: "is-uid", Generation: 3}}, []runtime.Object{secret},
			ReasonCredentialAccessDenied, "no user was authorized for this spec", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newCredentialsEnv(t, tc.writer, tc.objs...)
			_, err := env.creds.resolve(context.Background(), is)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if reason, _ := credentialReason(err); reason != tc.reason || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %v (%s), want %s containing %q", err, reason, tc.reason, tc.message)
			}
			if env.secretReads != tc.secretReads {
				t.Fatalf("Secret reads = %d, want %d", env.secretReads, tc.secretReads)
			}
			if tc.reason != "" && env.reviews != 0 {
				t.Fatalf("reviews = %d for a refused writer, want 0", env.reviews)
			}
		})
	}

	t.Run("a writer of a newer spec does not lend access to this one", func(t *testing.T) {
		env := newCredentialsEnv(t, writer("alice", "uid-alice", 4), secret)
		if _, err := env.creds.resolve(context.Background(), is); !errors.Is(err, errSpecMoved) {
			t.Fatalf("err = %v, want errSpecMoved", err)
		}
		other := writer("alice", "uid-alice", 3)
		other.UID = types.UID("another-object")
		env = newCredentialsEnv(t, other, secret)
		if _, err := env.creds.resolve(context.Background(), is); !errors.Is(err, errSpecMoved) {
			t.Fatalf("err = %v for another object's writer, want errSpecMoved", err)
		}
		if env.secretReads != 0 || env.reviews != 0 {
			t.Fatalf("reads %d, reviews %d, want none", env.secretReads, env.reviews)
		}
	})

	t.Run("a spec the API would refuse is CredentialsUnavailable", func(t *testing.T) {
		for method, want := range map[v1alpha1.AuthMethod]string{
			v1alpha1.AuthMethodSecret: "spec.destination.auth.secretRef is required",
			"kerberos":                `unknown spec.destination.auth.method "kerberos"`,
		} {
			env := newCredentialsEnv(t, writer("alice", "uid-alice", 3), secret)
			bad := is.DeepCopy()
			bad.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: method}
			_, err := env.creds.resolve(context.Background(), bad)
			if reason, _ := credentialReason(err); reason != ReasonCredentialsUnavailable || err.Error() != want {
				t.Fatalf("method %q: err = %v (%s), want %s %q", method, err, reason, ReasonCredentialsUnavailable, want)
			}
			if env.secretReads != 0 {
				t.Fatalf("method %q: Secret reads = %d, want 0", method, env.secretReads)
			}
		}
	})

	t.Run("a spec that lends nothing reads no writer", func(t *testing.T) {
		env := newCredentialsEnv(t, nil)
		anon := is.DeepCopy()
		anon.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous}
		if _, err := env.creds.resolve(context.Background(), anon); err != nil {
			t.Fatal(err)
		}
	})
}
