// Package tagselect decides which tags of a source repository one image of
// an ImageSync selects. A selection is made of explicit tags (each
// optionally pinned to a digest, "TAG@sha256:HEX"), and of rules over the
// repository's tag list: a semver constraint, include and exclude patterns
// (RE2, matched against the whole tag) and a cap.
//
// The API server's validation and the copy engine both use it, so a
// selection the server accepts is the selection the engine makes.
package tagselect
