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

// hostKeychain serves one credential to exactly one registry host and
// nothing to any other: the engine resolves the destination keychain per
// repository, and a cloud token must not reach another host.
type hostKeychain struct {
	host string
	cfg  authn.AuthConfig
}

var _ authn.Keychain = hostKeychain{}

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if !strings.EqualFold(r.RegistryStr(), k.host) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(k.cfg), nil
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
