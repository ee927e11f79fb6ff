package cli

import (
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// Run executes cmd as a Portager binary does and returns its exit status:
// 1 when the command failed, after printing the error the way kubectl
// prints one.
//
// klog's -v and --vmodule are wired here rather than through
// k8s.io/component-base/cli: that package links the metrics registry and
// feature gates, whose package initialisation alone costs several
// milliseconds on every invocation, and `once` runs in CI loops where a
// whole run of an up-to-date manifest takes a few hundred.
func Run(cmd *cobra.Command, errOut io.Writer) int {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		cmd.PersistentFlags().AddGoFlag(klogFlags.Lookup(name))
	}
	cmd.SilenceErrors = true
	err := cmd.Execute()
	klog.Flush()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return 1
	}
	return 0
}
