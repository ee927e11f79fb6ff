// Package syncer is Portager's copy engine: it resolves the tags of an
// ImageSync to digests, runs optional gates against exactly those digests and
// copies images (with their referrers) between OCI/Docker registries.
//
// The engine speaks the distribution API with a client of its own, package
// internal/distribution, instead of wrapping go-containerregistry's remote
// package, because the controller's contract needs control that remote does
// not expose:
//
//   - an up-to-date tag must cost exactly one manifest HEAD on each side, so
//     ping and auth state is cached per registry host for the whole run;
//   - blobs shared by many tags are copied once per run and mounted across
//     repositories of the destination when they already landed there;
//   - every request has an absolute deadline (longer for a blob, by its
//     size) and a stall limit, and transient failures are retried with
//     bounded jittered backoff while 429 Retry-After is honoured only up to
//     a cap; a host failing many requests in a row trips a breaker;
//   - credentials are attached per side (source and destination each have a
//     keychain, even on the same host) and only to that registry's host and
//     scheme.
//
// Every registry is hostile input. In the client, one dial policy decides
// every connection, to a registry or to any URL a registry names; every
// response is bounded before it is held in memory; a host's request slots
// are shared fairly between runs. This package holds the copy plan: which
// tags, which digests, what to copy in which order, and each piece of work
// once per run.
//
// Nothing partial becomes visible at the destination: blobs are pushed
// first, then child manifests by digest, then (for an image with
// referrers) the top manifest by digest and its referrers, and the tag
// last; an image without referrers is pushed once, by its tag. A failed tag
// therefore leaves the destination tag at its previous digest (or absent)
// and a re-run only moves what did not land.
//
// Referrers (cosign .sig/.att/.sbom tags and OCI 1.1 referrers, found via
// the referrers API or its sha256-<hex> fallback tag, for the top manifest,
// its children and referrers of referrers up to a small depth) are copied
// whenever the image itself is copied. An up-to-date tag is not re-examined
// for new referrers: that would break the contract that an up-to-date tag costs
// two manifest HEADs.
//
// Results are typed per tag (TagResult); their messages go through pkg/sanitize,
// the one sanitiser for tenant-visible text, and registry response bodies
// are never quoted (only their error code). Logging uses
// klog.FromContext(ctx) with key/value pairs and never carries credentials.
//
// The package API uses plain Go types only (no Kubernetes types) so that it
// can be tested against registries on loopback and driven by any caller.
package syncer
