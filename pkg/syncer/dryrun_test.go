package syncer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// TestDryRun: a dry run resolves, gates and compares every tag as a run
// does and reports what a run would copy, but the destination only sees
// manifest HEADs: no blob, upload or manifest write, and its tags keep
// their digests. A real run afterwards copies exactly the tags the dry run
// named.
func TestDryRun(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	current, _ := random.Image(512, 2)
	moved, _ := random.Image(512, 2)
	stale, _ := random.Image(512, 2)
	idx, _ := random.Index(512, 2, 2)
	blocked, _ := random.Image(512, 2)
	src.Push("up/app:1", current)
	src.Push("up/app:2", moved)
	src.Push("up/app:3", idx)
	src.Push("up/app:4", blocked)
	dst.Push("m/app:1", current)
	dst.Push("m/app:2", stale)

	req := Request{
		Source:           Endpoint{Registry: src.Ref("up")},
		Destination:      Endpoint{Registry: dst.Host},
		RepositoryPrefix: "m",
		Images:           []Image{{Name: "app", Tags: []string{"1", "2", "3", "4", "5"}}},
		// The gate still runs: a dry run says what a run would refuse.
		Gate: func(_ context.Context, s *Subject) error {
			if s.Digest.DigestStr() == mustDigest(t, blocked) {
				return Rejected(errors.New("not signed"))
			}
			return nil
		},
		DryRun: true,
	}
	e := newTestEngine(t, nil, src, dst)
	dst.Reset()
	res := mustSync(t, e, req)

	tests := []struct {
		tag         string
		outcome     Outcome
		reason      string
		digest      string // the source digest
		message     string // substring
		dstDigest   string // at the destination afterwards (unchanged)
		copiedAfter bool   // a real run then copies it
	}{
		{tag: "1", outcome: OutcomeSkipped, reason: ReasonUpToDate, digest: mustDigest(t, current), dstDigest: mustDigest(t, current)},
		{tag: "2", outcome: OutcomeWouldCopy, reason: ReasonDestinationDiffers, digest: mustDigest(t, moved),
			message: "destination has " + mustDigest(t, stale), dstDigest: mustDigest(t, stale), copiedAfter: true},
		{tag: "3", outcome: OutcomeWouldCopy, reason: ReasonDestinationMissing, digest: mustDigest(t, idx), copiedAfter: true},
		{tag: "4", outcome: OutcomeFailed, reason: ReasonGateFailed, digest: mustDigest(t, blocked), message: "not signed"},
		{tag: "5", outcome: OutcomeFailed, reason: ReasonTagNotFound},
	}
	if len(res) != len(tests) {
		t.Fatalf("%d results, want %d: %+v", len(res), len(tests), res)
	}
	for _, tc := range tests {
		r := resultFor(t, res, "app", tc.tag)
		if r.Outcome != tc.outcome || r.Reason != tc.reason || r.Digest != tc.digest || r.Bytes != 0 ||
			!strings.Contains(r.Message, tc.message) {
			t.Errorf("app:%s = %+v, want %s/%s digest %q message containing %q", tc.tag, r, tc.outcome, tc.reason, tc.digest, tc.message)
		}
		if got := dst.DigestOf("m/app:" + tc.tag); got != tc.dstDigest {
			t.Errorf("after the dry run the destination's app:%s is %q, want %q", tc.tag, got, tc.dstDigest)
		}
	}
	for _, rec := range dst.Requests() {
		if rec.Method != http.MethodHead || rec.Kind != "manifest" {
			t.Errorf("dry run sent %s %s (%s) to the destination, want manifest HEADs only", rec.Method, rec.Path, rec.Kind)
		}
	}
	// One per tag: the destination's HEAD goes out with the source's.
	if n := dst.Count(http.MethodHead, "manifest"); n != len(tests) {
		t.Errorf("destination manifest HEADs = %d, want %d:\n%s", n, len(tests), dst.Dump())
	}

	req.DryRun = false
	res = mustSync(t, e, req)
	for _, tc := range tests {
		r := resultFor(t, res, "app", tc.tag)
		if copied := r.Outcome == OutcomeCopied; copied != tc.copiedAfter {
			t.Errorf("real run after the dry run: app:%s = %+v, want copied %v", tc.tag, r, tc.copiedAfter)
		}
	}
}

// TestDryRunAsksForPullOnly: a dry run's destination token names pull
// access only, so read-only destination credentials are enough.
func TestDryRunAsksForPullOnly(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	r := mustSync(t, f.engine(t, nil), Request{
		Source:           Endpoint{Registry: f.reg.Ref("src"), Keychain: f.kc},
		Destination:      Endpoint{Registry: f.reg.Host, Keychain: f.kc},
		RepositoryPrefix: "dst",
		Images:           []Image{{Name: "app", Tags: []string{"1"}}},
		DryRun:           true,
	})[0]
	if r.Outcome != OutcomeWouldCopy || r.Reason != ReasonDestinationMissing {
		t.Fatalf("%+v\n%s", r, f.reg.Dump())
	}
	f.ts.mu.Lock()
	defer f.ts.mu.Unlock()
	if len(f.ts.issued) == 0 {
		t.Fatal("no token was issued")
	}
	for _, scopes := range f.ts.issued {
		if strings.Contains(scopes, "push") {
			t.Errorf("dry run asked for %q, want pull only", scopes)
		}
	}
}
