// Package distribution is the copy engine's client of the distribution
// API (the OCI/Docker registry HTTP API). It speaks to the two sides of a
// run, source and destination, and to the hosts they send it to, on the
// engine's terms:
//
//   - every connection, to a registry or to any URL a registry names (a
//     token realm, a redirect, an upload Location, a Link page), is decided
//     by one dial policy (reach.go) over verified TLS (transport.go);
//   - every response is bounded before it is held in memory, and manifests
//     and documents being read share one budget across runs (limits.go);
//   - every request has an absolute deadline, longer for a blob by its
//     size, and a stall limit (the watchdog in transport.go);
//   - transient failures are retried with bounded jittered backoff, a 429's
//     Retry-After is honoured up to a cap (retry.go), and a host failing
//     many requests in a row trips its breaker (breaker.go);
//   - a host's request slots are shared fairly between tenants
//     (fairslots.go), and /v2/ is pinged once per host for the Client's
//     lifetime;
//   - credentials belong to one side of a run and go only to that
//     registry's host and scheme; bearer tokens are cached per side and
//     scope, and every secret seen is removed from the run's messages
//     (auth.go, redactor.go).
//
// A Client serves every run of an engine; a Session holds what one run
// learns about its hosts; a Repository speaks for one repository on one
// side. Its endpoint methods (HeadManifest, GetManifest, PutManifest,
// HeadBlob, GetBlob, MountBlob, StartUpload, PutBlob, ReadBlob, ListTags,
// Referrers, IndexReferrers) return errors that Classify maps to the
// engine's reasons; the copy plan itself (what to copy, in which order,
// once per run) is the engine's, in package syncer.
package distribution
