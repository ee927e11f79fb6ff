package distribution

import (
	"fmt"
	"testing"
	"time"
)

// TestBreakerProbe: after the cooldown exactly one request probes the host;
// a probe that was not sent lets the next request probe, a server error
// reopens the breaker for another cooldown, and an answer closes it.
func TestBreakerProbe(t *testing.T) {
	t.Parallel()
	var changes []bool
	b := &breaker{threshold: 2, cooldown: 20 * time.Millisecond, changed: func(open bool) { changes = append(changes, open) }}
	admit := func() func(requestOutcome) {
		t.Helper()
		report, err := b.admit("r.example", time.Now())
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return report
	}
	refused := func() {
		t.Helper()
		if _, err := b.admit("r.example", time.Now()); err == nil {
			t.Fatal("admitted while open")
		}
	}
	admit()(serverError)
	admit()(serverError) // opens
	refused()
	time.Sleep(25 * time.Millisecond)
	probe := admit()
	refused() // one probe at a time
	probe(notSent)
	probe = admit() // the next request probes instead
	probe(serverError)
	refused() // another cooldown
	time.Sleep(25 * time.Millisecond)
	admit()(answered)
	admit()(answered)
	if fmt.Sprint(changes) != "[true false]" {
		t.Errorf("changes = %v, want open then closed", changes)
	}
}
