package distribution

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// Reasons the client's failures classify as (Classify): CamelCase codes
// meant for status conditions and metrics labels.
const (
	ReasonAuthFailed     = "AuthFailed"
	ReasonRateLimited    = "RateLimited"
	ReasonTransient      = "Transient"
	ReasonDigestMismatch = "DigestMismatch"
	ReasonRegistryError  = "RegistryError"
	ReasonUnsupported    = "UnsupportedMediaType"
	ReasonCanceled       = "Canceled"
	ReasonTLSFailed      = "TLSFailed"
)

// httpError is a registry response with an unexpected status. It carries the
// registry error code (e.g. MANIFEST_UNKNOWN) but never the response body:
// registries echo request details and sometimes tokens in their messages.
type httpError struct {
	op     string // e.g. "HEAD manifest"
	status int
	code   string
}

func (e *httpError) Error() string {
	msg := e.op + ": " + http.StatusText(e.status)
	if e.code != "" {
		msg += " (" + e.code + ")"
	}
	return msg
}

// rateLimitError is returned when a registry answered 429 and either asked
// for a longer wait than RetryAfterCap or retries ran out.
type rateLimitError struct {
	op         string
	retryAfter time.Time
	wait       time.Duration // as requested (0 if the header was missing)
	honour     bool          // wait is within RetryAfterCap: worth waiting in-run
}

func (e *rateLimitError) Error() string {
	return e.op + ": rate limited until " + e.retryAfter.UTC().Format(time.RFC3339)
}

// DigestMismatchError means content did not hash to the digest that
// referenced it; the copy is aborted so nothing unverified lands.
type DigestMismatchError struct {
	What, Want, Got string
}

func (e *DigestMismatchError) Error() string {
	return e.What + ": digest mismatch: want " + e.Want + ", got " + e.Got
}

// UnsupportedError marks content that is not copied, such as a schema 1
// manifest.
type UnsupportedError struct{ MediaType string }

func (e *UnsupportedError) Error() string { return "unsupported media type " + e.MediaType }

// errWatchdog is the cancel cause when a request made no progress within
// Config.OperationTimeout.
var errWatchdog = errors.New("operation timed out")

// errTooSlow is the cancel cause when a body moved less than the
// watchdog's minimum in a whole window.
var errTooSlow = errors.New("timed out: the transfer was slower than the minimum rate")

// errDeadline is the cancel cause when a request ran past its absolute
// deadline (see Client.requestDeadline).
var errDeadline = errors.New("timed out at the request's deadline")

// Classify maps an error of the client (or of a context) to a Reason and
// whether a later retry may help, and for a rate limit the time the
// registry asked to wait until.
func Classify(err error) (reason string, transient bool, retryAfter time.Time) {
	var rl *rateLimitError
	var he *httpError
	var dm *DigestMismatchError
	var ue *UnsupportedError
	var le *LimitError
	var bo *breakerOpenError
	var ne net.Error
	switch {
	case err == nil:
		return "", false, time.Time{}
	case isBlocked(err):
		return ReasonBlockedDestination, false, time.Time{}
	case errors.As(err, &le):
		return le.Reason, false, time.Time{}
	case errors.As(err, &bo):
		return ReasonTransient, true, time.Time{}
	case errors.As(err, &rl):
		return ReasonRateLimited, true, rl.retryAfter
	case errors.As(err, &dm):
		return ReasonDigestMismatch, false, time.Time{}
	case errors.As(err, &ue):
		return ReasonUnsupported, false, time.Time{}
	case errors.As(err, &he):
		switch {
		case he.status == http.StatusUnauthorized || he.status == http.StatusForbidden:
			return ReasonAuthFailed, false, time.Time{}
		case he.code == "DIGEST_INVALID" || he.code == "SIZE_INVALID":
			return ReasonDigestMismatch, false, time.Time{}
		case isTransientStatus(he.status):
			return ReasonTransient, true, time.Time{}
		default:
			return ReasonRegistryError, false, time.Time{}
		}
	case isTLSError(err):
		// A certificate problem will not fix itself on retry; it needs an
		// operator (RootCAs) and must not be retried in a tight loop.
		return ReasonTLSFailed, false, time.Time{}
	case errors.Is(err, errWatchdog), errors.Is(err, errTooSlow), errors.Is(err, errDeadline), errors.Is(err, context.DeadlineExceeded):
		return ReasonTransient, true, time.Time{}
	case errors.Is(err, context.Canceled):
		return ReasonCanceled, true, time.Time{}
	case errors.As(err, &ne):
		return ReasonTransient, true, time.Time{}
	default:
		// Connection resets and unexpected EOFs surface as plain errors from
		// the transport; treat unknown I/O failures as transient so that the
		// controller retries with backoff rather than waiting for a schedule.
		return ReasonTransient, true, time.Time{}
	}
}

// statusOf returns the HTTP status of a registry's unexpected answer in
// err, or 0 when err is not one.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return 0
}

func isTLSError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &rh) ||
		// net/http turns the RecordHeaderError of a plain-HTTP server
		// into this unexported error: the host needs --insecure-registry
		// (InsecureHosts) or a TLS endpoint, which no retry will bring.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func isTransientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
