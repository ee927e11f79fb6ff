package validation

import (
	"strings"
	"testing"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/tagselect"
)

// FuzzValidateImageSync feeds arbitrary user strings into every free-text field
// validation parses. Validation must never panic, every error must name a field
// path under metadata or spec, and a spec it accepts must be printable as
// warnings without panicking. `go test` replays the seeds below and
// testdata/fuzz; `go test -fuzz FuzzValidateImageSync` explores further.
func FuzzValidateImageSync(f *testing.F) {
	f.Add("@every 6h", "docker.io/library", "alpine", "latest", ">=1.22 <1.23", "", "mirror")
	f.Add("0 */6 * * *", "127.0.0.1:5000/a/b", "team/app", "v1.2.3", "^1.3", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "")
	f.Add("@every 0s", "https://x@y", "A", ".bad", ">>1", "garbage", "/p/")
	f.Add("CRON_TZ=Europe/Berlin 0 3 * * *", "[::1]:5000", "a__b", "_x", "1.x || 2.x", "", "x-y")
	f.Add("", "", "", "", "", "", "")
	f.Add("TZ=UTC", "ghcr.io", "a", "b", "", "", "")
	f.Add("CRON_TZ=Europe/Berlin", "ghcr.io", "a", "b", "", "", "")
	f.Add("CRON_TZ=Europe/Berlin ", "ghcr.io", "a", "b", "", "", "")
	f.Add("0 0 30 2 *", "ghcr.io", "a", "b", "", "", "")
	f.Add("@every 1s", "ghcr.io", "a", "b", "", "", "")
	f.Add("@every -1h", "ghcr.io:0", "a/../b", strings.Repeat("t", 129), "~1.3.0 <", "", "UPPER")

	f.Fuzz(func(t *testing.T, schedule, registry, image, tag, constraint, publicKey, prefix string) {
		is := newImageSync(func(is *portager.ImageSync) {
			is.Spec.Schedule = schedule
			is.Spec.Source.Registry = registry
			is.Spec.Destination.RepositoryPrefix = prefix
			is.Spec.Images = []portager.ImageSpec{{Name: image, Tags: []string{tag}, Semver: constraint}}
			if publicKey != "" {
				is.Spec.Validation = &portager.ValidationSpec{Cosign: &portager.CosignValidation{Enabled: true, PublicKey: publicKey}}
			}
		})
		errs := ValidateImageSync(is, DefaultOptions())
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "spec.") && !strings.HasPrefix(e.Field, "metadata.") {
				t.Fatalf("error without a field path under spec or metadata: %v", e)
			}
		}
		if len(errs) == 0 {
			_ = Warnings(&is.Spec)
			if _, err := ParseSchedule(schedule); err != nil {
				t.Fatalf("validation accepted schedule %q the controller cannot parse: %v", schedule, err)
			}
		}
	})
}

// FuzzValidateSelection: validation of include, exclude, digests, pinned
// tags and immutableTags never panics, names every error by its field
// path, and accepts only selections the engine's selector compiles, so a
// spec the API server stores is never refused by the engine.
func FuzzValidateSelection(f *testing.F) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	f.Add("1.2.3@"+digest, `1\..*`, `.*-rc`, digest, `v[0-9.]+`, "")
	f.Add("latest", "", "", "", "", ">=1.0")
	f.Add("a@sha256:AB", "(", "a)|(b", "sha256:", "[", "")
	f.Add("", "x{1001}", strings.Repeat("a", 300), "md5:00", `\`, "^1")
	f.Add("@", ".*", "", "", "", "")
	// One bad field each, so that a check validation lost would let the
	// spec through to the engine's refusal.
	f.Add("", "(", "", "", "", "")
	f.Add("", ".*", "a)|(b", "", "", "")
	f.Add("latest", "", "", "", "[", "")
	f.Add("", ".*", "", "", "", ">>1")
	f.Add("x@sha256:"+strings.Repeat("AB", 32), "", "", "", "", "")
	f.Add("", "", "", "sha256:"+strings.Repeat("a", 63), "", "")
	f.Fuzz(func(t *testing.T, tag, include, exclude, digestEntry, immutable, constraint string) {
		img := portager.ImageSpec{Name: "app", Semver: constraint}
		for _, v := range []struct {
			s   string
			dst *[]string
		}{{tag, &img.Tags}, {include, &img.Include}, {exclude, &img.Exclude}, {digestEntry, &img.Digests}} {
			if v.s != "" {
				*v.dst = []string{v.s}
			}
		}
		is := newImageSync(func(is *portager.ImageSync) {
			is.Spec.Images = []portager.ImageSpec{img}
			is.Spec.ImmutableTags = immutable
		})
		errs := ValidateImageSync(is, DefaultOptions())
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "spec.") && !strings.HasPrefix(e.Field, "metadata.") {
				t.Fatalf("error without a field path under spec or metadata: %v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		if _, err := tagselect.New(tagselect.Spec{Tags: img.Tags, Semver: img.Semver, Include: img.Include, Exclude: img.Exclude}); err != nil {
			t.Fatalf("validation accepted a selection the engine refuses: %v", err)
		}
		if immutable != "" {
			if _, err := tagselect.CompilePattern(immutable); err != nil {
				t.Fatalf("validation accepted immutableTags %q the engine refuses: %v", immutable, err)
			}
		}
		for _, d := range img.Digests {
			if !tagselect.IsDigest(d) {
				t.Fatalf("validation accepted digest %q", d)
			}
		}
		_ = Warnings(&is.Spec)
	})
}
