//go:build tools

// Package tools pins build-time tools (code generators) in go.mod so that
// hack/update-codegen.sh runs the exact version the module graph resolves.
package tools

import _ "k8s.io/code-generator"
