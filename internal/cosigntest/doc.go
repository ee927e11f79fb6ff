// Package cosigntest holds what tests need to work with cosign's formats:
// the real cosign CLI's location, ECDSA P-256 keys that sign the way
// cosign signs, and a virtual Sigstore (a Fulcio CA whose certificates
// carry SCTs from its CT log, and a Rekor log) for keyless signatures, for
// fixtures made without the CLI or the public Sigstore.
package cosigntest
