// Package sanitize makes text safe to show to tenants: in ImageSync status,
// Events, logs and metrics. A registry or a credential helper can put
// anything into an error string, credentials included, so every message
// that leaves the engine, the gates or the controller passes through
// Message (or Known, when the exact secret values of a run are known).
//
// It is a leaf package: it imports only the standard library, so the API
// server, the controller, the engine and the gates can all use it.
package sanitize
