package digestname

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// shortHex is how many hex digits of a digest Short keeps: as many as
// docker and crictl show for an image ID.
const shortHex = 12

// Short abbreviates a digest such as "sha256:0123…" to its algorithm and
// first twelve hex digits, for messages that are bounded in length and sit
// beside the full digest elsewhere. Anything that is not algorithm:hex is
// returned as it is.
func Short(digest string) string {
	if alg, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > shortHex {
		return alg + ":" + hex[:shortHex]
	}
	return digest
}

// FallbackTag is the OCI 1.1 referrers tag schema for d: sha256:<hex>
// becomes sha256-<hex>.
func FallbackTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex }

// Cosign suffixes: cosign's tag scheme attaches artifacts to d under
// sha256-<hex>.<suffix>.
const (
	SignatureSuffix   = "sig"
	AttestationSuffix = "att"
	SBOMSuffix        = "sbom"
)

// CosignSuffixes lists the cosign tag-scheme artifacts in cosign's order.
var CosignSuffixes = []string{SignatureSuffix, AttestationSuffix, SBOMSuffix}

// CosignTag is the tag cosign attaches the artifact with suffix (one of
// CosignSuffixes) to d under.
func CosignTag(d v1.Hash, suffix string) string { return FallbackTag(d) + "." + suffix }
