// Package openapi holds the generated OpenAPI definitions of the API group, which
// the server serves as OpenAPI v2 and v3 and code-generator uses to type the apply
// configurations. This file is hand-written so the package exists before the
// first run of hack/update-codegen.sh.
package openapi
