// Package cli starts Portager's command-line binaries, the kubectl plugin
// and the standalone portager CLI, the same way: with klog's verbosity flags,
// and with errors printed and turned into an exit status as kubectl does.
// Their garbage collector's pace is set earlier, by internal/gcpace, which
// each main package imports.
package cli
