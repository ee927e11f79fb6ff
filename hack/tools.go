//go:build tools

// Package tools pins build-time tools in go.mod so that the scripts and tests
// run the exact versions the module graph resolves: code-generator for
// hack/update-codegen.sh, crane for the end-to-end digest checks.
package tools

import (
	_ "github.com/google/go-containerregistry/cmd/crane"
	_ "k8s.io/code-generator"
)
