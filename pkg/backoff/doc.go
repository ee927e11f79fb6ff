// Package backoff computes the delay before a retry: exponential in the
// attempt, capped, and jittered so that many operations that failed
// together (tags of one run, ImageSyncs on one registry) do not retry in
// lockstep. The engine uses it between attempts of a request, the
// controller between runs of an ImageSync.
package backoff
