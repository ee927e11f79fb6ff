package syncer

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestUpToDateCostsTwoHEADs: an up-to-date tag costs exactly one manifest
// HEAD on the source and one on the destination; no GET, no blob request,
// and no /v2/ ping: anonymous sides never ping (a side with credentials
// pings at most once per host for the engine's lifetime, see auth_test.go).
func TestUpToDateCostsTwoHEADs(t *testing.T) {
	t.Parallel()
	src := newTestRegistry(t)
	dst := newTestRegistry(t)
	idx, _ := random.Index(512, 2, 2)
	img, _ := random.Image(512, 2)
	src.push("team/a:1", img)
	src.push("team/a:2", idx)
	src.push("team/b:1", img)
	req := Request{
		Source:           Endpoint{Registry: src.ref("team")},
		Destination:      Endpoint{Registry: dst.host},
		RepositoryPrefix: "m",
		Images:           []Image{{Name: "a", Tags: []string{"1", "2"}}, {Name: "b", Tags: []string{"1"}}},
	}
	e := newTestEngine(t, nil, src, dst)
	for _, r := range mustSync(t, e, req) {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("first run: %+v", r)
		}
	}

	tests := []struct {
		name      string
		engine    *Engine
		wantPings int
	}{
		{name: "same engine, second run", engine: e, wantPings: 0},
		{name: "fresh engine", engine: newTestEngine(t, nil, src, dst), wantPings: 0},
	}
	for _, tc := range tests {
		src.reset()
		dst.reset()
		res := mustSync(t, tc.engine, req)
		for _, r := range res {
			if r.Outcome != OutcomeSkipped || r.Reason != ReasonUpToDate || r.Bytes != 0 {
				t.Errorf("%s: %s:%s = %+v", tc.name, r.Image, r.Tag, r)
			}
		}
		for _, reg := range []*testRegistry{src, dst} {
			if n := reg.count(http.MethodHead, "manifest"); n != 3 {
				t.Errorf("%s: manifest HEADs = %d, want 3 (one per tag)", tc.name, n)
			}
			if n := reg.count("", "ping"); n != tc.wantPings {
				t.Errorf("%s: pings = %d, want %d", tc.name, n, tc.wantPings)
			}
			if n := len(reg.all()); n != 3+tc.wantPings {
				t.Errorf("%s: total requests = %d, want %d:\n%s", tc.name, n, 3+tc.wantPings, reg.dump())
			}
		}
	}
}
