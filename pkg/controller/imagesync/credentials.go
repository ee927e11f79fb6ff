package imagesync

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/kubernetes"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cloudauth"
	"github.com/portager/portager/pkg/dockerconfig"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
	"github.com/portager/portager/pkg/syncplan"
)

// credentialError is a failure to obtain credentials. Its message is safe
// for status and Events: it names the Secret and field, never its content.
type credentialError struct {
	reason string // ReasonCredentialAccessDenied or ReasonCredentialsUnavailable
	msg    string
}

func (e *credentialError) Error() string { return e.msg }

// errSpecMoved means the spec changed after the run read the ImageSync: the
// writer on record wrote a newer spec than the one about to run, so this run
// must not act for them. The newer object is already on its way.
var errSpecMoved = errors.New("the spec changed since this run read it")

// credentials gives a run the access its spec asks for, and only as the user
// who wrote that spec may have it. The API server authorized that user when
// the spec was written; the controller asks again before every use, so that
// access revoked since then, or a ServiceAccount deleted since then, lends
// nothing.
//
// Secrets are read each with a GET at use time (no informer, no cache).
// Methods "ecr", "gar" and "acr", of either side, use the controller's own
// cloud identity instead, whose tokens go only to that cloud's registry
// hosts (package cloudauth).
type credentials struct {
	client clientset.Interface
	kube   kubernetes.Interface
	cloud  cloudauth.Providers
	// sigstoreRoot verifies keyless cosign signatures; nil refuses them.
	sigstoreRoot root.TrustedMaterial
}

// resolve returns the credentials of a run of is, asked for as the writer
// of its spec (syncplan.ResolveCredentials decides which). Every error
// but errSpecMoved is a *credentialError.
func (c credentials) resolve(ctx context.Context, is *v1alpha1.ImageSync) (syncplan.Credentials, error) {
	writer, err := c.writer(ctx, is)
	if err != nil {
		return syncplan.Credentials{}, err
	}
	creds, err := syncplan.ResolveCredentials(ctx, &is.Spec, writerAccess{credentials: c, is: is, writer: writer})
	if _, ok := credentialReason(err); err != nil && !ok {
		err = &credentialError{reason: ReasonCredentialsUnavailable, msg: err.Error()}
	}
	return creds, err
}

// writerAccess is the syncplan.Access of one run: what the writer of the
// spec of is may use.
type writerAccess struct {
	credentials
	is     *v1alpha1.ImageSync
	writer *v1alpha1.UserIdentity
}

// Login reads the Secret ref names, if the writer may get it; no ref is
// anonymous.
func (a writerAccess) Login(ctx context.Context, field string, ref *v1alpha1.SecretReference) (authn.Keychain, error) {
	if ref == nil {
		return nil, nil
	}
	return a.keychain(ctx, a.is, a.writer, field, ref)
}

// CloudIdentity lends the controller's cloud identity for method if the
// writer may use it in the namespace of is.
func (a writerAccess) CloudIdentity(ctx context.Context, field string, m v1alpha1.AuthMethod, registry string) (authn.Keychain, error) {
	allowed, err := a.allowed(ctx, a.writer, authorizationv1.ResourceAttributes{
		Verb: portager.UseVerb, Group: portager.GroupName, Resource: portager.CloudIdentitiesResource, Namespace: a.is.Namespace, Name: string(m)})
	switch {
	case err != nil:
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: could not check that user %q may use cloud identity %q", field, a.writer.Username, m)}
	case !allowed:
		return nil, &credentialError{reason: ReasonCredentialAccessDenied, msg: fmt.Sprintf("%s: cloud identity %q not used: user %q may no longer use it in namespace %q", field, m, a.writer.Username, a.is.Namespace)}
	}
	kc, err := a.cloud.Keychain(ctx, m, registry)
	if err != nil {
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s %q: %v", field, m, err)}
	}
	return kc, nil
}

// SigstoreRoot is the controller's configured root, which may be nil.
func (a writerAccess) SigstoreRoot() (root.TrustedMaterial, error) { return a.sigstoreRoot, nil }

// lendsAccess reports whether a spec makes the controller use a Secret or its
// own cloud identity.
func lendsAccess(spec *v1alpha1.ImageSyncSpec) bool {
	m := spec.Destination.Auth.Method
	if a := spec.Source.Auth; a != nil && portager.LendsCloudIdentity(portager.AuthMethod(a.Method)) {
		return true
	}
	return spec.Source.AuthSecretRef != nil || m == v1alpha1.AuthMethodSecret || portager.LendsCloudIdentity(portager.AuthMethod(m))
}

