// Command kubectl-imagesync is the kubectl plugin for Portager: put it on PATH
// and run `kubectl imagesync sync NAME --wait` or `kubectl imagesync status NAME`.
package main

import (
	"os"

	"github.com/portager/portager/pkg/cmd/cli"
	"github.com/portager/portager/pkg/cmd/plugin"
)

func main() {
	os.Exit(cli.Run(plugin.NewCommand(os.Stdout, os.Stderr), os.Stderr))
}
