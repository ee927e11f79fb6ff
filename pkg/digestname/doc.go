// Package digestname names what derives from an image digest: the short
// form messages show, the OCI 1.1 referrers fallback tag, and the tags
// cosign attaches signatures, attestations and SBOMs under. The engine, the
// gates and the controller share it, so a tag the engine copies is the tag
// a gate looks for.
package digestname
