package main

import (
	"os"

	"github.com/portager/portager/pkg/cmd/cli"
	"github.com/portager/portager/pkg/cmd/plugin"
)

func main() {
	os.Exit(cli.Run(plugin.NewCommand(os.Stdout, os.Stderr), os.Stderr))
}
