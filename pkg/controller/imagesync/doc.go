// Package imagesync is the ImageSync controller: it decides when each
// ImageSync must sync (schedule.go), gets its credentials (credentials.go),
// drives pkg/syncer (controller.go) and reports back on the object
// (status.go, written with server-side apply by apply.go), in Events and in
// Prometheus metrics (metrics.go).
package imagesync
