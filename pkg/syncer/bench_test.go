package syncer

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// BenchmarkSyncUpToDate measures a no-op run, the engine's most frequent
// job: the controller re-checks every ImageSync on its schedule, and most
// runs find everything current. The data set has the shape of make bench's
// (20 repositories of 5 tags, resolved from tag lists), on in-process
// registries, so the figures are the engine's cost per run with the
// registries' own work included; compare them with benchstat across
// changes, and use make bench for wall time against other tools.
func BenchmarkSyncUpToDate(b *testing.B) {
	const repos, tagsPerRepo = 20, 5
	src := registrytest.New(b)
	dst := registrytest.New(b)
	req := Request{
		Source:      Endpoint{Registry: src.Host},
		Destination: Endpoint{Registry: dst.Host},
	}
	for r := 0; r < repos; r++ {
		repo := fmt.Sprintf("bench/r%02d", r)
		for t := 0; t < tagsPerRepo; t++ {
			img, err := random.Image(256, 1)
			if err != nil {
				b.Fatal(err)
			}
			src.Push(fmt.Sprintf("%s:1.0.%d", repo, t), img)
		}
		req.Images = append(req.Images, Image{Name: repo, Semver: ">=0.0.0"})
	}
	e := newTestEngine(b, nil, src, dst)
	for _, r := range mustSync(b, e, req) {
		if r.Outcome != OutcomeCopied {
			b.Fatalf("first run: %+v", r)
		}
	}

	b.ReportAllocs()
	for b.Loop() {
		// A fresh engine per run, as `portager once` makes. (The
		// controller keeps one engine; an anonymous no-op run has no
		// ping or token state to reuse, so it costs the same.)
		e := newTestEngine(b, nil, src, dst)
		for _, r := range mustSync(b, e, req) {
			if r.Outcome != OutcomeSkipped {
				b.Fatalf("no-op run: %+v", r)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*repos*tagsPerRepo), "µs/tag")
}
