package syncer

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/portager/portager/internal/registrytest"
)

// TestSelectionRules: include, exclude, semver and maxTags against a tag
// list served 3 tags per page; the destination holds exactly the selected
// tags, and a tag two images select is synced once.
func TestSelectionRules(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(256, 1)
	tags := []string{"latest", "edge", "nightly", "1.0.0", "1.1.0", "1.1.1-rc.1", "v1.2.0", "1.2.5", "1.2.5-debug", "2.0.0", "2.0.0-rc1", "stable-2"}
	tests := []struct {
		name   string
		images []Image
		want   []string
	}{
		{"include alone: semver first, newest first, then reverse lexical",
			[]Image{{Name: "app", Include: []string{`1\.2\..*`, "edge", "latest"}}},
			[]string{"1.2.5", "1.2.5-debug", "latest", "edge"}},
		{"include and semver must both hold; exclude narrows",
			[]Image{{Name: "app", Semver: ">=1.0.0", Include: []string{`1\..*`}, Exclude: []string{`1\.1\..*`}}},
			[]string{"1.2.5", "1.0.0"}},
		{"maxTags over semver and other tags",
			[]Image{{Name: "app", Include: []string{"2.*", "stable-.*", "n.*"}, MaxTags: 3}},
			[]string{"2.0.0", "2.0.0-rc1", "stable-2"}},
		{"explicit tags first, not filtered, not counted",
			[]Image{{Name: "app", Tags: []string{"edge"}, Include: []string{"e.*", "l.*"}, Exclude: []string{"edge"}, MaxTags: 1}},
			[]string{"edge", "latest"}},
		{"two images selecting one tag sync it once",
			[]Image{{Name: "app", Tags: []string{"latest"}, Semver: "^2"}, {Name: "app", Include: []string{"latest", `2\.0\.0`}}},
			[]string{"latest", "2.0.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t, registrytest.WithPageSize(3))
			dst := registrytest.New(t)
			for _, tag := range tags {
				src.Push("lib/app:"+tag, img)
			}
			src.Reset()
			res := mustSync(t, newTestEngine(t, nil, src, dst), Request{
				Source: Endpoint{Registry: src.Ref("lib")}, Destination: Endpoint{Registry: dst.Host},
				Images: tc.images,
			})
			var got []string
			for _, r := range res {
				if r.Outcome == OutcomeFailed {
					t.Errorf("%s failed: %s %s", r.Tag, r.Reason, r.Message)
				}
				got = append(got, r.Tag)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("tags = %v, want %v", got, tc.want)
			}
			selected := map[string]bool{}
			for _, tag := range tc.want {
				selected[tag] = true
			}
			for _, tag := range tags {
				if has := dst.DigestOf("app:"+tag) != ""; has != selected[tag] {
					t.Errorf("destination has %s: %v, want %v", tag, has, selected[tag])
				}
			}
			// 12 tags at 3 per page: 4 pages per listing image.
			if n, lists := src.Count(http.MethodGet, "tags"), len(tc.images); n != 4*lists {
				t.Errorf("tag list requests = %d, want %d\n%s", n, 4*lists, src.Dump())
			}
		})
	}
}

// TestDigestEntries: manifests listed by digest are copied by digest and
// no tag is written; a re-run is up to date without a PUT; a source that
// answers for another digest than asked is refused.
func TestDigestEntries(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	tagged, _ := random.Image(128, 2)
	untagged, _ := random.Index(64, 1, 2)
	src.Push("app:1", tagged)
	src.Push("app@"+mustDigest(t, untagged), untagged)
	digests := []string{mustDigest(t, tagged), mustDigest(t, untagged)}
	e := newTestEngine(t, nil, src, dst)
	req := Request{Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Digests: digests}}}

	res := mustSync(t, e, req)
	for _, d := range digests {
		if r := resultFor(t, res, "app", d); r.Outcome != OutcomeCopied || r.Digest != d || !strings.HasSuffix(r.Destination, "@"+d) {
			t.Errorf("%s: %+v", d, r)
		}
		if dst.DigestOf("app@"+d) != d {
			t.Errorf("destination lacks %s", d)
		}
	}
	for _, r := range dst.Requests() {
		if r.Method == http.MethodPut && r.Kind == "manifest" && !strings.Contains(r.Path, "/manifests/sha256:") {
			t.Errorf("a tag was written: PUT %s", r.Path)
		}
	}
	if dst.DigestOf("app:1") != "" {
		t.Error("the source's tag reached the destination")
	}

	dst.Reset()
	for _, r := range mustSync(t, e, req) {
		if r.Outcome != OutcomeSkipped || r.Reason != ReasonUpToDate {
			t.Errorf("re-run: %+v", r)
		}
	}
	if n := dst.Count(http.MethodPut, ""); n != 0 {
		t.Errorf("re-run made %d PUTs", n)
	}

	// A source answering a digest's HEAD with another digest.
	other := registrytest.New(t)
	src.AddFault(&registrytest.Fault{Match: match(http.MethodHead, "manifest"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Content-Digest", digests[1])
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.WriteHeader(http.StatusOK)
	}})
	e = newTestEngine(t, nil, src, other)
	r := resultFor(t, mustSync(t, e, Request{Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: other.Host},
		Images: []Image{{Name: "app", Digests: digests[:1]}}}), "app", digests[0])
	if r.Outcome != OutcomeFailed || r.Reason != ReasonDigestMismatch {
		t.Errorf("lying source: %+v", r)
	}
	if n := other.Count(http.MethodPut, ""); n != 0 {
		t.Errorf("lying source: %d PUTs reached the destination", n)
	}
}

