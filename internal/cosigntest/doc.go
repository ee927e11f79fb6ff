// Package cosigntest holds what tests need to work with cosign's formats:
// the real cosign CLI's location, and ECDSA P-256 keys that sign the way
// cosign signs, for fixtures made without the CLI.
package cosigntest
