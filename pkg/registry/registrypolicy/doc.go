// Package registrypolicy is the REST storage of the cluster-scoped
// registrypolicies resource: how objects are prepared and validated
// (strategy.go), stored (storage.go) and printed by kubectl (table.go).
// What a policy means for an ImageSync is decided by pkg/registrypolicy.
package registrypolicy
