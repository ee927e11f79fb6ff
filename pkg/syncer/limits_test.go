package syncer

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/internal/memtest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// streamJSON writes head, n items made by item (comma separated), and tail,
// in small writes, so the test registry holds none of it in memory.
func streamJSON(w io.Writer, head string, n int, item func(i int) string, tail string) {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(head)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		if _, err := bw.WriteString(item(i)); err != nil {
			return // the client hung up, as it should
		}
	}
	bw.WriteString(tail)
	bw.Flush()
}

// serveManifests answers HEAD and GET of the given manifests (by tag or
// digest) with their digest and media type.
func serveManifests(reg *registrytest.Registry, manifests map[string][]byte, mt types.MediaType) {
	reg.AddFault(&registrytest.Fault{Match: func(r *http.Request) bool {
		if registrytest.KindOf(r) != "manifest" {
			return false
		}
		_, ok := manifests[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]
		return ok
	}, Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		raw := manifests[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]
		sum := sha256.Sum256(raw)
		w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
		w.Header().Set("Content-Type", string(mt))
		w.Header().Set("Content-Length", fmt.Sprint(len(raw)))
		if r.Method == http.MethodGet {
			w.Write(raw)
		}
	}})
}

func digestOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestHostileResponsesBounded: responses far beyond the engine's bounds
// fail the image or tag with a clear reason, and the heap grows by a
// bounded amount while the engine reads them. Not parallel: it measures
// the heap.
func TestHostileResponsesBounded(t *testing.T) {
	const heapBound = 48 << 20
	tests := []struct {
		name       string
		setup      func(reg *registrytest.Registry)
		image      Image
		wantReason string
	}{
		{
			name: "a 64 MiB manifest",
			setup: func(reg *registrytest.Registry) {
				reg.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "manifest"), Times: -1, Handle: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
					chunk := strings.Repeat("a", 64<<10)
					streamJSON(w, `{"schemaVersion":2,"annotations":{"pad":"`, 1024, func(int) string { return chunk }, `"}}`)
				}})
			},
			image:      Image{Name: "app", Tags: []string{"1"}},
			wantReason: ReasonManifestTooLarge,
		},
		{
			name: "a 2,000,000-tag list",
			setup: func(reg *registrytest.Registry) {
				reg.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "tags"), Times: -1, Handle: func(w http.ResponseWriter, _ *http.Request) {
					streamJSON(w, `{"name":"src/app","tags":[`, 2_000_000, func(i int) string { return fmt.Sprintf(`"1.0.%d"`, i) }, `]}`)
				}})
			},
			image:      Image{Name: "app", Semver: ">=1"},
			wantReason: ReasonTagListTooLarge,
		},
		{
			name: "a tag list of 10,000 pages",
			setup: func(reg *registrytest.Registry) {
				reg.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "tags"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
					n := len(r.URL.RawQuery)
					w.Header().Set("Link", fmt.Sprintf(`</v2/src/app/tags/list?p=%s>; rel="next"`, strings.Repeat("x", n+1)))
					streamJSON(w, `{"name":"src/app","tags":[`, 1000, func(i int) string { return fmt.Sprintf(`"%d.%d.0"`, n, i) }, `]}`)
				}})
			},
			image:      Image{Name: "app", Semver: ">=1"},
			wantReason: ReasonTagListTooLarge,
		},
		{
			name: "a 10,000-child index",
			setup: func(reg *registrytest.Registry) {
				var sb strings.Builder
				streamJSON(&sb, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`, 10_000, func(i int) string {
					sum := sha256.Sum256([]byte(fmt.Sprint(i)))
					return fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%x","size":500}`, sum)
				}, `]}`)
				raw := []byte(sb.String())
				serveManifests(reg, map[string][]byte{"1": raw, digestOf(raw): raw}, types.OCIImageIndex)
			},
			image:      Image{Name: "app", Tags: []string{"1"}},
			wantReason: ReasonManifestTooLarge,
		},
		{
			name: "indexes nested ten deep",
			setup: func(reg *registrytest.Registry) {
				img, _ := random.Image(100, 1)
				raw, _ := img.RawManifest()
				manifests := map[string][]byte{digestOf(raw): raw}
				child := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: digestOf(raw)[7:]}, Size: int64(len(raw))}
				for i := 0; i < 10; i++ {
					raw, _ = json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{child}})
					manifests[digestOf(raw)] = raw
					child = v1.Descriptor{MediaType: types.OCIImageIndex, Digest: v1.Hash{Algorithm: "sha256", Hex: digestOf(raw)[7:]}, Size: int64(len(raw))}
				}
				manifests["1"] = raw
				serveManifests(reg, manifests, types.OCIImageIndex)
			},
			image:      Image{Name: "app", Tags: []string{"1"}},
			wantReason: ReasonManifestTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := registrytest.New(t)
			dst := registrytest.New(t)
			img, _ := random.Image(100, 1)
			src.Push("src/app:1", img)
			tc.setup(src)
			e := newTestEngine(t, func(o *Options) { o.MaxRetries = -1 }, src, dst)
			var res []TagResult
			growth := memtest.HeapGrowth(func() {
				res = mustSync(t, e, Request{
					Source: Endpoint{Registry: src.Ref("src")}, Destination: Endpoint{Registry: dst.Host},
					Images: []Image{tc.image},
				})
			})
			t.Logf("heap grew by %.1f MiB", float64(growth)/(1<<20))
			if len(res) == 0 || res[0].Reason != tc.wantReason || res[0].Transient {
				t.Fatalf("results = %+v, want the first %s and not transient", res, tc.wantReason)
			}
			if growth > heapBound {
				t.Errorf("heap grew by %d MiB, bound %d MiB", growth>>20, heapBound>>20)
			}
			if got := dst.Count(http.MethodPut, "manifest"); got != 0 {
				t.Errorf("destination got %d manifest PUTs", got)
			}
		})
	}
}

