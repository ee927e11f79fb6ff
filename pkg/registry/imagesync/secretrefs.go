package imagesync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager"
)

// secretRef is one Secret an ImageSync makes the controller read, with the
// namespace default applied.
type secretRef struct {
	path            *field.Path
	namespace, name string
}

func (r secretRef) String() string { return r.namespace + "/" + r.name }

// secretRefs lists the Secrets an ImageSync references, in field order.
func secretRefs(is *portager.ImageSync) []secretRef {
	var refs []secretRef
	add := func(p *field.Path, ref *portager.SecretReference) {
		if ref == nil {
			return
		}
		ns := ref.Namespace
		if ns == "" {
			ns = is.Namespace
		}
		refs = append(refs, secretRef{path: p, namespace: ns, name: ref.Name})
	}
	spec := field.NewPath("spec")
	add(spec.Child("source", "authSecretRef"), is.Spec.Source.AuthSecretRef)
	if is.Spec.Destination.Auth.Method == portager.AuthMethodSecret {
		add(spec.Child("destination", "auth", "secretRef"), is.Spec.Destination.Auth.SecretRef)
	}
	return refs
}

func sameRefs(a, b []secretRef) bool {
	return slices.EqualFunc(a, b, func(x, y secretRef) bool { return x.String() == y.String() && x.path.String() == y.path.String() })
}

// crossNamespaceErrors refuses references into other namespaces unless the
// administrator allowed them.
func crossNamespaceErrors(is *portager.ImageSync, allowed bool) field.ErrorList {
	if allowed {
		return nil
	}
	var errs field.ErrorList
	for _, ref := range secretRefs(is) {
		if ref.namespace != is.Namespace {
			errs = append(errs, field.Forbidden(ref.path.Child("namespace"),
				fmt.Sprintf("Secret references into another namespace (%q) are disabled on this server; an administrator can allow them with --allow-cross-namespace-secret-refs", ref.namespace)))
		}
	}
	return errs
}

// identityOf is the identity a SubjectAccessReview needs to ask about user again.
func identityOf(u user.Info) *portager.UserIdentity {
	return &portager.UserIdentity{Username: u.GetName(), UID: u.GetUID(), Groups: slices.Clone(u.GetGroups())}
}

// secretAccessChecker asks the authorizer whether the requesting user may get
// every Secret an ImageSync references, so that writing an ImageSync never
// lends the controller's Secret access to someone who lacks it.
type secretAccessChecker struct {
	authz   authorizer.Authorizer
	timeout time.Duration
}

// errNoAuthorizer keeps a misconfigured server from accepting references unchecked.
var errNoAuthorizer = errors.New("no authorizer configured")

// check returns a 403 naming the field of the first Secret the user may not
// get. The server never reads a Secret, so the answer is the same whether it
// exists or not. If the check cannot be completed, the request is refused.
func (c secretAccessChecker) check(ctx context.Context, is *portager.ImageSync) error {
	refs := secretRefs(is)
	if len(refs) == 0 {
		return nil
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(portager.Resource("imagesyncs"), is.Name, errors.New("no authenticated user to check Secret references for"))
	}
	logger := klog.FromContext(ctx)
	var refused []string
	for _, ref := range refs {
		decision, reason, err := c.authorize(ctx, u, ref)
		switch {
		case err != nil:
			logger.Error(err, "Could not check Secret reference", "imageSync", klog.KObj(is), "field", ref.path.String(), "user", u.GetName())
			refused = append(refused, fmt.Sprintf("%s: could not verify that user %q may get Secret %q, so the reference is refused", ref.path, u.GetName(), ref.String()))
		case decision != authorizer.DecisionAllow:
			logger.V(2).Info("Secret reference denied", "imageSync", klog.KObj(is), "field", ref.path.String(), "user", u.GetName(), "reason", reason)
			refused = append(refused, fmt.Sprintf("%s: user %q may not get Secret %q, so it may not reference it", ref.path, u.GetName(), ref.String()))
		}
	}
	if len(refused) > 0 {
		return apierrors.NewForbidden(portager.Resource("imagesyncs"), is.Name, errors.New(strings.Join(refused, "; ")))
	}
	return nil
}

func (c secretAccessChecker) authorize(ctx context.Context, u user.Info, ref secretRef) (authorizer.Decision, string, error) {
	if c.authz == nil {
		return authorizer.DecisionDeny, "", errNoAuthorizer
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	type answer struct {
		d      authorizer.Decision
		reason string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		d, reason, err := c.authz.Authorize(ctx, authorizer.AttributesRecord{
			User: u, Verb: "get", Namespace: ref.namespace, APIGroup: "", APIVersion: "v1",
			Resource: "secrets", Name: ref.name, ResourceRequest: true,
		})
		done <- answer{d, reason, err}
	}()
	// An authorizer that ignores its context must not hold the request open.
	select {
	case a := <-done:
		return a.d, a.reason, a.err
	case <-ctx.Done():
		return authorizer.DecisionDeny, "", fmt.Errorf("SubjectAccessReview: %w", ctx.Err())
	}
}

// onCreate checks the references of a new ImageSync before the store writes it.
func (c secretAccessChecker) onCreate(next rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		if err := c.check(ctx, obj.(*portager.ImageSync)); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, obj)
		}
		return nil
	}
}

// onUpdate checks the references only when an update changes them, so a
// label or schedule edit needs no review.
func (c secretAccessChecker) onUpdate(next rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		newIS, oldIS := obj.(*portager.ImageSync), old.(*portager.ImageSync)
		if needsSecretCheck(newIS, oldIS) {
			if err := c.check(ctx, newIS); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, obj, old)
		}
		return nil
	}
}

// needsSecretCheck reports whether an update must be reviewed: its references
// changed, or they were never checked (no identity stamped).
func needsSecretCheck(newIS, oldIS *portager.ImageSync) bool {
	refs := secretRefs(newIS)
	if len(refs) == 0 {
		return false
	}
	return !sameRefs(refs, secretRefs(oldIS)) || oldIS.Status.SecretAccessIdentity == nil
}
