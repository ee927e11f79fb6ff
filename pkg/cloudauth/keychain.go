package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-containerregistry/pkg/authn"
)

// hostKeychain serves credentials to exactly one registry host and
// nothing to any other: the engine resolves the destination keychain per
// repository, and a cloud token must not reach another host. Each
// resolution asks the provider for its current token, so after a 401 the
// engine gets a renewed one.
type hostKeychain struct {
	host  string
	creds func(ctx context.Context) (authn.AuthConfig, error)
}

var _ authn.ContextKeychain = hostKeychain{}

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k hostKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	if !strings.EqualFold(r.RegistryStr(), k.host) {
		return authn.Anonymous, nil
	}
	cfg, err := k.creds(ctx)
	if err != nil {
		return nil, err
	}
	return authn.FromConfig(cfg), nil
}

// Error is a failure to obtain cloud credentials or to create a
// repository. Its message is safe for status and Events.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// awsCode is what of a cloud error may be shown to a tenant: the service's
// error code (AccessDeniedException, InvalidIdentityToken, ...), never its
// message, which can name the controller's role or account.
func awsCode(err error) string {
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case code != "" && code != "UnknownError": // the SDK's name for none
		return code
	case errors.As(err, &re):
		return fmt.Sprintf("AWS answered HTTP %d", re.HTTPStatusCode())
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "no AWS credentials or endpoint reachable"
}
