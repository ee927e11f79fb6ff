package syncer

import (
	"strings"
	"testing"
)

// TestUserAgent: every request of a run, the ping, the token requests and
// each registry call, names Portager (or the caller's agent) rather than
// Go's default.
func TestUserAgent(t *testing.T) {
	t.Parallel()
	if ua := DefaultUserAgent(); !strings.HasPrefix(ua, "portager/") || len(ua) == len("portager/") {
		t.Fatalf("DefaultUserAgent() = %q, want portager/VERSION", ua)
	}
	for _, tc := range []struct {
		name, set, want string
	}{
		{"default", "", DefaultUserAgent()},
		{"set by the caller", "mirror-bot/2.1", "mirror-bot/2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newTokenFixture(t)
			f.copyApp(t, f.engine(t, func(o *Options) { o.UserAgent = tc.set }))
			kinds := map[string]int{}
			for _, rec := range f.reg.Requests() {
				kinds[rec.Kind]++
				if rec.UserAgent != tc.want {
					t.Errorf("%s %s%s: User-Agent %q, want %q", rec.Method, rec.Path, rec.Query, rec.UserAgent, tc.want)
				}
			}
			if kinds["ping"] == 0 || kinds["blob"] == 0 || kinds["manifest"] == 0 {
				t.Errorf("requests by kind = %v: want pings, manifest and blob requests among them", kinds)
			}
			f.ts.mu.Lock()
			defer f.ts.mu.Unlock()
			if len(f.ts.agents) == 0 {
				t.Error("no token requests")
			}
			for _, ua := range f.ts.agents {
				if ua != tc.want {
					t.Errorf("token request: User-Agent %q, want %q", ua, tc.want)
				}
			}
		})
	}
}
