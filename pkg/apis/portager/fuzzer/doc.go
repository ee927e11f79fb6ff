// Package fuzzer fills portager API objects with random values that survive
// defaulting, for the round-trip tests of the API group.
package fuzzer
