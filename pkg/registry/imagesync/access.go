package imagesync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager"
)

// grant is one thing an ImageSync's spec makes the controller use on behalf
// of whoever wrote it: a Secret it reads, or its own cloud identity.
type grant struct {
	// path is the field that asks for it.
	path *field.Path
	// attrs is what the writer must be allowed, without the user.
	attrs authorizer.AttributesRecord
	// what names it in a refusal, e.g. `get Secret "team-a/pull"`.
	what string
}

// grantsOf lists what an ImageSync's spec makes the controller use, in field
// order, with the Secret namespace default applied.
func grantsOf(is *portager.ImageSync) []grant {
	var grants []grant
	secret := func(p *field.Path, ref *portager.SecretReference) {
		if ref == nil {
			return
		}
		ns := ref.Namespace
		if ns == "" {
			ns = is.Namespace
		}
		grants = append(grants, grant{
			path: p,
			attrs: authorizer.AttributesRecord{Verb: "get", Namespace: ns, APIGroup: "", APIVersion: "v1",
				Resource: "secrets", Name: ref.Name, ResourceRequest: true},
			what: fmt.Sprintf("get Secret %q", ns+"/"+ref.Name),
		})
	}
	cloudIdentity := func(p *field.Path, m portager.AuthMethod) {
		grants = append(grants, grant{
			path: p,
			attrs: authorizer.AttributesRecord{Verb: portager.UseVerb, Namespace: is.Namespace, APIGroup: portager.GroupName,
				APIVersion: "*", Resource: portager.CloudIdentitiesResource, Name: string(m), ResourceRequest: true},
			what: fmt.Sprintf("use cloud identity %q (cloudidentities.%s) in namespace %q", m, portager.GroupName, is.Namespace),
		})
	}
	spec := field.NewPath("spec")
	src := &is.Spec.Source
	var srcMethod portager.AuthMethod
	if src.Auth != nil {
		srcMethod = src.Auth.Method
	}
	switch m := portager.SourceMethod(srcMethod, src.AuthSecretRef != nil); {
	case m == portager.AuthMethodSecret:
		secret(spec.Child("source", "authSecretRef"), src.AuthSecretRef)
	case portager.LendsCloudIdentity(m):
		cloudIdentity(spec.Child("source", "auth", "method"), m)
	}
	switch m := is.Spec.Destination.Auth.Method; {
	case m == portager.AuthMethodSecret:
		secret(spec.Child("destination", "auth", "secretRef"), is.Spec.Destination.Auth.SecretRef)
	case portager.LendsCloudIdentity(m):
		cloudIdentity(spec.Child("destination", "auth", "method"), m)
	}
	return grants
}

// crossNamespaceErrors refuses Secret references into other namespaces
// unless the administrator allowed them.
func crossNamespaceErrors(is *portager.ImageSync, allowed bool) field.ErrorList {
	if allowed {
		return nil
	}
	var errs field.ErrorList
	for _, g := range grantsOf(is) {
		if g.attrs.Resource == "secrets" && g.attrs.Namespace != is.Namespace {
			errs = append(errs, field.Forbidden(g.path.Child("namespace"),
				fmt.Sprintf("Secret references into another namespace (%q) are disabled on this server; an administrator can allow them with --allow-cross-namespace-secret-refs", g.attrs.Namespace)))
		}
	}
	return errs
}

// identityOf is everything a SubjectAccessReview needs to ask about u again.
func identityOf(u user.Info) *portager.UserIdentity {
	id := &portager.UserIdentity{Username: u.GetName(), UID: u.GetUID(), Groups: slices.Clone(u.GetGroups())}
	if extra := u.GetExtra(); len(extra) > 0 {
		id.Extra = make(map[string]portager.ExtraValue, len(extra))
		for k, v := range extra {
			id.Extra[k] = slices.Clone(v)
		}
	}
	return id
}

// specChanged reports whether an update writes a new spec, which makes its
// writer the identity the controller acts for.
func specChanged(newIS, oldIS *portager.ImageSync) bool {
	return !apiequality.Semantic.DeepEqual(newIS.Spec, oldIS.Spec)
}

// needsReview reports whether an update must be authorized as its writer:
// it changes a spec that lends access, or the object has no writer stamped.
func needsReview(newIS, oldIS *portager.ImageSync) bool {
	if len(grantsOf(newIS)) == 0 {
		return false
	}
	return specChanged(newIS, oldIS) || oldIS.Status.SecretAccessIdentity == nil
}

// stampWriter records who wrote the spec, so that the controller can re-check
// that user before it reads a Secret or lends its cloud identity. It moves on
// every spec change; the create and update validations then check this same
// user. A spec that lends nothing keeps no identity.
func stampWriter(ctx context.Context, is, old *portager.ImageSync) {
	if len(grantsOf(is)) == 0 {
		is.Status.SecretAccessIdentity = nil
		return
	}
	if old != nil && !needsReview(is, old) {
		return
	}
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		is.Status.SecretAccessIdentity = identityOf(u)
	}
}

// accessChecker asks the authorizer whether the requesting user may have
// every grant an ImageSync's spec asks for, so that writing an ImageSync never
// lends the controller's Secret access or cloud identity to someone who lacks
// them.
type accessChecker struct {
	authz   authorizer.Authorizer
	timeout time.Duration
}

// errNoAuthorizer keeps a misconfigured server from accepting specs unchecked.
var errNoAuthorizer = errors.New("no authorizer configured")

// check returns a 403 naming the field of every grant the user lacks. The
// server never reads a Secret, so the answer is the same whether it exists
// or not. If a check cannot be completed, the request is refused.
func (c accessChecker) check(ctx context.Context, is *portager.ImageSync) error {
	grants := grantsOf(is)
	if len(grants) == 0 {
		return nil
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(portager.Resource("imagesyncs"), is.Name, errors.New("no authenticated user to authorize the spec for"))
	}
	logger := klog.FromContext(ctx)
	var refused []string
	for _, g := range grants {
		decision, reason, err := c.authorize(ctx, u, g)
		switch {
		case err != nil:
			logger.Error(err, "Could not authorize the writer of an ImageSync", "imageSync", klog.KObj(is), "field", g.path.String(), "user", u.GetName())
			refused = append(refused, fmt.Sprintf("%s: could not verify that user %q may %s, so the spec is refused", g.path, u.GetName(), g.what))
		case decision != authorizer.DecisionAllow:
			logger.V(2).Info("ImageSync writer denied", "imageSync", klog.KObj(is), "field", g.path.String(), "user", u.GetName(), "reason", reason)
			refused = append(refused, fmt.Sprintf("%s: user %q may not %s, so this spec may not ask for it", g.path, u.GetName(), g.what))
		}
	}
	if len(refused) > 0 {
		return apierrors.NewForbidden(portager.Resource("imagesyncs"), is.Name, errors.New(strings.Join(refused, "; ")))
	}
	return nil
}

func (c accessChecker) authorize(ctx context.Context, u user.Info, g grant) (authorizer.Decision, string, error) {
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
	attrs := g.attrs
	attrs.User = u
	done := make(chan answer, 1)
	go func() {
		d, reason, err := c.authz.Authorize(ctx, attrs)
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

// checkWrite authorizes a write as its writer: every create, and every
// update that writes a spec lending access, whichever part of the spec it
// changes. Metadata-only updates need no review.
func (c accessChecker) checkWrite(ctx context.Context, is, old *portager.ImageSync) error {
	if old != nil && !needsReview(is, old) {
		return nil
	}
	return c.check(ctx, is)
}
