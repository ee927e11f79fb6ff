// Package plugin is the kubectl plugin kubectl-imagesync: trigger an on-demand
// sync through the imagesyncs/sync subresource, follow it, and print per-tag
// results. It talks to the cluster with the generated clientset and the
// user's kubeconfig. Its once subcommand, which needs no cluster, is
// pkg/cmd/once.
package plugin
