package digestname

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestShort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha256:0123456789ab"},
		{"sha512:" + "ab" + "0123456789abcdef", "sha512:ab0123456789"},
		{"sha256:0123456789ab", "sha256:0123456789ab"},
		{"sha256:abc", "sha256:abc"},
		{"not a digest", "not a digest"},
		{"", ""},
	} {
		if got := Short(tc.in); got != tc.want {
			t.Errorf("Short(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	d := v1.Hash{Algorithm: "sha256", Hex: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	for _, tc := range []struct{ got, want string }{
		{FallbackTag(d), "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{CosignTag(d, SignatureSuffix), "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig"},
		{CosignTag(d, AttestationSuffix), "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.att"},
		{CosignTag(d, SBOMSuffix), "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sbom"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