// TestPinnedTags: a tag pinned to the digest its source tag has is copied;
// pinned to another digest it fails as DigestMismatch and nothing is
// written for it.
func TestPinnedTags(t *testing.T) {
	t.Parallel()
	current, _ := random.Image(128, 1)
	stale, _ := random.Image(128, 1)
	tests := []struct {
		name       string
		pin        string
		wantReason string
		wantPuts   bool
	}{
		{"pin holds", mustDigest(t, current), ReasonCopied, true},
		{"pin broken", mustDigest(t, stale), ReasonDigestMismatch, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.New(t)
			dst := registrytest.New(t)
			src.Push("app:1.0", current)
			res := mustSync(t, newTestEngine(t, nil, src, dst), Request{
				Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
				Images: []Image{{Name: "app", Tags: []string{"1.0@" + tc.pin}}},
			})
			r := resultFor(t, res, "app", "1.0")
			if r.Reason != tc.wantReason || r.Digest != mustDigest(t, current) {
				t.Errorf("result %+v, want reason %s and the source's digest", r, tc.wantReason)
			}
			if puts := dst.Count(http.MethodPut, "") + dst.Count(http.MethodPost, ""); (puts > 0) != tc.wantPuts {
				t.Errorf("%d writes at the destination\n%s", puts, dst.Dump())
			}
			if tc.wantReason == ReasonDigestMismatch && (!strings.Contains(r.Message, tc.pin) || dst.DigestOf("app:1.0") != "") {
				t.Errorf("mismatch: message %q, destination %q", r.Message, dst.DigestOf("app:1.0"))
			}
		})
	}
}

// TestImmutableTags: immutable tags already in the destination's tag list
// are up to date without a manifest request on either side and without a
// gate call, even when the source moved them (the user's promise); an
// immutable tag the destination lacks is copied and gated as any other.
func TestImmutableTags(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	v1img, _ := random.Image(128, 1)
	v2img, _ := random.Image(128, 1)
	src.Push("app:v1.0.0", v1img)
	src.Push("app:v1.1.0", v1img)
	var gated atomic.Int32
	e := newTestEngine(t, nil, src, dst)
	req := Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images:        []Image{{Name: "app", Semver: "^1"}},
		ImmutableTags: `v[0-9]+\.[0-9]+\.[0-9]+`,
		Gate:          func(context.Context, *Subject) error { gated.Add(1); return nil },
	}
	for _, r := range mustSync(t, e, req) {
		if r.Outcome != OutcomeCopied {
			t.Errorf("first run: %+v", r)
		}
	}
	if gated.Load() != 2 {
		t.Errorf("first run gated %d tags, want 2", gated.Load())
	}

	src.Push("app:v1.0.0", v2img) // breaks the promise
	src.Push("app:v1.2.0", v2img)
	src.Reset()
	dst.Reset()
	gated.Store(0)
	res := mustSync(t, e, req)
	for tag, want := range map[string]string{"v1.0.0": ReasonImmutableTagPresent, "v1.1.0": ReasonImmutableTagPresent, "v1.2.0": ReasonCopied} {
		if r := resultFor(t, res, "app", tag); r.Reason != want {
			t.Errorf("%s: %+v, want %s", tag, r, want)
		}
	}
	if d := dst.DigestOf("app:v1.0.0"); d != mustDigest(t, v1img) {
		t.Errorf("a tag promised immutable was rewritten: %s", d)
	}
	if gated.Load() != 1 {
		t.Errorf("second run gated %d tags, want 1 (the new one)", gated.Load())
	}
	// Only the new tag's manifests are read; the others cost the
	// destination's one tag list.
	for side, reg := range map[string]*registrytest.Registry{"source": src, "destination": dst} {
		for _, r := range reg.Requests() {
			if r.Kind == "manifest" && !strings.HasSuffix(r.Path, ":v1.2.0") && !strings.HasSuffix(r.Path, "/v1.2.0") && !strings.Contains(r.Path, "/manifests/sha256") {
				t.Errorf("%s: manifest request for an immutable tag: %s %s", side, r.Method, r.Path)
			}
		}
	}
	if n := dst.Count(http.MethodGet, "tags"); n != 1 {
		t.Errorf("destination tag lists = %d, want 1", n)
	}

	// Nothing new: zero manifest requests on either side.
	src.Reset()
	dst.Reset()
	for _, r := range mustSync(t, e, req) {
		if r.Reason != ReasonImmutableTagPresent {
			t.Errorf("third run: %+v", r)
		}
	}
	if n := src.Count("", "manifest") + dst.Count("", "manifest"); n != 0 {
		t.Errorf("third run made %d manifest requests\nsource:\n%s\ndestination:\n%s", n, src.Dump(), dst.Dump())
	}

	// A pin is checked even on an immutable tag the destination lists:
	// v1.0.0 moved at the source, away from its pin.
	pinned := req
	pinned.Images = []Image{{Name: "app", Tags: []string{"v1.0.0@" + mustDigest(t, v1img)}}}
	dst.Reset()
	if r := resultFor(t, mustSync(t, e, pinned), "app", "v1.0.0"); r.Reason != ReasonDigestMismatch {
		t.Errorf("pinned immutable tag: %+v, want %s", r, ReasonDigestMismatch)
	}
	if n := dst.Count(http.MethodPut, ""); n != 0 {
		t.Errorf("pinned immutable tag: %d PUTs", n)
	}
}

