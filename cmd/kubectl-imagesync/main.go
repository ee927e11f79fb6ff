package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"

	"github.com/portager/portager/pkg/cmd/plugin"
)

// main runs the plugin as kubectl runs its own commands: component-base's
// logging flags, and a failure printed as one "error: " line with exit
// status 1.
func main() {
	if err := cli.RunNoErrOutput(plugin.NewCommand(os.Stdout, os.Stderr)); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
