package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"

	"github.com/portager/portager/pkg/cmd/once"
	"github.com/portager/portager/pkg/version"
)

func newRootCommand(out, errOut io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "portager",
		Short: "Copy and verify container images between registries, without a cluster",
		Long: `portager runs Portager's copy engine from this machine. An ImageSync manifest,
the same one the cluster takes, says what to copy:

  portager once -f base-images.yaml --docker-config ~/.docker/config.json

In a cluster, use the ImageSync API and kubectl imagesync instead.`,
		SilenceUsage: true,
		Version:      version.Get().String(),
	}
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.AddCommand(once.NewCommand("portager"))
	return cmd
}

// main runs the command as kubectl runs its own: component-base's logging
// flags, and a failure printed as one "error: " line with exit status 1.
func main() {
	if err := cli.RunNoErrOutput(newRootCommand(os.Stdout, os.Stderr)); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
