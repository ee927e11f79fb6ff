package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		base, limit  time.Duration
		attempt      int
		wantAtMost   time.Duration // d; every delay is in [d/2, d]
		wantJittered bool
	}{
		{"first retry", 100 * time.Millisecond, 10 * time.Second, 0, 100 * time.Millisecond, true},
		{"doubles", 100 * time.Millisecond, 10 * time.Second, 3, 800 * time.Millisecond, true},
		{"capped", 100 * time.Millisecond, 10 * time.Second, 7, 10 * time.Second, true},
		{"far past the cap does not overflow", 5 * time.Second, 5 * time.Minute, 100, 5 * time.Minute, true},
		{"a zero base waits the limit", 0, time.Second, 2, time.Second, true},
		{"nothing to jitter", time.Nanosecond, time.Nanosecond, 0, time.Nanosecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 50 {
				d := Delay(tc.base, tc.limit, tc.attempt)
				if d < tc.wantAtMost/2 || d > tc.wantAtMost {
					t.Fatalf("Delay = %v, outside [%v, %v]", d, tc.wantAtMost/2, tc.wantAtMost)
				}
				seen[d] = true
			}
			if tc.wantJittered && len(seen) < 2 {
				t.Errorf("50 delays were all %v: no jitter", tc.wantAtMost)
			}
		})
	}
}
