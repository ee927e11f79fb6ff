package distribution

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/backoff"
)

// maxBackoff caps a single retry delay so a run never stalls on its own
// retries; the controller owns longer-term backoff.
const maxBackoff = 10 * time.Second

// parseRetryAfter reads a Retry-After header (delta-seconds or HTTP date).
// It returns 0 when the header is missing or unparseable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether err is worth another attempt within this run.
// Rate limits are handled where the Retry-After header is known, so they are
// not retried here; neither is a request an open breaker held back.
func retryable(ctx context.Context, err error) bool {
	var bo *breakerOpenError
	if ctx.Err() != nil || errors.As(err, &bo) {
		return false
	}
	reason, transient, _ := Classify(err)
	return transient && reason != ReasonRateLimited && reason != ReasonCanceled
}

// waitRateLimit sleeps for a 429's Retry-After (already known to be within
// the cap), or a jittered backoff when the registry gave none.
func (c *Client) waitRateLimit(ctx context.Context, rl *rateLimitError, attempt int) error {
	d := rl.wait
	if d == 0 {
		d = backoff.Delay(c.cfg.RetryBackoff, maxBackoff, attempt)
	}
	klog.FromContext(ctx).V(2).Info("rate limited, waiting", "operation", Sanitize(ctx, rl.op), "delay", d)
	return sleep(ctx, d)
}

// retryPolicy says what one retry loop may repeat. The client retries at
// two levels with the same loop: a request (Repository.do) and an
// operation made of several requests (a blob copy, a ping), which can
// replay what a single request cannot, such as a streamed upload.
type retryPolicy struct {
	// replayAfterReauth replays once, outside the retry budget, an attempt
	// that failed with a 401 after which the credentials were refreshed.
	replayAfterReauth bool
	// noRetry returns every other failure at once: the caller retries the
	// whole operation, or must see the first answer.
	noRetry bool
}

// withRetry runs fn until it succeeds, fails permanently or the retry
// budget is spent: a 429 within RetryAfterCap waits as the registry asked, a
// transient failure waits a jittered backoff, and a 401 after refreshed
// credentials is replayed once if p allows it.
func (c *Client) withRetry(ctx context.Context, what string, p retryPolicy, fn func(ctx context.Context) error) error {
	reauthed := false
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		var ra *reauthError
		if errors.As(err, &ra) {
			if p.replayAfterReauth && !reauthed && ctx.Err() == nil {
				reauthed = true
				attempt--
				continue
			}
			return err
		}
		if p.noRetry || attempt >= c.cfg.MaxRetries {
			return err
		}
		var rl *rateLimitError
		if errors.As(err, &rl) {
			if !rl.honour {
				return err
			}
			if werr := c.waitRateLimit(ctx, rl, attempt); werr != nil {
				return err
			}
			continue
		}
		if !retryable(ctx, err) {
			return err
		}
		d := backoff.Delay(c.cfg.RetryBackoff, maxBackoff, attempt)
		klog.FromContext(ctx).V(2).Info("retrying after transient error", "operation", Sanitize(ctx, what), "attempt", attempt+1, "delay", d, "error", Sanitize(ctx, err.Error()))
		if serr := sleep(ctx, d); serr != nil {
			return err
		}
	}
}

// Retry runs fn, an operation made of several requests such as a blob
// transfer, with the loop a single request gets: a transient failure
// waits a jittered backoff, a 429 within RetryAfterCap waits as the
// registry asked, and a 401 after which credentials were refreshed is
// replayed once. The requests inside fn that are not retried on their own
// (uploads, blob streams) are retried this way, as a whole.
func (c *Client) Retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return c.withRetry(ctx, what, retryPolicy{replayAfterReauth: true}, fn)
}
