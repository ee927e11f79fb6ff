package syncer

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// TestSemverAgainstPaginatedTagList resolves constraints against a tag list
// served 3 tags per page with Link headers, and copies exactly the
// resolved tags.
func TestSemverAgainstPaginatedTagList(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t, registrytest.WithPageSize(3))
	dst := registrytest.New(t)
	img, _ := random.Image(256, 1)
	tags := []string{"latest", "1.0.0", "1.1.0", "v1.2.0", "1.2.5", "1.3.0", "2.0.0", "2.0.1-beta", "garbage", "1.2"}
	for _, tag := range tags {
		src.Push("lib/app:"+tag, img)
	}
	src.Reset()
	e := newTestEngine(t, nil, src, dst)
	res := mustSync(t, e, Request{
		Source:           Endpoint{Registry: src.Ref("lib")},
		Destination:      Endpoint{Registry: dst.Host},
		RepositoryPrefix: "mirror",
		Images:           []Image{{Name: "app", Tags: []string{"latest"}, Semver: ">=1.1.0 <2.0.0", MaxTags: 3}},
	})
	var got []string
	for _, r := range res {
		got = append(got, r.Tag)
		if r.Outcome == OutcomeFailed {
			t.Errorf("%s failed: %s %s", r.Tag, r.Reason, r.Message)
		}
	}
	// "1.2" is semver 1.2.0 and ties with "v1.2.0"; ties sort by tag name.
	want := []string{"latest", "1.3.0", "1.2.5", "1.2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tags = %v, want %v", got, want)
	}
	// 10 tags at 3 per page = 4 pages, each requested exactly once.
	if n := src.Count(http.MethodGet, "tags"); n != 4 {
		t.Errorf("tag list requests = %d, want 4\n%s", n, src.Dump())
	}
	for _, tag := range want {
		if d := dst.DigestOf("mirror/app:" + tag); d != mustDigest(t, img) {
			t.Errorf("dst mirror/app:%s = %q, want %s", tag, d, mustDigest(t, img))
		}
	}
	if d := dst.DigestOf("mirror/app:1.1.0"); d != "" {
		t.Errorf("1.1.0 beyond maxTags was copied")
	}
}

func TestInvalidConstraintIsImageResult(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	img, _ := random.Image(64, 1)
	src.Push("app:latest", img)
	src.Reset()
	e := newTestEngine(t, nil, src, dst)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: []string{"latest"}, Semver: "not a constraint"}},
	})
	if len(res) != 2 {
		t.Fatalf("results = %+v", res)
	}
	if res[0].Tag != "" || res[0].Reason != ReasonInvalidConstraint || res[0].Transient {
		t.Errorf("image result = %+v", res[0])
	}
	if res[1].Tag != "latest" || res[1].Outcome != OutcomeCopied {
		t.Errorf("explicit tag result = %+v", res[1])
	}
	if n := src.Count(http.MethodGet, "tags"); n != 0 {
		t.Errorf("listed tags %d times for an invalid constraint", n)
	}
}
