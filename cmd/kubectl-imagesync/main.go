// Command kubectl-imagesync is the kubectl plugin for Portager: put it on PATH
// and run `kubectl imagesync sync NAME --wait` or `kubectl imagesync status NAME`.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/cmd/plugin"
)

// main wires klog's -v and --vmodule itself rather than through
// k8s.io/component-base/cli: that package links the metrics registry and
// feature gates, whose package initialisation alone costs several
// milliseconds on every invocation, and `once` runs in CI loops where the
// whole run of an up-to-date manifest takes a few hundred.
func main() {
	cmd := plugin.NewCommand(os.Stdout, os.Stderr)
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		cmd.PersistentFlags().AddGoFlag(klogFlags.Lookup(name))
	}
	cmd.SilenceErrors = true
	err := cmd.Execute()
	klog.Flush()
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