// TestKeepDivergedTags: with KeepDivergedTags a destination tag at another
// digest is left alone and fails as DestinationDiverged, in a run and in a
// dry run; a tag at the same digest is up to date and a missing one is
// copied, without a write for the first.
func TestKeepDivergedTags(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	ours, _ := random.Image(128, 1)
	theirs, _ := random.Image(128, 1)
	for _, tag := range []string{"diverged", "same", "missing"} {
		src.Push("app:"+tag, ours)
	}
	dst.Push("app:diverged", theirs)
	dst.Push("app:same", ours)
	dst.Reset()
	e := newTestEngine(t, nil, src, dst)
	for _, dryRun := range []bool{true, false} {
		res := mustSync(t, e, Request{
			Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
			Images:           []Image{{Name: "app", Tags: []string{"diverged", "same", "missing"}}},
			KeepDivergedTags: true, DryRun: dryRun,
		})
		wantMissing := ReasonCopied
		if dryRun {
			wantMissing = ReasonDestinationMissing
		}
		for tag, want := range map[string]string{"diverged": ReasonDestinationDiverged, "same": ReasonUpToDate, "missing": wantMissing} {
			if r := resultFor(t, res, "app", tag); r.Reason != want {
				t.Errorf("dry run %v, %s: %+v, want %s", dryRun, tag, r, want)
			}
		}
	}
	if d := dst.DigestOf("app:diverged"); d != mustDigest(t, theirs) {
		t.Errorf("diverged tag moved to %s", d)
	}
	for _, r := range dst.Requests() {
		if r.Method == http.MethodPut && r.Kind == "manifest" && !strings.HasSuffix(r.Path, "/missing") {
			t.Errorf("written: PUT %s", r.Path)
		}
	}
}

// TestInvalidSelectionReadsNoTagList: a pattern the engine cannot compile
// (the API refuses it; a caller of the engine may not) fails the image as
// InvalidSelection without a tag list request, and its explicit tags are
// still synced.
func TestInvalidSelectionReadsNoTagList(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(128, 1)
	src.Push("app:1", img)
	src.Push("app:2", img)
	src.Reset()
	res := mustSync(t, newTestEngine(t, nil, src, dst), Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"1"}, Include: []string{"("}}},
	})
	if r := resultFor(t, res, "app", ""); r.Outcome != OutcomeFailed || r.Reason != ReasonInvalidSelection {
		t.Errorf("image result: %+v", r)
	}
	if r := resultFor(t, res, "app", "1"); r.Outcome != OutcomeCopied {
		t.Errorf("explicit tag: %+v", r)
	}
	if n := src.Count(http.MethodGet, "tags"); n != 0 {
		t.Errorf("tag list requests = %d, want 0", n)
	}
	if dst.DigestOf("app:2") != "" {
		t.Error("a tag the broken pattern could not select was copied")
	}
}