// TestManyLargeManifestsBounded: a run over many tags whose manifests are
// each near the 4 MiB limit holds a bounded amount of them at once (reads
// share ReadMemory, the run's cache is capped), and copies every tag. Not
// parallel: it measures the heap.
func TestManyLargeManifestsBounded(t *testing.T) {
	const tags = 40
	src := registrytest.New(t)
	dst := registrytest.New(t)
	base, _ := random.Image(100, 1)
	src.Push("src/app:base", base)
	pad := strings.Repeat("p", distribution.MaxManifestSize-8<<10)
	manifests := map[string][]byte{}
	var names []string
	for i := 0; i < tags; i++ {
		img := mutate.Annotations(base, map[string]string{"pad": pad, "i": fmt.Sprint(i)}).(v1.Image)
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprint(i)
		manifests[tag], manifests[digestOf(raw)] = raw, raw
		names = append(names, tag)
	}
	serveManifests(src, manifests, types.OCIManifestSchema1)
	// The destination takes manifests without keeping them, so that only
	// the engine's memory is measured.
	var puts atomic.Int64
	dst.AddFault(&registrytest.Fault{Match: match("", "manifest"), Times: -1, Handle: func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h := sha256.New()
		io.Copy(h, r.Body)
		puts.Add(1)
		w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(h.Sum(nil)))
		w.WriteHeader(http.StatusCreated)
	}})
	e := newTestEngine(t, nil, src, dst)
	var res []TagResult
	growth := memtest.HeapGrowth(func() {
		res = mustSync(t, e, Request{
			Source: Endpoint{Registry: src.Ref("src")}, Destination: Endpoint{Registry: dst.Host},
			Images: []Image{{Name: "app", Tags: names}},
		})
	})
	t.Logf("heap grew by %.1f MiB for %d manifests of %.1f MiB", float64(growth)/(1<<20), tags, float64(len(pad))/(1<<20))
	for _, r := range res {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("%+v", r)
		}
	}
	if puts.Load() != tags {
		t.Errorf("%d manifest PUTs, want %d", puts.Load(), tags)
	}
	// A copy holds its manifest while its blobs copy: at most
	// TagConcurrency (16) manifests of 4 MiB, plus the reads that share
	// ReadMemory (64 MiB).
	if bound := uint64(16*distribution.MaxManifestSize + 64<<20); growth > bound {
		t.Errorf("heap grew by %d MiB, bound %d MiB", growth>>20, bound>>20)
	}
}
