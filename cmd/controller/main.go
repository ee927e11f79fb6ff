package main

import (
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"

	"github.com/portager/portager/pkg/cmd/controller"
)

func main() {
	// SIGTERM and SIGINT cancel the context: workers stop taking work and
	// in-flight runs are abandoned before any tag moves.
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(cli.Run(controller.NewCommand(ctx)))
}
