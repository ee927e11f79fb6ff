package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay returns the wait before retry number attempt (0 for the first
// retry): d = base·2^attempt, at most limit, drawn uniformly from
// [d/2, d]. The jitter never takes a delay above limit, so limit is a
// promise callers can document.
func Delay(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	if d > limit || d <= 0 {
		d = limit
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
