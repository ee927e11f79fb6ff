// Command bench compares Portager's copy engine with skopeo sync, regsync and
// a parallel crane copy loop on two real registries (Debian's docker-registry,
// distribution 2.8) on loopback, and prints a markdown table.
//
// Each registry keeps its data in a temporary directory and sits behind a
// counting reverse proxy in this process, so every tool is measured by the
// same counters: HTTP requests per registry, registry pings (/v2/), and bytes
// written to the destination (request bodies) and read from the source
// (response bodies).
//
// Scenarios, each run -runs times (noop: -noop-runs; the median is reported):
//
//   - cold: a full copy into a fresh, empty destination;
//   - noop: a re-sync with everything already present;
//   - one-tag: one tag of the source moved to a new image; a re-sync;
//   - many-tags: 2,000 small tags, no-op re-sync; ours also runs it with
//     spec.immutableTags matching every tag, which reads one tag list per
//     repository on each side and no manifest.
//
// Two physical limits are measured with the same proxies: a raw GET→PUT of
// every unique blob with 8 streams, and a raw manifest HEAD of every tag on
// both sides with 8 streams, made by a command as every tool's requests are
// (rawhead.go). Our engine runs as `portager once`, the one-shot
// command of the cluster-free CLI (cmd/portager), built by `make bench` or
// found with -ours. It is a Go module of its own, run from the repository
// root:
//
//	make bench BENCH_FLAGS="-size 128MiB -runs 1"   # quick look
//	make bench                                      # the full data set (1.35 GB)
package main
