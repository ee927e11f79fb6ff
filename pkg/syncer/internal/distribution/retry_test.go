package distribution

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":     0,
		"0":    0,
		"7":    7 * time.Second,
		"-3":   0,
		"soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]challenge{
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"`: {scheme: "bearer", realm: "https://auth.docker.io/token", service: "registry.docker.io"},
		`Basic realm="Registry Realm"`:                       {scheme: "basic", realm: "Registry Realm"},
		`bearer realm=https://ghcr.io/token,service=ghcr.io`: {scheme: "bearer", realm: "https://ghcr.io/token", service: "ghcr.io"},
		``: {},
		`Bearer service="a, b",realm="https://x.example/t"`: {scheme: "bearer", realm: "https://x.example/t", service: "a, b"},
	} {
		if got := parseChallenge(in); got != want {
			t.Errorf("parseChallenge(%q) = %+v, want %+v", in, got, want)
		}
	}
}
