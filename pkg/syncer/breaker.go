package syncer

import (
	"fmt"
	"sync"
	"time"
)

// breaker stops requests to a registry host that answered many requests in
// a row with a server error: during an outage, every tag's retries would
// otherwise multiply the load on a registry that is already failing. After
// Options.BreakerCooldown one request goes through again; its success closes
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

// allow reports whether a request may be sent now. probe is true for the
// one request let through after the cooldown: if it is not sent after all,
// the caller calls abandon.
func (b *breaker) allow(host string, now time.Time) (probe bool, err error) {
	if b.threshold <= 0 {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openedAt.IsZero() {
		return false, nil
	}
	if until := b.openedAt.Add(b.cooldown); now.Before(until) || b.probing {
		return false, &breakerOpenError{host: host, until: until}
	}
	b.probing = true
	return true, nil
}

// abandon lets another request probe: the one allowed was not sent.
func (b *breaker) abandon() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// abandonIf abandons a probe whose request ended without an answer that
// says anything about the host (the caller's cancellation, a refused
// destination).
func (b *breaker) abandonIf(probe bool) {
	if probe {
		b.abandon()
	}
}

// record counts the outcome of a request that was sent: serverError is a
// 5xx answer or a failed connection.
func (b *breaker) record(serverError bool, now time.Time) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	wasOpen := !b.openedAt.IsZero()
	b.probing = false
	if !serverError {
		b.failures = 0
		b.openedAt = time.Time{}
	} else {
		b.failures++
		if b.failures >= b.threshold {
			b.openedAt = now
		}
	}
	isOpen := !b.openedAt.IsZero()
	b.mu.Unlock()
	if isOpen != wasOpen && b.changed != nil {
		b.changed(isOpen)
	}
}
