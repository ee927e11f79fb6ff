package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	// Paces the collector for a short-lived process, from package
	// initialisation on (see its doc).
	_ "github.com/portager/portager/internal/gcpace"
	"github.com/portager/portager/pkg/cmd/cli"
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

func main() {
	os.Exit(cli.Run(newRootCommand(os.Stdout, os.Stderr), os.Stderr))
}
