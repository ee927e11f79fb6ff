// Package version says which Portager a binary is: the version of this
// module it was built as and the commit it was built from, both read from
// the build information the Go toolchain stamps into every binary. The
// binaries print it with --version; the engine sends it in its User-Agent.
package version