// writer returns the user who wrote the spec of is, read from the server's
// imagesyncs/writer subresource, or nil when the spec lends nothing. A
// ServiceAccount that no longer exists, or was created again under the same
// name, is no longer that user.
func (c credentials) writer(ctx context.Context, is *v1alpha1.ImageSync) (*v1alpha1.UserIdentity, error) {
	if !lendsAccess(&is.Spec) {
		return nil, nil
	}
	const field = "status.secretAccessIdentity"
	w, err := c.client.PortagerV1alpha1().ImageSyncs(is.Namespace).GetWriter(ctx, is.Name, metav1.GetOptions{})
	if err != nil {
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: field + ": could not read who wrote the spec"}
	}
	if w.UID != is.UID || w.Generation != is.Generation {
		return nil, errSpecMoved
	}
	id := w.Identity
	if id == nil {
		return nil, &credentialError{reason: ReasonCredentialAccessDenied,
			msg: field + ": no user was authorized for this spec by the API server, so no Secret or cloud identity is used; a user with access must write the spec again"}
	}
	ns, name, err := serviceaccount.SplitUsername(id.Username)
	if err != nil {
		// Not a ServiceAccount.
		return id, nil
	}
	sa, err := c.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, &credentialError{reason: ReasonCredentialAccessDenied,
			msg: fmt.Sprintf("%s: ServiceAccount %s/%s, which wrote the spec, no longer exists, so no Secret or cloud identity is used", field, ns, name)}
	case err != nil:
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: could not check ServiceAccount %s/%s, which wrote the spec", field, ns, name)}
	case id.UID != "" && string(sa.UID) != id.UID:
		return nil, &credentialError{reason: ReasonCredentialAccessDenied,
			msg: fmt.Sprintf("%s: ServiceAccount %s/%s, which wrote the spec, was deleted and created again, so no Secret or cloud identity is used", field, ns, name)}
	}
	return id, nil
}

// allowed asks the cluster with a SubjectAccessReview whether id may do what
// attrs describe.
func (c credentials) allowed(ctx context.Context, id *v1alpha1.UserIdentity, attrs authorizationv1.ResourceAttributes) (bool, error) {
	var extra map[string]authorizationv1.ExtraValue
	if len(id.Extra) > 0 {
		extra = make(map[string]authorizationv1.ExtraValue, len(id.Extra))
		for k, v := range id.Extra {
			extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	sar, err := c.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: id.Username, UID: id.UID, Groups: id.Groups, Extra: extra, ResourceAttributes: &attrs},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

func (c credentials) keychain(ctx context.Context, is *v1alpha1.ImageSync, writer *v1alpha1.UserIdentity, field string, ref *v1alpha1.SecretReference) (authn.Keychain, error) {
	ns := ref.Namespace
	if ns == "" {
		ns = is.Namespace
	}
	allowed, err := c.allowed(ctx, writer, authorizationv1.ResourceAttributes{Verb: "get", Version: "v1", Resource: "secrets", Namespace: ns, Name: ref.Name})
	switch {
	case err != nil:
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: could not check access to Secret %s/%s", field, ns, ref.Name)}
	case !allowed:
		return nil, &credentialError{reason: ReasonCredentialAccessDenied, msg: fmt.Sprintf("%s: Secret %s/%s not used: user %q may no longer get it", field, ns, ref.Name, writer.Username)}
	}

	secret, err := c.kube.CoreV1().Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: Secret %s/%s not found", field, ns, ref.Name)}
	case err != nil:
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: reading Secret %s/%s failed", field, ns, ref.Name)}
	}
	data, ok := secret.Data[corev1.DockerConfigJsonKey]
	if !ok {
		data, ok = secret.Data[corev1.DockerConfigKey]
	}
	if !ok {
		return nil, &credentialError{reason: ReasonCredentialsUnavailable,
			msg: fmt.Sprintf("%s: Secret %s/%s has no %s key (type kubernetes.io/dockerconfigjson expected)", field, ns, ref.Name, corev1.DockerConfigJsonKey)}
	}
	kc, err := dockerconfig.FromSecret(data)
	if err != nil {
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: Secret %s/%s: %v", field, ns, ref.Name, err)}
	}
	return kc, nil
}

func credentialReason(err error) (string, bool) {
	var ce *credentialError
	if errors.As(err, &ce) {
		return ce.reason, true
	}
	return "", false
}
