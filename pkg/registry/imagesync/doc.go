// Package imagesync is the REST storage of the imagesyncs resource and its
// subresources: how objects are prepared, validated and stored (strategy.go,
// storage.go), which fields can be selected (fields.go) and how kubectl
// prints them (table.go).
//
// A write passes checks that need the request or other objects
// (checks.go): its writer must be allowed every Secret and cloud identity the
// spec lends (access.go), and the RegistryPolicies of its namespace must allow
// its registries (registrypolicy.go). Reads show the writer's username only;
// imagesyncs/writer serves the whole identity to the controller (writer.go).
// imagesyncs/sync records on-demand sync requests (sync.go, syncrequest.go).
package imagesync
