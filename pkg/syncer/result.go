package syncer

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

// Outcome is the final state of one tag in a run.
type Outcome string

const (
	// OutcomeSkipped means the destination already had the source digest.
	OutcomeSkipped Outcome = "Skipped"
	// OutcomeCopied means the image was copied and the destination tag moved.
	OutcomeCopied Outcome = "Copied"
	// OutcomeFailed means the tag could not be synced; see Reason.
	OutcomeFailed Outcome = "Failed"
	// OutcomeWouldCopy is a dry run's verdict on a tag the destination
	// lacks or holds at another digest: a run would copy it. Nothing was
	// written.
	OutcomeWouldCopy Outcome = "WouldCopy"
)

// Reasons are CamelCase codes meant for status conditions and metrics labels.
const (
	ReasonUpToDate          = "UpToDate"
	ReasonCopied            = "Copied"
	ReasonTagNotFound       = "TagNotFound"
	ReasonAuthFailed        = "AuthFailed"
	ReasonRateLimited       = "RateLimited"
	ReasonTransient         = "Transient"
	ReasonGateFailed        = "GateFailed"
	ReasonInvalidConstraint = "InvalidConstraint"
	ReasonDigestMismatch    = "DigestMismatch"
	ReasonListTagsFailed    = "ListTagsFailed"
	ReasonRegistryError     = "RegistryError"
	ReasonUnsupported       = "UnsupportedMediaType"
	ReasonCanceled          = "Canceled"
	ReasonTLSFailed         = "TLSFailed"
	// Why a dry run would copy a tag (OutcomeWouldCopy).
	ReasonDestinationMissing = "DestinationMissing"
	ReasonDestinationDiffers = "DestinationDiffers"
)

// TagResult is the typed outcome of one tag. Image-level failures (for
// example an invalid semver constraint or a tag list that cannot be read)
// are reported with an empty Tag.
type TagResult struct {
	Image       string
	Tag         string
	Source      string // source reference (repository:tag)
	Destination string // destination reference (repository:tag)
	Digest      string // the digest resolved once and copied (empty if unresolved)
	Outcome     Outcome
	Reason      string
	// Message says why a tag failed, or for a dry run's WouldCopy which
	// digest the destination holds. It is sanitised: bounded length, no
	// credentials, tokens or raw registry bodies. It is safe for status,
	// Events and logs.
	Message  string
	Bytes    int64 // blob bytes uploaded to the destination for this tag
	Duration time.Duration
	// RetryAfter is set when Reason == RateLimited and the registry asked
	// for longer than Options.RetryAfterCap.
	RetryAfter time.Time
	// Transient is true when a later retry may succeed (5xx, timeout,
	// connection reset, rate limit). Deterministic failures (tag missing,
	// gate blocked, auth) are false and should wait for the next schedule.
	Transient bool
}

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

// digestMismatchError means content did not hash to the digest that
// referenced it; the copy is aborted so nothing unverified lands.
type digestMismatchError struct {
	what, want, got string
}

func (e *digestMismatchError) Error() string {
	return e.what + ": digest mismatch: want " + e.want + ", got " + e.got
}

// gateError wraps a Gate's verdict so it is reported as GateFailed.
type gateError struct{ err error }

// Rejected marks err as a Gate's verdict that an image must not be copied:
// the tag fails with reason GateFailed and is not retried before the
// schedule.
func Rejected(err error) error { return &gateError{err: err} }

// IsRejected reports whether err is a gate's verdict made with Rejected,
// as opposed to a failure to read what the gate needed.
func IsRejected(err error) bool {
	var g *gateError
	return errors.As(err, &g)
}

func (e *gateError) Error() string { return "gate: " + e.err.Error() }
func (e *gateError) Unwrap() error { return e.err }

// unsupportedError marks manifests we refuse to copy (e.g. schema 1).
type unsupportedError struct{ mediaType string }

func (e *unsupportedError) Error() string { return "unsupported media type " + e.mediaType }

// errWatchdog is the cancel cause when a request made no progress within
// Options.OperationTimeout.
var errWatchdog = errors.New("operation timed out")

// errTooSlow is the cancel cause when a body moved less than the
// watchdog's minimum in a whole window.
var errTooSlow = errors.New("timed out: the transfer was slower than the minimum rate")

// errDeadline is the cancel cause when a request ran past its absolute
// deadline (see Engine.requestDeadline).
var errDeadline = errors.New("timed out at the request's deadline")

// classify maps an error to a Reason and whether a later retry may help.
func classify(err error) (reason string, transient bool, retryAfter time.Time) {
	var rl *rateLimitError
	var he *httpError
	var dm *digestMismatchError
	var ge *gateError
	var ue *unsupportedError
	var le *limitError
	var bo *breakerOpenError
	var ne net.Error
	switch {
	case err == nil:
		return "", false, time.Time{}
	case errors.As(err, &ge):
		return ReasonGateFailed, false, time.Time{}
	case isBlocked(err):
		return ReasonBlockedDestination, false, time.Time{}
	case errors.As(err, &le):
		return le.reason, false, time.Time{}
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

// fail fills r as a failure for err, sanitising the message. A tag cut
// short because the run's context ended is Canceled or, at a deadline,
// Transient; when the caller ended the context with a cause of its own
// (context.WithTimeoutCause, WithCancelCause), the message is that cause,
// so the caller's reason ("the run exceeded spec.timeout") reaches the tag.
func (r *TagResult) fail(ctx context.Context, err error) {
	r.Outcome = OutcomeFailed
	if ended := ctx.Err(); ended != nil {
		r.Reason, r.Transient, r.RetryAfter = classify(ended)
		if cause := context.Cause(ctx); cause != ended {
			err = cause
		}
	} else {
		r.Reason, r.Transient, r.RetryAfter = classify(err)
	}
	r.Message = sanitizeCtx(ctx, err.Error())
}
