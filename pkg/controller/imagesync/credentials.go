package imagesync

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cloudauth"
	"github.com/portager/portager/pkg/syncer"
	"github.com/portager/portager/pkg/syncplan"
)

// credentialError is a failure to obtain credentials. Its message is safe
// for status and Events: it names the Secret and field, never its content.
type credentialError struct {
	reason string // ReasonCredentialAccessDenied or ReasonCredentialsUnavailable
	msg    string
}

func (e *credentialError) Error() string { return e.msg }

// credentials reads the Secrets an ImageSync references, each with a GET at
// use time (no informer, no cache), after checking with a SubjectAccessReview
// that the identity the API server stamped may still get it. If that user
// lost access, the controller must not act as a deputy for them.
//
// Methods "ecr" and "gar" use the controller's own cloud identity instead:
// its tokens go only to that cloud's registry hosts (package cloudauth).
type credentials struct {
	kube  kubernetes.Interface
	cloud cloudauth.Providers
}

func (c credentials) resolve(ctx context.Context, is *v1alpha1.ImageSync) (syncplan.Credentials, error) {
	var creds syncplan.Credentials
	var err error
	if ref := is.Spec.Source.AuthSecretRef; ref != nil {
		if creds.Source, err = c.keychain(ctx, is, "spec.source.authSecretRef", ref); err != nil {
			return creds, err
		}
	}
	switch m := is.Spec.Destination.Auth.Method; m {
	case v1alpha1.AuthMethodAnonymous:
	case v1alpha1.AuthMethodSecret:
		if creds.Destination, err = c.keychain(ctx, is, "spec.destination.auth.secretRef", is.Spec.Destination.Auth.SecretRef); err != nil {
			return creds, err
		}
	case v1alpha1.AuthMethodECR, v1alpha1.AuthMethodGAR:
		if creds.Destination, err = c.cloud.Keychain(ctx, string(m), is.Spec.Destination.Registry); err != nil {
			return creds, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("spec.destination.auth.method %q: %v", m, err)}
		}
	default:
		return creds, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("unknown spec.destination.auth.method %q", m)}
	}
	return creds, nil
}

func (c credentials) keychain(ctx context.Context, is *v1alpha1.ImageSync, field string, ref *v1alpha1.SecretReference) (authn.Keychain, error) {
	if ref == nil {
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: field + " is required"}
	}
	ns := ref.Namespace
	if ns == "" {
		ns = is.Namespace
	}
	denied := func(why string) error {
		return &credentialError{reason: ReasonCredentialAccessDenied, msg: fmt.Sprintf("%s: Secret %s/%s not used: %s", field, ns, ref.Name, why)}
	}
	id := is.Status.SecretAccessIdentity
	if id == nil {
		return nil, denied("no user was authorized for it by the API server")
	}
	sar, err := c.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: id.Username, UID: id.UID, Groups: id.Groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Version: "v1", Resource: "secrets", Namespace: ns, Name: ref.Name},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, &credentialError{reason: ReasonCredentialsUnavailable, msg: fmt.Sprintf("%s: could not check access to Secret %s/%s", field, ns, ref.Name)}
	}
	if !sar.Status.Allowed {
		return nil, denied(fmt.Sprintf("user %q may no longer get it", id.Username))
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
	kc, err := syncer.KeychainFromDockerConfigJSON(data)
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
