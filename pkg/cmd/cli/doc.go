// Package cli starts Portager's command-line binaries, the kubectl plugin
// and the standalone portager CLI, the same way: klog's verbosity flags,
// errors printed and turned into an exit status as kubectl does, and a
// garbage collector paced for a short-lived process.
package cli
