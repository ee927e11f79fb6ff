package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/portager/portager/internal/localstack"
)

func main() {
	root, _ := os.Getwd()
	dir := flag.String("dir", filepath.Join(root, "_output/local-up"), "State directory (certificates, kubeconfig, logs, data).")
	bin := flag.String("bin", filepath.Join(root, "_output/bin"), "Directory of the built binaries.")
	flag.Parse()
	if err := run(root, *dir, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "local-up:", err)
		os.Exit(1)
	}
}

func run(root, dir, bin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	registry, err := exec.LookPath("docker-registry")
	if err != nil {
		return fmt.Errorf("docker-registry not found: install the Debian package docker-registry (make run does)")
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	s, err := localstack.Start(ctx, localstack.Config{
		Root: root, Dir: dir, Registries: 2, Controller: true, Out: os.Stdout,
		Binaries: localstack.Binaries{
			KubeAPIServer:         filepath.Join(bin, "kube-apiserver"),
			KubeControllerManager: filepath.Join(bin, "kube-controller-manager"),
			PortagerAPIServer:     filepath.Join(bin, "portager-apiserver"),
			PortagerController:    filepath.Join(bin, "portager-controller"),
			DockerRegistry:        registry,
			Helm:                  filepath.Join(bin, "helm"),
		},
	})
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, dir)
	}
	defer s.Stop()
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}

	src, dst := s.Registries[0], s.Registries[1]
	if _, err := localstack.Seed(src); err != nil {
		return err
	}
	manifest, err := localstack.QuickStart(root, src, dst)
	if err != nil {
		return err
	}
	if _, err := s.Kubectl(ctx, "admin", manifest, "apply", "-f", "-"); err != nil {
		return err
	}

	fmt.Printf(`
Portager is running on loopback.
  source registry:      http://%[1]s  (library/alpine:3.21,latest  library/nginx:1.27,latest)
  destination registry: http://%[2]s
  logs and data:        %[3]s

The quick-start ImageSync "base-images" is applied. In another terminal:

  export KUBECONFIG=%[4]s PATH=%[5]s:$PATH
  kubectl get imagesync
  kubectl imagesync sync base-images --wait
  kubectl imagesync status base-images
  kubectl describe imagesync base-images
  crane ls %[2]s/mirror/alpine --insecure

Users alice, bob, viewer and ci are there too: kubectl --context alice ...
Stop with Ctrl-C here, or make down.
`, src, dst, dir, s.Kubeconfig, filepath.Join(root, "_output/bin"))
	<-ctx.Done()
	fmt.Println("\nStopping...")
	return nil
}
