package distribution

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// watchdog bounds a request twice: it cancels the request at an absolute
// deadline (response and body), and earlier when the request stops moving.
// It checks in windows of the stall timeout. While the request waits (for
// its response, or for the registry to acknowledge an upload), a window
// that ends before the response arrives ends the request. While a body
// streams (a response body, or an upload's request body), every window
// must move at least minBytes: a registry that sends a trickle (a byte a
// second) is cut off after one window, not at the end of a deadline that
// grows with the blob's size, so it does not keep the slots the transfer
// holds on both registries.
type watchdog struct {
	timer     *time.Timer
	window    time.Duration
	minBytes  int64
	streaming atomic.Bool
	moved     atomic.Int64
	cancel    context.CancelCauseFunc
	deadline  context.CancelFunc
}

// lowSpeedFraction sets a window's minimum: a body must move at least this
// fraction of what Config.MinTransferRate would move in the window. A body
// slower than that for a whole window would miss its deadline by far.
const lowSpeedFraction = 8

// newWatchdog starts a watchdog in the waiting state. minRate is the
// slowest rate, in bytes per second, a streaming body may keep for a whole
// window before it counts as stalled (at least a byte per window).
func newWatchdog(ctx context.Context, stall, deadline time.Duration, minRate int64) (context.Context, *watchdog) {
	ctx, cancelDeadline := context.WithTimeoutCause(ctx, deadline, errDeadline)
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{window: stall, cancel: cancel, deadline: cancelDeadline,
		minBytes: max(1, int64(float64(minRate)/lowSpeedFraction*stall.Seconds()))}
	w.timer = time.AfterFunc(stall, w.check)
	return ctx, w
}

// check runs at the end of each window.
func (w *watchdog) check() {
	if !w.streaming.Load() {
		w.cancel(errWatchdog)
		return
	}
	if w.moved.Swap(0) < w.minBytes {
		w.cancel(errTooSlow)
		return
	}
	w.timer.Reset(w.window)
}

// stream starts a fresh window in which a body moves.
func (w *watchdog) stream() {
	w.moved.Store(0)
	w.streaming.Store(true)
	w.timer.Reset(w.window)
}

// wait starts a fresh window in which the request waits for the registry.
func (w *watchdog) wait() {
	w.streaming.Store(false)
	w.timer.Reset(w.window)
}

// progress records n bytes moved.
func (w *watchdog) progress(n int) { w.moved.Add(int64(n)) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(context.Canceled)
	w.deadline()
}

// timedOut returns the watchdog's cause when it ended ctx.
func timedOut(ctx context.Context) error {
	switch cause := context.Cause(ctx); cause {
	case errWatchdog, errTooSlow, errDeadline:
		return cause
	}
	return nil
}

// requestDeadline is the absolute deadline of a request that carries a body
// of size bytes: OperationTimeout, plus the time the body takes at
// MinTransferRate.
func (c *Client) requestDeadline(size int64) time.Duration {
	d := c.cfg.OperationTimeout
	if size > 0 {
		d += time.Duration(float64(size) / float64(c.cfg.MinTransferRate) * float64(time.Second))
	}
	return d
}

// watchedBody reports a response body's progress to the watchdog and
// releases it on Close.
type watchedBody struct {
	io.ReadCloser
	w       *watchdog
	ctx     context.Context
	release func()
	closed  bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.progress(n)
	if err != nil && err != io.EOF {
		if cause := timedOut(b.ctx); cause != nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.closed {
		b.closed = true
		b.w.stop()
		b.release()
	}
	return err
}

// progressReader reports an upload's progress to the watchdog as the request
// body is consumed, and puts the watchdog back to waiting when the body
// ends, while the registry digests what it received.
type progressReader struct {
	r io.Reader
	w *watchdog
	// n is atomic: the transport may still be reading the body in its own
	// goroutine when the response (e.g. an early error) has come back.
	n atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	p.w.progress(n)
	if err == io.EOF {
		p.w.wait()
	}
	return n, err
}
