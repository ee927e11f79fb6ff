package distribution

import (
	"fmt"
	"sync"
	"time"
)

// breaker stops requests to a registry host that answered many requests in
// a row with a server error: during an outage, every tag's retries would
// otherwise multiply the load on a registry that is already failing. After
// Config.BreakerCooldown one request goes through again; its success closes
// the breaker, its failure opens it for another cooldown.
type breaker struct {
	threshold int
	cooldown  time.Duration
	// changed, if set, is told when the breaker opens (true) or closes.
	changed func(open bool)

	mu       sync.Mutex
	failures int       // server errors in a row
	openedAt time.Time // zero while closed
	probing  bool      // a request after the cooldown is under way
}

// breakerOpenError is a request not sent because the host's breaker is
// open. It is transient: the controller retries the tag after its backoff.
type breakerOpenError struct {
	host  string
	until time.Time
}

func (e *breakerOpenError) Error() string {
	return fmt.Sprintf("registry %s answered many requests in a row with server errors; requests to it are paused until %s",
		e.host, e.until.UTC().Format(time.RFC3339))
}

// requestOutcome is what a request admitted by the breaker told about its
// host.
type requestOutcome int

const (
	// notSent: the request was not sent, or ended without an answer that
	// says anything about the host (the caller's cancellation, a refused
	// destination).
	notSent requestOutcome = iota
	// answered: the host answered below 500.
	answered
	// serverError: the host answered 5xx, or did not answer at all.
	serverError
)

// admit reports whether a request may be sent now. While the breaker is
// open it refuses, except for one request after each cooldown, the probe.
// The caller reports the admitted request's outcome exactly once; a probe
// reported notSent lets the next request probe instead.
func (b *breaker) admit(host string, now time.Time) (report func(requestOutcome), err error) {
	if b.threshold <= 0 {
		return func(requestOutcome) {}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	probe := false
	if !b.openedAt.IsZero() {
		if until := b.openedAt.Add(b.cooldown); now.Before(until) || b.probing {
			return nil, &breakerOpenError{host: host, until: until}
		}
		b.probing, probe = true, true
	}
	return func(o requestOutcome) { b.record(o, probe) }, nil
}

// record counts the outcome of an admitted request.
func (b *breaker) record(o requestOutcome, probe bool) {
	b.mu.Lock()
	if probe {
		b.probing = false
	}
	if o == notSent {
		b.mu.Unlock()
		return
	}
	wasOpen := !b.openedAt.IsZero()
	if o == answered {
		b.failures = 0
		b.openedAt = time.Time{}
	} else if b.failures++; b.failures >= b.threshold {
		b.openedAt = time.Now()
	}
	isOpen := !b.openedAt.IsZero()
	b.mu.Unlock()
	if isOpen != wasOpen && b.changed != nil {
		b.changed(isOpen)
	}
}
