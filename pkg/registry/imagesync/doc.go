// Package imagesync is the REST storage of the imagesyncs resource: how objects
// are prepared, validated and stored (strategy.go, storage.go), which fields can
// be selected (fields.go) and how kubectl prints them (table.go).
package imagesync
