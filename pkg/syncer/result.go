package syncer

import (
	"context"
	"errors"
	"time"

	"github.com/portager/portager/pkg/syncer/internal/distribution"
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
// Those of failures to speak to a registry are the distribution client's.
const (
	ReasonUpToDate          = "UpToDate"
	ReasonCopied            = "Copied"
	ReasonTagNotFound       = "TagNotFound"
	ReasonAuthFailed        = distribution.ReasonAuthFailed
	ReasonRateLimited       = distribution.ReasonRateLimited
	ReasonTransient         = distribution.ReasonTransient
	ReasonGateFailed        = "GateFailed"
	ReasonInvalidConstraint = "InvalidConstraint"
	// ReasonInvalidSelection is an image whose include or exclude pattern
	// or pinned tag does not parse.
	ReasonInvalidSelection = "InvalidSelection"
	// ReasonImmutableTagPresent is an immutable tag (Request.ImmutableTags)
	// found in the destination's tag list, counted up to date unread.
	ReasonImmutableTagPresent = "ImmutableTagPresent"
	// ReasonDestinationDiverged is a destination tag at another digest
	// that Request.KeepDivergedTags leaves alone.
	ReasonDestinationDiverged = "DestinationDiverged"
	ReasonDigestMismatch      = distribution.ReasonDigestMismatch
	ReasonListTagsFailed      = "ListTagsFailed"
	ReasonRegistryError       = distribution.ReasonRegistryError
	ReasonUnsupported         = distribution.ReasonUnsupported
	ReasonCanceled            = distribution.ReasonCanceled
	ReasonTLSFailed           = distribution.ReasonTLSFailed
	// ReasonBlockedDestination is the reason of a tag whose request was
	// not sent because the dial policy refused where it would have gone.
	ReasonBlockedDestination = distribution.ReasonBlockedDestination
	// Reasons of responses larger than the engine accepts.
	ReasonTagListTooLarge  = distribution.ReasonTagListTooLarge
	ReasonManifestTooLarge = distribution.ReasonManifestTooLarge
	ReasonBlobTooLarge     = distribution.ReasonBlobTooLarge
	// Why a dry run would copy a tag (OutcomeWouldCopy).
	ReasonDestinationMissing = "DestinationMissing"
	ReasonDestinationDiffers = "DestinationDiffers"
)

// ErrTooLarge matches (errors.Is) every response the engine refused for
// its size.
var ErrTooLarge = distribution.ErrTooLarge

// TagResult is the typed outcome of one tag. Image-level failures (for
// example an invalid semver constraint or a tag list that cannot be read)
// are reported with an empty Tag.
type TagResult struct {
	Image       string
	Tag         string
	Source      string // source reference (repository:tag)
	Destination string // destination reference (repository:tag)
	Digest      string // the source digest resolved once and copied (empty if unresolved)
	// WrittenDigest is the digest the destination holds for the tag when
	// it differs from Digest: an index filtered to Image.Platforms.
	WrittenDigest string
	// Platforms are the platforms of Image.Platforms the destination holds
	// for the tag (none without a filter).
	Platforms []string
	Outcome   Outcome
	Reason    string
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

// classify maps an error to a Reason and whether a later retry may help:
// a gate's verdict is GateFailed, and everything else is classified by the
// distribution client, which knows its own failures.
func classify(err error) (reason string, transient bool, retryAfter time.Time) {
	var ge *gateError
	if errors.As(err, &ge) {
		return ReasonGateFailed, false, time.Time{}
	}
	var pe *platformError
	if errors.As(err, &pe) {
		return ReasonPlatformMismatch, false, time.Time{}
	}
	return distribution.Classify(err)
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
	r.Message = distribution.Sanitize(ctx, err.Error())
}
