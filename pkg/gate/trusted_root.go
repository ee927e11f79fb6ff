package gate

import _ "embed"

// publicGoodTrustedRoot is the Sigstore public-good instance's trusted root
// (Fulcio CAs, Rekor, CT log and timestamp authority keys), as shipped in
// sigstore-go v1.1.4's examples/trusted-root-public-good.json. It is built
// in so that an air-gapped controller can verify keyless signatures
// without fetching it through TUF; --sigstore-trusted-root replaces it
// (for a private Sigstore, or once the public instance rotates keys).
//
//go:embed trusted_root_public_good.json
var publicGoodTrustedRoot []byte
