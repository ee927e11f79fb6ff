// Package gate implements the pre-sync verification gates of an ImageSync
// (spec.validation): a cosign signature made with a given key, an attached
// SBOM, and an attached SARIF vulnerability report with no finding at or
// above a severity. A Policy becomes a pkg/syncer Gate, so the controller
// and the one-shot mode check exactly the digest they then copy, and read
// the source through the engine's client (its credentials, limits,
// retries and redaction).
//
// Every gate fails closed: a signature that does not verify, an artifact
// that cannot be parsed or a report that is missing blocks the tag. A
// registry error while reading the source is not a verdict; it keeps the
// engine's classification, so a 503 is retried rather than reported as a
// failed verification.
package gate
