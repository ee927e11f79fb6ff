package main

import (
	"os"

	// Paces the collector for a short-lived process, from package
	// initialisation on (see its doc).
	_ "github.com/portager/portager/internal/gcpace"
	"github.com/portager/portager/pkg/cmd/cli"
	"github.com/portager/portager/pkg/cmd/plugin"
)

func main() {
	os.Exit(cli.Run(plugin.NewCommand(os.Stdout, os.Stderr), os.Stderr))
}
