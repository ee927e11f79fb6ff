// Package imagesynctest builds the ImageSync objects tests start from: one
// valid object, in the versioned form clients send and in the internal form
// validation takes, that each test changes by the mutations it passes.
package imagesynctest
