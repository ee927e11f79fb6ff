// Command kubectl-imagesync is the kubectl plugin for Portager: put it on PATH
// and run `kubectl imagesync sync NAME --wait` or `kubectl imagesync status NAME`.
package main

import (
	"os"
	"runtime/debug"

	"github.com/portager/portager/pkg/cmd/plugin"
)

// gcPercent paces the collector for a short-lived CLI: its heap is small
// and gone at exit, so collecting at the default pace (100) spends CPU,
// which a no-op `once` shares with the registries on the same machine,
// for memory nobody needs back. GOGC still overrides it.
const gcPercent = 400

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(plugin.Run(plugin.NewCommand(os.Stdout, os.Stderr), os.Stderr))
}
