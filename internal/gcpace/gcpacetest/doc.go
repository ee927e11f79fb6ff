// Package gcpacetest lets a main package's tests check what internal/gcpace
// is for: that the binary's dependencies initialise without a garbage
// collection, because gcpace set the pace first.
package gcpacetest
