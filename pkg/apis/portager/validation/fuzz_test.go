package validation

import (
	"strings"
	"testing"

	"github.com/portager/portager/pkg/apis/portager"
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
